import { backoffDelay, createLogger, pause } from '@tollgate/core';
import { ConfigError } from '@tollgate/core/config';
import { configurationOrExit, servedOrExit, serveApp, stopOnSignals, readServiceEnv, workFromInvocationDirectory } from '@tollgate/core/service';
import { eventTimeWindowFromEnv } from '@tollgate/core/events';
import { KafkaClient } from '@tollgate/core/kafka';
import { migrate, openClickHouse } from '@tollgate/core/clickhouse';
import { createSinkHealthApp } from './health-app.ts';
import { KafkaMeterSink } from './kafka-sink.ts';
import { SINK_ENV } from './sink-env.ts';

workFromInvocationDirectory();
const env = configurationOrExit(SINK_ENV.service, () => {
  const read = readServiceEnv(SINK_ENV);
  if (read.KAFKA_BROKERS.length === 0) {
    throw new ConfigError(['KAFKA_BROKERS is required: the meter-sink consumes from Kafka (without Kafka, `npm start` stores events in-process)']);
  }
  return read;
});

const logger = createLogger('meter-sink', env.LOG_LEVEL);
const clickhouse = openClickHouse({ url: env.CLICKHOUSE_URL, dataDir: env.CLICKHOUSE_DATA_DIR });
const kafka = new KafkaClient({ brokers: env.KAFKA_BROKERS, clientId: 'tollgate-meter-sink' });
const sink = new KafkaMeterSink({
  kafka,
  clickhouse,
  topic: env.KAFKA_TOPIC,
  batchSize: env.SINK_BATCH_SIZE,
  batchWaitMs: env.SINK_BATCH_WAIT_MS,
  sessionTimeoutMs: env.SINK_SESSION_TIMEOUT_MS,
  dedupeHorizonDays: env.DEDUPE_HORIZON_DAYS,
  eventTimeWindow: eventTimeWindowFromEnv(env),
  logger,
});
// A port in use is one line that names it and PORT, and exit 1.
const health = await servedOrExit(serveApp(createSinkHealthApp(sink.readiness), { port: env.PORT, hostname: '0.0.0.0' }), {
  service: 'meter-sink',
  port: env.PORT,
  variable: 'PORT',
});
logger.info('meter-sink listening', {
  port: health.port,
  topic: env.KAFKA_TOPIC,
  clickhouse: env.CLICKHOUSE_URL ? 'server' : `embedded (${env.CLICKHOUSE_DATA_DIR})`,
  config: 'environment only (the meter-sink reads no TOLLGATE_CONFIG)',
});

// ClickHouse or Kafka may come up after the sink: keep trying, not ready meanwhile.
for (let attempt = 0; ; attempt++) {
  try {
    await migrate(clickhouse);
    await kafka.ensureTopics(env.KAFKA_TOPIC, env.KAFKA_TOPIC_PARTITIONS);
    await sink.start();
    break;
  } catch (err) {
    logger.warn('sink not started yet; retrying', { attempt, error: String(err) });
    await pause(backoffDelay(attempt));
  }
}
logger.info('meter-sink consuming', { topic: env.KAFKA_TOPIC, port: env.PORT });

// The batches in hand are stored and committed before the group is left and the clients close.
stopOnSignals(logger, [
  { name: 'sink', run: () => sink.stop() },
  { name: 'health server', run: () => health.close() },
  { name: 'Kafka', run: () => kafka.close() },
  { name: 'ClickHouse', run: () => clickhouse.close() },
]);
