import { serveApp, type RunningServer } from '@tollgate/core/service';
import { createSampleUpstreamApp } from './app.ts';

/** Starts the sample Open Banking API; port 0 picks a free port. */
export const startSampleUpstream = (options: { port?: number; hostname?: string } = {}): Promise<RunningServer> =>
  serveApp(createSampleUpstreamApp(), options);
