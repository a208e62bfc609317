// Unit test of the consumer supervisor's own logic, on a stand-in consumer (no broker): which crashes
// it restarts, how it restarts, and when it gives up. The real-broker proof is test/kafka/restart.test.ts.
import { EventEmitter } from 'node:events';
import type { Consumer, ConsumerRunConfig, Kafka } from 'kafkajs';
import { KafkaJSConnectionError, KafkaJSGroupCoordinatorNotFound, KafkaJSNonRetriableError } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { KafkaUnavailableError, superviseConsumer, type ConsumerCrash } from '../../src/connectors/index.js';

/** What kafkajs' coordinator lookup throws (its typings declare no constructor argument; the class takes a message). */
const coordinatorNotFound = (): Error => new (KafkaJSGroupCoordinatorNotFound as unknown as new (m: string) => Error)('Failed to find group coordinator');

const CRASH = 'consumer.crash';
const GROUP_JOIN = 'consumer.group_join';

/** Records the calls a supervisor makes; `failStarts` makes that many connects throw `startError`. */
class StandIn extends EventEmitter {
  readonly events = { CRASH, GROUP_JOIN };
  readonly calls: string[] = [];
  runs: ConsumerRunConfig[] = [];
  failStarts = 0;
  startError: Error = coordinatorNotFound();

  async connect(): Promise<void> {
    this.calls.push('connect');
    if (this.failStarts > 0) {
      this.failStarts--;
      throw this.startError;
    }
  }
  async subscribe(s: { topics: string[]; fromBeginning: boolean }): Promise<void> {
    this.calls.push(`subscribe ${s.topics.join(',')} ${s.fromBeginning}`);
  }
  async run(cfg: ConsumerRunConfig): Promise<void> {
    this.calls.push('run');
    this.runs.push(cfg);
  }
  async disconnect(): Promise<void> {
    this.calls.push('disconnect');
  }
  /** What kafkajs does on a crash: it has disconnected, then emits CRASH. */
  crash(error: Error, restart: boolean): void {
    this.emit(CRASH, { payload: { error, restart, groupId: 'g' } });
  }
}

/** A virtual clock: sleep advances it at once. */
function harness(restartForMs = 10_000) {
  const c = new StandIn();
  let t = 0;
  const sleeps: number[] = [];
  const coordinatorWaits: number[] = [];
  const crashes: ConsumerCrash[] = [];
  const run: ConsumerRunConfig = { eachBatch: async () => undefined };
  let allow = true;
  const s = superviseConsumer(
    {} as Kafka,
    c as unknown as Consumer,
    { groupId: 'g', topics: ['in'], fromBeginning: true, run, context: { topic: 'in' }, restartForMs, allowRestart: () => allow },
    (x) => void crashes.push(x),
    {
      awaitCoordinator: async (_g, timeoutMs) => void coordinatorWaits.push(timeoutMs),
      now: () => t,
      sleep: async (ms) => {
        sleeps.push(ms);
        t += ms;
      },
    },
  );
  return { c, s, run, sleeps, coordinatorWaits, crashes, setAllow: (v: boolean) => (allow = v) };
}

/** Lets the supervisor's async restart loop run to its next await on something not yet settled. */
const settle = async (): Promise<void> => {
  for (let i = 0; i < 50; i++) await Promise.resolve();
};

