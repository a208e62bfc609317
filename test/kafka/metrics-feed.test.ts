// The learned/adaptive partitioners inside a kafkajs producer get their metrics from the consumers:
// `sas worker` metrics messages on the output topic → SlideReports → onSlide (real broker).
import type { Kafka, PartitionMetadata } from 'kafkajs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { SlideReport } from '../../src/common/metrics.js';
import { createKafkaClient, createKafkaPartitioner, feedConsumerMetrics } from '../../src/connectors/index.js';
import { encodeOutput } from '../../src/connectors/distributed/messages.js';
import { announceSkip, createTopic, ensureBroker, kafkaSkipReason, uniqueTopic, waitFor } from './broker.js';

const skip = kafkaSkipReason();
announceSkip('kafka consumer metrics feed', skip);

describe.skipIf(skip !== null)('consumer metrics → partitioner onSlide (real broker)', () => {
  let kafka: Kafka;
  beforeAll(() => {
    kafka = createKafkaClient({ brokers: [ensureBroker()], clientId: 'sas-test-feed', logLevel: 'nothing' });
  });

  it('assembles one report per slide from the P workers (missing ones idle after the grace), in order, into onSlide', async () => {
    const P = 4;
    const input = uniqueTopic('feed-in');
    const output = uniqueTopic('feed-out');
    await createTopic(kafka, input, P);
    await createTopic(kafka, output, P);

    const adapter = createKafkaPartitioner('dalton-metrics', {}, { numKeys: 1000 });
    const meta = Array.from({ length: P }, (_, i) => ({ partitionId: i, leader: 1, replicas: [1], isr: [1] })) as unknown as PartitionMetadata[];
    adapter()({ topic: input, partitionMetadata: meta, message: { key: '7', value: 'x' } });
    const inst = adapter.instances.get(input)!;
    const seen: SlideReport[] = [];
    const orig = inst.onSlide!.bind(inst);
    (inst as { onSlide: (r: SlideReport) => void }).onSlide = (r) => {
      seen.push(r);
      orig(r);
    };

    const feed = await feedConsumerMetrics(adapter, kafka, { topic: output, routedTopic: input, workers: P, graceMs: 1500, fromBeginning: true });
    const producer = kafka.producer();
    await producer.connect();
    const metrics = (slide: number, w: number) =>
      encodeOutput({ kind: 'metrics', partition: w, slide, recordsIn: 10 * (w + 1) + slide, busyMs: 100 * (w + 1), queueLength: w, latency: [], latencyMax: 0 });
    const msgs: { partition: number; value: Buffer }[] = [];
    for (const slide of [100, 101]) for (let w = 0; w < P; w++) msgs.push({ partition: w, value: metrics(slide, w) });
    for (let w = 0; w < P - 1; w++) msgs.push({ partition: w, value: metrics(102, w) }); // worker 3 never reports slide 102
    msgs.push({ partition: 0, value: Buffer.from('not a worker message') });
    await producer.send({ topic: output, messages: msgs });
    await waitFor(() => seen.length >= 3, 60_000, 'three reports');
    // A repeat of a published slide is dropped.
    await producer.send({ topic: output, messages: [{ partition: 1, value: metrics(100, 1) }] });
    await waitFor(() => feed.late >= 1, 30_000, 'the late repeat');
    await producer.disconnect();
    await feed.stop();

    expect(seen.map((r) => r.slideIndex)).toEqual([100, 101, 102]);
    for (const r of seen.slice(0, 2)) {
      expect(r.workers.map((w) => w.busyMs)).toEqual([100, 200, 300, 400]);
      expect(r.workers.map((w) => w.recordsIn)).toEqual([10, 20, 30, 40].map((x) => x + r.slideIndex));
    }
    expect(seen[2].workers.map((w) => w.busyMs)).toEqual([100, 200, 300, 0]);
    expect(seen[2].workers[3].idleMs).toBe(1000);
    expect(feed.slides).toBe(3);
    expect(feed.malformed).toBe(1);
    expect(feed.late).toBe(1);
  }, 120_000);
});
