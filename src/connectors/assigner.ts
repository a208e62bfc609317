// A consumer-group assigner that honours each member's requested partitions (manual assignment inside a group).
import { AssignerProtocol } from 'kafkajs';
import type { Assigner, Cluster, GroupMember, GroupMemberAssignment, PartitionAssigner } from 'kafkajs';

/** Group protocol name of the assigner; every member of a sas group must use it. */
export const STATIC_ASSIGNER_NAME = 'SasStaticAssigner';

/** What one member asks for: explicit partitions per topic, or null for "any partitions nobody claimed". */
export type PartitionClaim = Readonly<Record<string, readonly number[]>> | null;

/**
 * Pure assignment rule, separate from kafkajs for unit tests. Each partition claimed by at least one
 * member goes to the claimant with the smallest member id; each unclaimed partition goes round robin
 * (in partition order) to the members without claims, sorted by id. When every member has claims,
 * unclaimed partitions stay unassigned. Returns topic → partitions per member id (every member present).
 */
export function assignStatic(
  members: readonly { memberId: string; claim: PartitionClaim }[],
  partitionsByTopic: Readonly<Record<string, readonly number[]>>,
): Map<string, Record<string, number[]>> {
  const sorted = [...members].sort((a, b) => (a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0));
  const out = new Map<string, Record<string, number[]>>();
  for (const m of sorted) out.set(m.memberId, {});
  const free = sorted.filter((m) => m.claim === null);
  let rr = 0;
  for (const topic of Object.keys(partitionsByTopic).sort()) {
    for (const p of [...partitionsByTopic[topic]].sort((a, b) => a - b)) {
      let owner = sorted.find((m) => m.claim !== null && (m.claim[topic] ?? []).includes(p))?.memberId;
      if (owner === undefined && free.length > 0) owner = free[rr++ % free.length].memberId;
      if (owner === undefined) continue;
      const a = out.get(owner)!;
      (a[topic] ??= []).push(p);
    }
  }
  return out;
}

/** Encodes a claim as member userData (JSON; empty = no claim). */
export function encodeClaim(claim: PartitionClaim): Buffer {
  return claim === null ? Buffer.alloc(0) : Buffer.from(JSON.stringify(claim), 'utf8');
}

/** Decodes member userData; anything unreadable counts as "no claim" (the member then shares the unclaimed partitions). */
export function decodeClaim(userData: Buffer | null | undefined): PartitionClaim {
  if (userData == null || userData.length === 0) return null;
  try {
    const v: unknown = JSON.parse(userData.toString('utf8'));
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return null;
    const claim: Record<string, number[]> = {};
    for (const [t, ps] of Object.entries(v)) {
      if (Array.isArray(ps)) claim[t] = ps.filter((p): p is number => Number.isInteger(p) && p >= 0);
    }
    return claim;
  } catch {
    return null;
  }
}

/**
 * A kafkajs PartitionAssigner for a member that claims `claim` (null = take a share of the rest).
 * Workers that each claim a disjoint partition subset can share one group id, hence one set of
 * committed offsets (the integrator's `sas worker --partitions`).
 */
export function staticAssigner(claim: PartitionClaim): PartitionAssigner {
  return ({ cluster }: { cluster: Cluster }): Assigner => ({
    name: STATIC_ASSIGNER_NAME,
    version: 1,
    protocol({ topics }: { topics: string[] }) {
      return {
        name: STATIC_ASSIGNER_NAME,
        metadata: AssignerProtocol.MemberMetadata.encode({ version: 1, topics, userData: encodeClaim(claim) }),
      };
    },
    async assign({ members, topics }: { members: GroupMember[]; topics: string[] }): Promise<GroupMemberAssignment[]> {
      const partitionsByTopic: Record<string, number[]> = {};
      for (const t of topics) partitionsByTopic[t] = cluster.findTopicPartitionMetadata(t).map((m) => m.partitionId);
      const decoded = members.map((m) => ({
        memberId: m.memberId,
        claim: decodeClaim(AssignerProtocol.MemberMetadata.decode(m.memberMetadata)?.userData),
      }));
      const plan = assignStatic(decoded, partitionsByTopic);
      return [...plan.entries()].map(([memberId, assignment]) => ({
        memberId,
        memberAssignment: AssignerProtocol.MemberAssignment.encode({ version: 1, assignment, userData: Buffer.alloc(0) }),
      }));
    },
  });
}
