import cluster from 'node:cluster';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger } from '@tollgate/core';
import { configurationSummary } from '@tollgate/core/service';
import { openCreditStore } from '@tollgate/core/credits';
import { DiskSpool } from '@tollgate/core/event-path';
import { MeterRepository } from '@tollgate/core/meters';
import { serveClusterMetrics } from './cluster-metrics.ts';
import { SERVICE, eventClientId, openMigratedClickHouse, openReplays } from '../run-sidecar.ts';
import { serveMeterWritesToWorkers } from './meter-calls.ts';
import { serveReplaysToWorkers } from './replay-calls.ts';
import type { SidecarSettings } from '../sidecar-config.ts';
import { answerWorkerIndex } from './worker-index.ts';

/** A worker that crashed after it served is started again after this pause. */
const RESTART_DELAY_MS = 1_000;

/**
 * Spool folders of workers at or beyond `workers` that still hold events: a sidecar that ran
 * with more workers before, stopped while Kafka was away. No worker would drain them.
 */
export const strandedSpools = (spoolDir: string, workers: number): string[] => {
  if (!existsSync(spoolDir)) return [];
  const stranded: string[] = [];
  for (const name of readdirSync(spoolDir)) {
    const match = /^quota-sidecar-(\d+)$/.exec(name);
    if (!match || Number(match[1]) < workers || name !== eventClientId(Number(match[1]))) continue;
    const spool = new DiskSpool({ dir: join(spoolDir, name), maxBytes: Number.MAX_SAFE_INTEGER });
    if (!spool.isEmpty) stranded.push(join(spoolDir, name));
    void spool.close();
  }
  return stranded;
};

/**
 * The primary of SIDECAR_WORKERS sidecar processes sharing one port (node:cluster hands each
 * new connection to a worker). It serves no requests itself: it runs the migrations once,
 * starts the workers, tells each its index, collects their metrics for /metrics, creates and
 * deletes the meters they are asked to, runs the replays they are asked for (their progress
 * lives here), restarts a
 * worker that crashes, and on SIGTERM or SIGINT stops them all, each draining as a single
 * sidecar does.
 */
export const runPrimary = async ({ env, config }: SidecarSettings): Promise<void> => {
  const logger = createLogger(SERVICE, env.LOG_LEVEL);
  const workers = env.SIDECAR_WORKERS;

  const stranded = env.KAFKA_BROKERS.length > 0 ? strandedSpools(env.SPOOL_DIR, workers) : [];
  if (stranded.length > 0) {
    logger.error(`unsent events are spooled for workers this sidecar will not start; run it with more SIDECAR_WORKERS until they drain`, { stranded, workers });
    process.exit(1);
  }

  // The schema once, before the workers, which then find it in place. The primary also creates
  // and deletes the meters any worker is asked to, and with Kafka runs the replays, so it keeps
  // ClickHouse (and, for replays, Valkey) open.
  const clickhouse = await openMigratedClickHouse(env, logger);
  serveMeterWritesToWorkers(new MeterRepository(clickhouse, logger));
  const replays = await openReplays(env, clickhouse, await openCreditStore(env.VALKEY_URL), logger);
  if (replays) serveReplaysToWorkers(replays);

  const indexOf = new Map<number, number>();
  const served = new Set<number>();
  let stopping = false;
  let exitCode = 0;

  const stopAll = (code: number) => {
    exitCode = Math.max(exitCode, code);
    if (stopping) return;
    stopping = true;
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM');
  };

  const start = (index: number) => {
    const worker = cluster.fork();
    indexOf.set(worker.id, index);
    worker.once('listening', () => served.add(worker.id));
    worker.once('exit', (code, signal) => {
      indexOf.delete(worker.id);
      if (Object.keys(cluster.workers ?? {}).length === 0 && stopping) {
        logger.info('stopped');
        process.exit(exitCode);
      }
      if (stopping) return;
      if (!served.has(worker.id)) {
        // It never listened: a broken configuration or dependency, which a restart would repeat.
        logger.error('a worker stopped before it served; stopping the sidecar', { worker: index, code, signal });
        stopAll(1);
        return;
      }
      served.delete(worker.id);
      logger.error('a worker stopped; starting it again', { worker: index, code, signal });
      setTimeout(() => {
        if (!stopping) start(index);
      }, RESTART_DELAY_MS);
    });
  };

  answerWorkerIndex((id) => indexOf.get(id));
  serveClusterMetrics();
  for (let index = 0; index < workers; index++) start(index);
  logger.info('starting workers', { workers, port: env.PORT, config: configurationSummary(env.TOLLGATE_CONFIG ?? '', config) });

  const shutdown = (signal: string) => {
    logger.info('shutting down', { signal });
    stopAll(0);
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
};
