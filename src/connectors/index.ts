// Public surface of the connectors subsystem: Kafka client, source, sink, partitioner adapter, codec.
export { awaitGroupCoordinator, brokersFromEnv, createKafkaClient, kafkaClientOptions } from './client.js';
export type { KafkaClientOptions } from './client.js';
export { decodeRecordInto, encodeRecordKey, encodeRecordValue, MALFORMED_REASONS, MAX_KEYS, RECORD_VALUE_BYTES } from './codec.js';
export type { MalformedReason, RecordColumns } from './codec.js';
export { isRetriableKafkaError, KafkaUnavailableError, wrapKafkaError } from './errors.js';
export { createKafkaPartitioner, kafkaPartitionerOptions, messageKeyToId } from './partitioner.js';
export type { KafkaCustomPartitioner, KafkaPartitionerOptions } from './partitioner.js';
export { assignStatic, staticAssigner, STATIC_ASSIGNER_NAME } from './assigner.js';
export type { PartitionClaim } from './assigner.js';
export { RateLimiter } from './rate.js';
export { createKafkaSink, kafkaSinkOptions } from './sink.js';
export type { KafkaSink, KafkaSinkOptions, KafkaSinkStats, SinkClock } from './sink.js';
export { createKafkaSource, kafkaSourceOptions } from './source.js';
export type { KafkaRecordBatch, KafkaSource, KafkaSourceHandlers, KafkaSourceOptions, KafkaSourceStats, MalformedMessage, SourceClock } from './source.js';
export { describeKafkaRunIO, KafkaPullSource, KafkaResultSink, openKafkaRunIO } from './run-io.js';
export type { KafkaRunIO, KafkaRunIOStats, KafkaRunSinkOptions, KafkaRunSourceOptions, KafkaRunSourceStats } from './run-io.js';
export { consumerMetricsOptions, feedConsumerMetrics } from './metrics-feed.js';
export type { ConsumerMetricsFeed, ConsumerMetricsOptions } from './metrics-feed.js';
