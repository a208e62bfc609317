// The sink replaces its producer when the broker rejects a resend as out of order (no broker: a stand-in client).
import { describe, expect, it } from 'vitest';
import type { Kafka } from 'kafkajs';
import { createKafkaSink } from '../../src/connectors/sink.js';

function standIn(failures: Array<{ type: string; code: number; retriable: boolean } | undefined>) {
  const made: Array<{ sent: number; connected: boolean; disconnected: boolean }> = [];
  let call = 0;
  const kafka = {
    producer: () => {
      const p = { sent: 0, connected: false, disconnected: false };
      made.push(p);
      return {
        connect: async () => void (p.connected = true),
        disconnect: async () => void (p.disconnected = true),
        send: async ({ messages }: { messages: unknown[] }) => {
          const f = failures[call++];
          if (f) throw Object.assign(new Error(f.type === 'OUT_OF_ORDER_SEQUENCE_NUMBER' ? 'The broker received an out of order sequence number' : 'boom'), f);
          p.sent += messages.length;
          return [];
        },
      };
    },
  } as unknown as Kafka;
  return { kafka, made };
}

const clock = { now: () => 0, setTimeout: (fn: () => void) => void fn() };
const oos = { type: 'OUT_OF_ORDER_SEQUENCE_NUMBER', code: 45, retriable: false };

describe('kafka sink and out-of-order sequence numbers', () => {
  it('a rejected resend goes out once through a new producer, counted', async () => {
    const { kafka, made } = standIn([undefined, oos, undefined]);
    const sink = createKafkaSink(kafka, { topic: 't', numKeys: 10, chunkRecords: 4 }, clock);
    await sink.connect();
    const n = 12;
    await sink.sendRecords({ keys: new Int32Array(n), payloads: new Int32Array(n), eventTimes: new Float64Array(n) }, n);
    expect(made.length).toBe(2);
    expect(made[0].disconnected).toBe(true);
    expect(made[1].connected).toBe(true);
    expect(made[0].sent + made[1].sent).toBe(n); // every record exactly once
    expect(sink.stats()).toMatchObject({ sent: n, requests: 3, producerResets: 1 });
  });

  it('another non-retriable error still fails the send, with no reset', async () => {
    const { kafka, made } = standIn([{ type: 'INVALID_RECORD', code: 87, retriable: false }]);
    const sink = createKafkaSink(kafka, { topic: 't', numKeys: 10 }, clock);
    await sink.connect();
    await expect(sink.sendRecords({ keys: new Int32Array(1), payloads: new Int32Array(1), eventTimes: new Float64Array(1) }, 1)).rejects.toMatchObject({ code: 'KAFKA_UNAVAILABLE' });
    expect(made.length).toBe(1);
    expect(sink.stats().producerResets).toBe(0);
  });
});
