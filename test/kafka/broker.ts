// Test helper: starts the real single-node broker (scripts/kafka/broker.sh), or says why Kafka tests are skipped.
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Kafka } from 'kafkajs';
import { ZipfWorkload } from '../../src/tasks/workloads/zipf.js';
import type { RecordColumns } from '../../src/connectors/index.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SCRIPT = join(ROOT, 'scripts', 'kafka', 'broker.sh');

/** Port of the shared test broker (broker.sh's default). */
export const SHARED_PORT = 19092;

function has(cmd: string, args: string[]): boolean {
  const r = spawnSync(cmd, args, { stdio: 'ignore' });
  return r.status === 0;
}

function jarsCached(): boolean {
  const libs = join(ROOT, '.cache', 'kafka', 'libs');
  return existsSync(libs) && readdirSync(libs).some((f) => f.startsWith('.complete-'));
}

/**
 * Why the Kafka integration tests cannot run here, or null when they can. Printed by each suite that
 * skips. SAS_SKIP_KAFKA=1 skips on purpose.
 */
export function kafkaSkipReason(): string | null {
  if (process.env.SAS_SKIP_KAFKA === '1') return 'SAS_SKIP_KAFKA=1';
  if (process.env.KAFKA_BROKERS) return null;
  if (!has('java', ['-version'])) return 'java not found on PATH (needed to run the Kafka broker)';
  if (!jarsCached() && !has('mvn', ['-v'])) return 'mvn not found on PATH and no cached Kafka jars in .cache/kafka/libs';
  return null;
}

/** Prints the skip reason once per suite (vitest shows console output of skipped files). */
export function announceSkip(suite: string, reason: string | null): void {
  if (reason !== null) console.warn(`[kafka] skipping "${suite}": ${reason}`);
}

/**
 * Starts the broker on `port` (idempotent, serialised by a lock in broker.sh) and returns its
 * bootstrap address. On the shared port, an explicit KAFKA_BROKERS is used as is.
 */
export function ensureBroker(port = SHARED_PORT): string {
  if (port === SHARED_PORT && process.env.KAFKA_BROKERS) return process.env.KAFKA_BROKERS;
  const r = spawnSync('bash', [SCRIPT, 'start'], {
    env: { ...process.env, KAFKA_PORT: String(port) },
    encoding: 'utf8',
    timeout: 900_000,
  });
  if (r.status !== 0) throw new Error(`broker.sh start failed (exit ${r.status}):\n${r.stderr}`);
  const brokers = r.stdout.trim().split('\n').pop()!;
  if (port === SHARED_PORT) process.env.KAFKA_BROKERS = brokers;
  return brokers;
}

/** `broker.sh stop` (SIGTERM, controlled shutdown) or `clean` (stop and delete the instance's data) on `port`. */
export function stopBroker(port: number, cmd: 'stop' | 'clean' = 'stop'): void {
  const r = spawnSync('bash', [SCRIPT, cmd], { env: { ...process.env, KAFKA_PORT: String(port) }, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`broker.sh ${cmd} failed (exit ${r.status}):\n${r.stderr}`);
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/**
 * A port p such that p and p + 1 (the controller listener) are free on 127.0.0.1 right now, drawn
 * from 20000–29999: below Linux's ephemeral range (32768+), so no client socket takes it while the
 * broker is down during a restart.
 */
export async function freePortPair(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const p = 20000 + 2 * Math.floor(Math.random() * 5000);
    if ((await canListen(p)) && (await canListen(p + 1))) return p;
  }
  throw new Error('no free pair of ports on 127.0.0.1 in 20000-29999');
}

/**
 * `broker.sh start|stop` on `port` without blocking the event loop, so clients in the same process
 * live through the outage (the restart test). Resolves with the script's stdout.
 */
export async function brokerCommandAsync(cmd: 'start' | 'stop', port: number): Promise<string> {
  try {
    const { stdout } = await promisify(execFile)('bash', [SCRIPT, cmd], {
      env: { ...process.env, KAFKA_PORT: String(port) },
      encoding: 'utf8',
      timeout: 300_000,
    });
    return stdout;
  } catch (e) {
    const stderr = (e as { stderr?: string }).stderr ?? '';
    throw new Error(`broker.sh ${cmd} failed on port ${port}:\n${stderr}`, { cause: e });
  }
}

/** A topic name no other test uses. */
export function uniqueTopic(prefix: string): string {
  return `sas-test-${prefix}-${randomUUID().slice(0, 8)}`;
}

/**
 * Creates `topic` with `partitions` partitions and waits until every partition has a leader. A
 * freshly formatted KRaft broker briefly answers UNKNOWN_TOPIC_OR_PARTITION for a topic it has just
 * created, which kafkajs' `waitForLeaders` does not retry (seen in CI from a clean clone), so the wait
 * here polls the metadata and treats retriable errors as "not yet".
 */
export async function createTopic(kafka: Kafka, topic: string, partitions: number): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  const retriable = (e: unknown): boolean => (e as { retriable?: boolean }).retriable === true;
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        await admin.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }], waitForLeaders: false });
        break;
      } catch (e) {
        if (!retriable(e) || attempt >= 20) throw e;
        await new Promise((r) => setTimeout(r, 250 * attempt));
      }
    }
    await waitFor(
      async () => {
        try {
          const md = await admin.fetchTopicMetadata({ topics: [topic] });
          const t = md.topics.find((x) => x.name === topic);
          return t !== undefined && t.partitions.length === partitions && t.partitions.every((p) => p.leader >= 0);
        } catch (e) {
          if (retriable(e)) return false;
          throw e;
        }
      },
      60_000,
      `leaders of ${topic}`,
    );
  } finally {
    await admin.disconnect();
  }
}

/** Sum of the end offsets of `topic` = messages ever written (no retention in tests). */
export async function topicMessageCount(kafka: Kafka, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offs = await admin.fetchTopicOffsets(topic);
    return offs.reduce((s, o) => s + Number(o.high) - Number(o.low), 0);
  } finally {
    await admin.disconnect();
  }
}

/** Polls `cond` every 50 ms until true; throws with `what` after `timeoutMs` (integration tests only). */
export async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** `n` Zipf records with payload id = record index (a unique record id for dedupe) and event time = index. */
export function zipfRecords(n: number, numKeys: number, seed: number): RecordColumns {
  const keys = new Int32Array(n);
  const payloads = new Int32Array(n);
  const eventTimes = new Float64Array(n);
  new ZipfWorkload({ numKeys, exponent: 1.2, seed }).fill(keys, payloads, 0, n, 0);
  for (let i = 0; i < n; i++) {
    payloads[i] = i;
    eventTimes[i] = 1_700_000_000_000 + i;
  }
  return { keys, payloads, eventTimes };
}

/** Per-key counts of `keys[0..n)` over `numKeys` keys. */
export function countKeys(keys: Int32Array, numKeys: number, n = keys.length): Int32Array {
  const c = new Int32Array(numKeys);
  for (let i = 0; i < n; i++) c[keys[i]]++;
  return c;
}
