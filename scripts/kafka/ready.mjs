// Readiness probe for scripts/kafka/broker.sh: exits 0 once a kafkajs admin sees a registered broker
// and the broker can coordinate a consumer group. The group lookup makes a fresh broker create its
// offsets topic now: until that topic has leaders, group joins fail (kafkajs gives up after ~10 s).
// Usage: node ready.mjs HOST:PORT TIMEOUT_SECONDS
import kafkajs from 'kafkajs';

const { Kafka, logLevel } = kafkajs;
const [broker, timeoutArg] = process.argv.slice(2);
const deadline = Date.now() + Number(timeoutArg ?? 60) * 1000;
let lastError = 'no attempt';

while (Date.now() < deadline) {
  const kafka = new Kafka({
    clientId: 'sas-broker-ready',
    brokers: [broker],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 2000,
    retry: { retries: 0 },
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    if (cluster.brokers.length > 0 && cluster.controller !== null) {
      await admin.listTopics();
      await admin.describeGroups(['sas-broker-ready']);
      await admin.disconnect();
      process.exit(0);
    }
    lastError = 'no broker registered yet';
  } catch (e) {
    lastError = e instanceof Error ? e.message : String(e);
  }
  await admin.disconnect().catch(() => {});
  await new Promise((r) => setTimeout(r, 500));
}
console.error(`[kafka] not ready: ${lastError}`);
process.exit(1);
