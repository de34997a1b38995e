import cluster from 'node:cluster';
import { configurationOrExit, workFromInvocationDirectory } from '@tollgate/core/service';
import { clusterMetricsText } from './workers/cluster-metrics.ts';
import { runSidecar, SERVICE } from './run-sidecar.ts';
import { readSidecarConfig } from './sidecar-config.ts';
import { askWorkerIndex } from './workers/worker-index.ts';
import { meterWritesViaPrimary } from './workers/meter-calls.ts';
import { replaysViaPrimary } from './workers/replay-calls.ts';
import { runPrimary } from './workers/primary.ts';

workFromInvocationDirectory();
const settings = configurationOrExit(SERVICE, () => readSidecarConfig());

if (settings.env.SIDECAR_WORKERS === 1) await runSidecar(settings);
else if (cluster.isPrimary) await runPrimary(settings);
else {
  const replays = settings.env.KAFKA_BROKERS.length > 0 ? replaysViaPrimary() : undefined;
  await runSidecar(settings, { index: await askWorkerIndex(), metricsText: clusterMetricsText(), replays, meterWrites: meterWritesViaPrimary() });
}