describe('superviseConsumer', () => {
  it('start: waits for the coordinator, then connect, subscribe, run with the plan', async () => {
    const h = harness();
    await h.s.start();
    expect(h.coordinatorWaits).toEqual([60_000]);
    expect(h.c.calls).toEqual(['connect', 'subscribe in true', 'run']);
    expect(h.c.runs).toEqual([h.run]);
  });

  it('a crash kafkajs calls final but that is retriable (coordinator not found) is restarted by the supervisor', async () => {
    const h = harness();
    await h.s.start();
    h.c.calls.length = 0;
    h.c.crash(coordinatorNotFound(), false);
    await settle();
    expect(h.crashes).toHaveLength(1);
    expect(h.crashes[0]).toMatchObject({ restart: true, by: 'sas' });
    expect(h.crashes[0].error.code).toBe('KAFKA_UNAVAILABLE');
    expect(h.crashes[0].error.context).toMatchObject({ topic: 'in', groupId: 'g', restart: true });
    expect(h.sleeps).toEqual([250]);
    expect(h.c.calls).toEqual(['connect', 'subscribe in true', 'run']);
    expect(h.c.runs).toEqual([h.run, h.run]);
    expect(h.s.selfRestarts).toBe(1);
  });

  it('a crash kafkajs restarts itself is only reported', async () => {
    const h = harness();
    await h.s.start();
    h.c.calls.length = 0;
    h.c.crash(new KafkaJSConnectionError('Connection error: connect ECONNREFUSED'), true);
    await settle();
    expect(h.crashes).toEqual([expect.objectContaining({ restart: true, by: 'kafkajs' })]);
    expect(h.c.calls).toEqual([]);
    expect(h.s.selfRestarts).toBe(0);
  });

  it('a non-retriable crash is final: reported with restart false, no restart', async () => {
    const h = harness();
    await h.s.start();
    h.c.calls.length = 0;
    h.c.crash(new KafkaJSNonRetriableError('bad things'), false);
    await settle();
    expect(h.crashes).toEqual([expect.objectContaining({ restart: false, by: null })]);
    expect(h.crashes[0].error.context).toMatchObject({ restart: false });
    expect(h.c.calls).toEqual([]);
  });

  it('allowRestart false leaves the consumer stopped', async () => {
    const h = harness();
    await h.s.start();
    h.c.calls.length = 0;
    h.setAllow(false);
    h.c.crash(coordinatorNotFound(), false);
    await settle();
    expect(h.crashes).toEqual([expect.objectContaining({ restart: false, by: null })]);
    expect(h.c.calls).toEqual([]);
  });

  it('failed restarts back off 250, 500, 1000 ms … and succeed when the broker answers', async () => {
    const h = harness();
    await h.s.start();
    h.c.calls.length = 0;
    h.c.failStarts = 3;
    h.c.crash(coordinatorNotFound(), false);
    await settle();
    expect(h.sleeps).toEqual([250, 500, 1000, 2000]);
    // Each failed attempt disconnects before the next; the fourth runs.
    expect(h.c.calls).toEqual(['connect', 'disconnect', 'connect', 'disconnect', 'connect', 'disconnect', 'connect', 'subscribe in true', 'run']);
    expect(h.crashes).toHaveLength(1);
    expect(h.s.selfRestarts).toBe(1);
  });

  it('gives up after restartForMs and reports the last error as final', async () => {
    const h = harness(3000);
    await h.s.start();
    h.c.failStarts = 1000;
    h.c.crash(coordinatorNotFound(), false);
    await settle();
    // 250 + 500 + 1000 = 1750 ms; the next backoff (2000) would end past the 3000 ms budget.
    expect(h.sleeps).toEqual([250, 500, 1000]);
    expect(h.crashes).toHaveLength(2);
    expect(h.crashes[1]).toMatchObject({ restart: false, by: null });
    expect(h.crashes[1].error.message).toMatch(/restart consumer failed: Failed to find group coordinator/);
    expect(h.crashes[1].error.context).toMatchObject({ groupId: 'g', restart: false, restartForMs: 3000 });
    expect(h.s.selfRestarts).toBe(0);
  });

  it('a coordinator wait that fails for good (a SasError) ends in a final crash whose context says restart: false', async () => {
    const c = new StandIn();
    const crashes: ConsumerCrash[] = [];
    let t = 0;
    let waits = 0;
    const s = superviseConsumer(
      {} as Kafka,
      c as unknown as Consumer,
      { groupId: 'g', topics: ['in'], fromBeginning: false, run: { eachBatch: async () => undefined }, restartForMs: 1000 },
      (x) => void crashes.push(x),
      {
        awaitCoordinator: async () => {
          if (waits++ > 0) throw new KafkaUnavailableError('kafka find group coordinator failed: down', { operation: 'find group coordinator', groupId: 'g' });
        },
        now: () => t,
        sleep: async (ms) => void (t += ms),
      },
    );
    await s.start();
    c.crash(coordinatorNotFound(), false);
    await settle();
    expect(crashes.map((x) => x.restart)).toEqual([true, false]);
    expect(crashes[1].error.context).toMatchObject({ restart: false, operation: 'restart consumer', groupId: 'g' });
    expect(crashes[1].error.message).toMatch(/restart consumer failed: kafka find group coordinator failed: down/);
  });

  it('a non-retriable error during a restart ends it at once', async () => {
    const h = harness();
    await h.s.start();
    h.c.failStarts = 1;
    h.c.startError = new KafkaJSNonRetriableError('topic authorization failed');
    h.c.crash(coordinatorNotFound(), false);
    await settle();
    expect(h.sleeps).toEqual([250]);
    expect(h.crashes.map((x) => x.restart)).toEqual([true, false]);
    expect(h.crashes[1].error.message).toMatch(/topic authorization failed/);
  });

  it('crashes before the consumer joins again share one budget; a join resets it', async () => {
    const h = harness(3000);
    await h.s.start();
    h.c.crash(coordinatorNotFound(), false); // t 0 → restart at 250
    await settle();
    h.c.crash(coordinatorNotFound(), false); // the restarted run crashed before joining
    await settle();
    expect(h.s.selfRestarts).toBe(2);
    // Still inside the first crash's 3000 ms budget (t = 500).
    h.c.failStarts = 1000;
    h.c.crash(coordinatorNotFound(), false);
    await settle();
    // t 500 → 750, 1250, 2250; 2250 + 2000 > 3000: give up (a fresh budget would have gone on to 4250).
    expect(h.sleeps).toEqual([250, 250, 250, 500, 1000]);
    expect(h.crashes.at(-1)).toMatchObject({ restart: false });
    // After a join, a new crash gets a full budget again.
    h.c.emit(GROUP_JOIN, { payload: {} });
    h.c.failStarts = 0;
    h.c.crash(coordinatorNotFound(), false);
    await settle();
    expect(h.crashes.at(-1)).toMatchObject({ restart: true, by: 'sas' });
    expect(h.s.selfRestarts).toBe(3);
  });

  it('disconnect during the backoff: no restart follows', async () => {
    const c = new StandIn();
    const crashes: ConsumerCrash[] = [];
    let wake: () => void = () => undefined;
    const s = superviseConsumer(
      {} as Kafka,
      c as unknown as Consumer,
      { groupId: 'g', topics: ['in'], fromBeginning: false, run: { eachBatch: async () => undefined } },
      (x) => void crashes.push(x),
      { awaitCoordinator: async () => undefined, sleep: () => new Promise<void>((r) => (wake = r)) },
    );
    await s.start();
    c.calls.length = 0;
    c.crash(coordinatorNotFound(), false);
    await settle();
    await s.disconnect();
    wake();
    await settle();
    expect(crashes).toEqual([expect.objectContaining({ restart: true, by: 'sas' })]);
    expect(c.calls).toEqual(['disconnect']);
    expect(s.selfRestarts).toBe(0);
  });
});
