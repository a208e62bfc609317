// Starts a kafkajs consumer and keeps it alive through failures kafkajs itself gives up on.
import type { Consumer, ConsumerRunConfig, Kafka } from 'kafkajs';
import type { SasError } from '../common/errors.js';
import { awaitGroupCoordinator } from './client.js';
import { isRetriableKafkaError, KafkaUnavailableError, wrapKafkaError } from './errors.js';

/** What a supervised consumer subscribes to and runs. */
export interface ConsumerPlan {
  /** The consumer's group (for the coordinator wait before every join). */
  readonly groupId: string;
  readonly topics: readonly string[];
  readonly fromBeginning: boolean;
  /** Passed to `consumer.run` on the first start and on every restart of ours. */
  readonly run: ConsumerRunConfig;
  /** Context added to every error (e.g. the topic). */
  readonly context?: Record<string, unknown>;
  /**
   * How long a restart of ours keeps trying (coordinator wait, connect, subscribe, run) before the
   * crash is reported as final, ms. Default 120000.
   */
  readonly restartForMs?: number;
  /** Consulted before a restart of ours; false leaves the consumer stopped. Default: always restart. */
  readonly allowRestart?: () => boolean;
}

/** One consumer crash, as reported to the owner. */
export interface ConsumerCrash {
  readonly error: SasError;
  /**
   * True when the consumer will run again: kafkajs restarts it (retriable errors), or this module
   * does (errors kafkajs calls final but `isRetriableKafkaError` does not). False: it stays stopped.
   */
  readonly restart: boolean;
  /** Who restarts it; null when nobody does. */
  readonly by: 'kafkajs' | 'sas' | null;
}

/** Injected waits, for tests. */
export interface ConsumerSupervisorDeps {
  /** Default: `awaitGroupCoordinator(kafka, groupId, timeoutMs)`. */
  readonly awaitCoordinator?: (groupId: string, timeoutMs: number) => Promise<void>;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

/** A consumer under supervision. Use `disconnect` instead of the consumer's own, so no restart follows it. */
export interface SupervisedConsumer {
  /** Waits for the group coordinator, then connects, subscribes and runs. Throws KafkaUnavailableError. */
  start(): Promise<void>;
  /** Stops restarts (also one in progress) and disconnects the consumer. */
  disconnect(): Promise<void>;
  /** Restarts this module made (not kafkajs'). */
  readonly selfRestarts: number;
}

/**
 * Supervises `consumer`. kafkajs restarts a crashed consumer only after errors it calls retriable.
 * Some it calls final are not: when the group coordinator cannot be found (a broker restarting, its
 * offsets topic still loading, a connection refused during the lookup) kafkajs raises
 * KafkaJSGroupCoordinatorNotFound and the consumer stops for good. For such errors
 * (`isRetriableKafkaError`) this restarts it: wait for the coordinator, connect, subscribe, run, with
 * backoff from 250 ms to 5 s, for up to `plan.restartForMs`. Every crash is passed to `onCrash`.
 */
export function superviseConsumer(
  kafka: Kafka,
  consumer: Consumer,
  plan: ConsumerPlan,
  onCrash: (c: ConsumerCrash) => void,
  deps: ConsumerSupervisorDeps = {},
): SupervisedConsumer {
  const awaitCoordinator = deps.awaitCoordinator ?? ((groupId: string, timeoutMs: number) => awaitGroupCoordinator(kafka, groupId, timeoutMs));
  const now = deps.now ?? Date.now;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const restartForMs = plan.restartForMs ?? 120_000;
  const context = { ...plan.context, groupId: plan.groupId };
  let closed = false;
  let selfRestarts = 0;
  // One deadline per run of crashes: set by the first crash, cleared when the consumer joins again,
  // so a restart that runs but crashes again before joining does not start a fresh budget.
  let deadline: number | null = null;
  consumer.on(consumer.events.GROUP_JOIN, () => {
    deadline = null;
  });

  const startOnce = async (coordinatorTimeoutMs: number): Promise<void> => {
    await awaitCoordinator(plan.groupId, coordinatorTimeoutMs);
    await consumer.connect();
    await consumer.subscribe({ topics: [...plan.topics], fromBeginning: plan.fromBeginning });
    await consumer.run(plan.run);
  };

  const restart = async (first: unknown): Promise<void> => {
    deadline ??= now() + restartForMs;
    const until = deadline;
    let last = first;
    for (let backoff = 250; ; ) {
      await sleep(backoff);
      if (closed) return;
      try {
        await startOnce(Math.max(1, until - now()));
        if (closed) await consumer.disconnect().catch(() => undefined);
        else selfRestarts++;
        return;
      } catch (e) {
        last = e;
        await consumer.disconnect().catch(() => undefined);
        if (closed) return;
        backoff = Math.min(backoff * 2, 5000);
        if (!isRetriableKafkaError(e) || now() + backoff > until) break;
      }
    }
    // A new error, not wrapKafkaError's pass-through: `last` may already be a SasError (the coordinator
    // wait's), and the owner must see restart: false in this error's context.
    const msg = last instanceof Error ? last.message : String(last);
    const error = new KafkaUnavailableError(`kafka restart consumer failed: ${msg}`, { ...context, operation: 'restart consumer', restart: false, restartForMs }, { retriable: false, cause: last });
    onCrash({ error, restart: false, by: null });
  };

  consumer.on(consumer.events.CRASH, (e) => {
    const cause = e.payload.error;
    if (e.payload.restart) {
      onCrash({ error: wrapKafkaError(cause, 'consume', { ...context, restart: true }), restart: true, by: 'kafkajs' });
      return;
    }
    const ours = !closed && isRetriableKafkaError(cause) && (plan.allowRestart?.() ?? true);
    onCrash({ error: wrapKafkaError(cause, 'consume', { ...context, restart: ours }), restart: ours, by: ours ? 'sas' : null });
    if (ours) void restart(cause);
  });

  return {
    async start() {
      try {
        await startOnce(60_000);
      } catch (e) {
        throw wrapKafkaError(e, 'start consumer', context);
      }
    },
    async disconnect() {
      closed = true;
      await consumer.disconnect();
    },
    get selfRestarts() {
      return selfRestarts;
    },
  };
}
