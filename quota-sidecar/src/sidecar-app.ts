import { Hono } from 'hono';
import { createLogger, type CreditStore, type GrantRepository, type Logger, type TollgateConfig } from '@tollgate/core';
import { bearerAuth } from './admin/bearer-auth.ts';
import { createDecide } from './authorize/decide.ts';
import { countResponses } from './http/count-responses.ts';
import { notFound, onError } from './http/errors.ts';
import { adminCreditsRoutes } from './routes/admin-credits.ts';
import { adminSubjectsRoutes } from './routes/admin-subjects.ts';
import { authorizeForwardRoutes } from './routes/authorize-forward.ts';
import { authorizeJsonRoutes } from './routes/authorize-json.ts';
import { healthRoutes } from './routes/health.ts';

export interface SidecarOptions {
  store: CreditStore;
  grants: GrantRepository;
  config: TollgateConfig;
  /** Bearer tokens of the admin API; with none, every admin request is refused. */
  adminTokens: readonly string[];
  /** Readiness of dependencies other than the credit store (the ClickHouse ping); /readyz answers 503 when false. */
  ready?: () => Promise<boolean>;
  logger?: Logger;
}

/** The quota sidecar: authorize (JSON and forward-auth), admin (top-ups, balances, ledger) and health. */
export const createSidecarApp = ({ store, grants, config, adminTokens, ready, logger = createLogger('quota-sidecar') }: SidecarOptions) => {
  const decide = createDecide({ store, config });
  const app = new Hono();
  app.onError(onError(logger));
  app.notFound(notFound);
  app.use('*', countResponses('quota-sidecar'));
  app.use('/admin/*', bearerAuth({ tokens: adminTokens }));

  app.route('/', healthRoutes({ store, ready }));
  app.route('/', authorizeJsonRoutes({ decide, config }));
  app.route('/', authorizeForwardRoutes({ decide, config }));
  app.route('/', adminCreditsRoutes({ store, grants, config, logger }));
  app.route('/', adminSubjectsRoutes({ store, grants, logger }));
  return app;
};
