// Feeds the consumers' running metrics back to the partitioners inside a kafkajs producer: the
// `sas worker`s' per-slide metrics messages on their output topic become SlideReports for `onSlide`.
import { randomUUID } from 'node:crypto';
import type { Consumer, Kafka } from 'kafkajs';
import { z } from 'zod';
import type { SlideReport } from '../common/metrics.js';
import { parseOrThrow } from '../common/validate.js';
import { MetricsCollector, SlideAccumulator } from '../engine/metrics/collector.js';
import { accumulateWorkerMetrics, decodeOutput, type OutputMessage } from './distributed/messages.js';
import { superviseConsumer } from './consumer.js';
import { wrapKafkaError } from './errors.js';
import type { KafkaCustomPartitioner } from './partitioner.js';

/** Options of the feed (validated; errors name the field under `metrics`). */
export const consumerMetricsOptions = z.strictObject({
  /** The consumers' output topic, where each `sas worker` writes a `metrics` message per slide and partition. */
  topic: z.string().min(1),
  /** The routed topic whose partitioner instance gets the reports (the workers' input topic). */
  routedTopic: z.string().min(1),
  /** Number of workers P = partitions of the routed topic (worker w writes partition w's metrics). */
  workers: z.number().int().min(1),
  /** Metric slide of the workers, ms. Default 1000. */
  slideMs: z.number().int().positive().default(1000),
  /** A slide missing some workers is published this long after its first report arrived, ms. Default 2000. */
  graceMs: z.number().int().min(0).default(2000),
  /** Consumer group of the feed. Default a fresh one (`sas-metrics-<uuid>`). */
  groupId: z.string().min(1).optional(),
  /** A group without committed offsets starts at the earliest message (true) or the latest (false, default). */
  fromBeginning: z.boolean().default(false),
});

/** Input of `consumerMetricsOptions`. */
export type ConsumerMetricsOptions = z.input<typeof consumerMetricsOptions>;

/** A running feed. */
export interface ConsumerMetricsFeed {
  /** Resolves once the feed's consumer joined its group (reports sent before that are not seen). */
  joined(): Promise<void>;
  /** Slides published to the partitioner so far. */
  readonly slides: number;
  /** Output-topic messages that did not decode (counted and skipped). */
  readonly malformed: number;
  /** Metrics of a slide already published, or a second report of the same (slide, worker): dropped. */
  readonly late: number;
  /** Consumer crashes so far (each followed by a restart unless `failed` is set). */
  readonly crashes: number;
  /**
   * The crash after which the feed's consumer stays stopped, or null. The partitioner then keeps
   * routing with its last table.
   */
  readonly failed: Error | null;
  /** Stops the consumer and the timer. */
  stop(): Promise<void>;
}

interface Pending {
  readonly entries: (Extract<OutputMessage, { kind: 'metrics' }> | undefined)[];
  got: number;
  readonly firstAt: number;
}

/**
 * Starts feeding the consumers' metrics to `adapter`'s partitioner for `routedTopic`: every slide for
 * which all P workers reported (or whose first report is older than `graceMs`; missing workers count
 * as idle) becomes one SlideReport, in slide order, delivered to `onSlide` of the partitioner the
 * adapter built for that topic (nothing is delivered before the producer routed its first message).
 * `onReport` sees every report too. Throws ConfigError for bad options, KafkaUnavailableError when the
 * consumer cannot start.
 */
export async function feedConsumerMetrics(
  adapter: KafkaCustomPartitioner,
  kafka: Kafka,
  options: ConsumerMetricsOptions,
  onReport?: (r: SlideReport) => void,
): Promise<ConsumerMetricsFeed> {
  const o = parseOrThrow(consumerMetricsOptions, options, 'metrics');
  const P = o.workers;
  const collector = new MetricsCollector(P, o.slideMs);
  const pending = new Map<number, Pending>();
  let next = Number.NaN; // next slide to publish
  let slides = 0;
  let malformed = 0;
  let late = 0;
  const acc = new SlideAccumulator(P);

  const publish = (force: boolean): void => {
    const now = Date.now();
    for (;;) {
      if (pending.size === 0) return;
      if (Number.isNaN(next)) next = Math.min(...pending.keys());
      const st = pending.get(next);
      if (st === undefined) {
        // A gap: skip it once a later slide is complete or overdue.
        const later = [...pending.entries()].filter(([s]) => s > next);
        if (!later.some(([, x]) => x.got === P || now - x.firstAt >= o.graceMs || force)) return;
        next = Math.min(...later.map(([s]) => s));
        continue;
      }
      if (st.got < P && now - st.firstAt < o.graceMs && !force) return;
      acc.reset();
      for (let w = 0; w < P; w++) {
        const e = st.entries[w];
        if (e) accumulateWorkerMetrics(acc, w, e);
      }
      pending.delete(next);
      const inst = adapter.instances.get(o.routedTopic);
      const report = collector.publish(next, acc, Number.NaN, inst?.stats() ?? { hotKeys: 0, tableVersion: 0 });
      collector.reports.length = 0; // the feed keeps no history
      slides++;
      next++;
      if (inst?.onSlide && inst.numWorkers === P) inst.onSlide(report);
      onReport?.(report);
    }
  };

  const groupId = o.groupId ?? `sas-metrics-${randomUUID().slice(0, 8)}`;
  const consumer: Consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100, allowAutoTopicCreation: false });
  let joinedResolve: () => void = () => undefined;
  const joinedP = new Promise<void>((r) => (joinedResolve = r));
  consumer.on(consumer.events.GROUP_JOIN, () => joinedResolve());
  let crashes = 0;
  let failed: Error | null = null;
  const supervised = superviseConsumer(
    kafka,
    consumer,
    {
      groupId,
      topics: [o.topic],
      fromBeginning: o.fromBeginning,
      context: { topic: o.topic },
      run: {
        eachMessage: async ({ message }) => {
          let m: OutputMessage;
          try {
            m = decodeOutput(message.value);
          } catch {
            malformed++;
            return;
          }
          if (m.kind !== 'metrics') return;
          if (m.partition >= P || (!Number.isNaN(next) && m.slide < next)) {
            late++;
            return;
          }
          let st = pending.get(m.slide);
          if (!st) pending.set(m.slide, (st = { entries: new Array(P).fill(undefined), got: 0, firstAt: Date.now() }));
          if (st.entries[m.partition] !== undefined) {
            late++;
            return;
          }
          st.entries[m.partition] = m;
          st.got++;
          publish(false);
        },
      },
    },
    (c) => {
      crashes++;
      if (!c.restart) failed = c.error;
    },
  );
  try {
    await supervised.start();
  } catch (e) {
    await supervised.disconnect().catch(() => undefined);
    throw wrapKafkaError(e, 'start metrics feed', { topic: o.topic });
  }
  const timer = setInterval(() => publish(false), Math.max(20, Math.min(500, o.graceMs / 4)));
  return {
    joined: () => joinedP,
    get slides() {
      return slides;
    },
    get malformed() {
      return malformed;
    },
    get late() {
      return late;
    },
    get crashes() {
      return crashes;
    },
    get failed() {
      return failed;
    },
    async stop() {
      clearInterval(timer);
      await supervised.disconnect();
    },
  };
}
