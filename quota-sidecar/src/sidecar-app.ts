import type { ClickHouseClient } from '@clickhouse/client';
import { Hono } from 'hono';
import { createLogger, type Logger } from '@tollgate/core';
import type { TollgateConfig } from '@tollgate/core/config';
import { countIngested } from '@tollgate/core/metrics';
import type { CreditStore } from '@tollgate/core/credits';
import { createSubjectResolver } from '@tollgate/core/charging';
import type { EventEmitter } from '@tollgate/core/events';
import type { GrantRepository } from '@tollgate/core/ledger';
import { MeterRepository, parseMeters, SubjectRepository, type Meter, type MeterWrites } from '@tollgate/core/meters';
import type { Replays } from './replay/replay-registry.ts';
import { bearerAuth } from './admin/bearer-auth.ts';
import { createDecide } from './authorize/decide.ts';
import { authorizeCredential, authorizeGuard } from './http/authorize-credential.ts';
import { withAuthorizeFastPath } from './http/authorize-fast-path.ts';
import { countResponses } from './http/count-responses.ts';
import { notFound, onError } from './http/errors.ts';
import { adminCreditsRoutes } from './routes/admin-credits.ts';
import { adminReconciliationRoutes } from './routes/admin-reconciliation.ts';
import { adminReplayRoutes } from './routes/admin-replay.ts';
import { adminSubjectsRoutes } from './routes/admin-subjects.ts';
import { authorizeForwardRoutes } from './routes/authorize-forward.ts';
import { authorizeJsonRoutes } from './routes/authorize-json.ts';
import { healthRoutes } from './routes/health.ts';
import { DEFAULT_INGEST_LIMITS, openMeterEventsRoutes, type IngestLimits } from './routes/openmeter-events.ts';
import { openMeterEventsListRoutes } from './routes/openmeter-events-list.ts';
import { openMeterMeterAdminRoutes } from './routes/openmeter-meter-admin.ts';
import { openMeterMeterSubjectsRoutes } from './routes/openmeter-meter-subjects.ts';
import { openMeterMetersRoutes } from './routes/openmeter-meters.ts';
import { openMeterSubjectsRoutes } from './routes/openmeter-subjects.ts';
import { MeterRegistry } from './openmeter/meter-registry.ts';

export interface SidecarOptions {
  store: CreditStore;
  grants: GrantRepository;
  config: TollgateConfig;
  /** Bearer tokens of the admin API and of the OpenMeter-compatible API; with none, every such request is refused. */
  adminTokens: readonly string[];
  /**
   * The producer path of events (KafkaEmitter, or the in-process bus): every authorize decision is
   * emitted as an api.call event, and `POST /api/v1/events` hands ingested events to it. Without
   * one, decisions are not metered (reconciliation would count every debit as drift) and ingest
   * is not served.
   */
  emitter?: EventEmitter | undefined;
  /** Replays of the Kafka events topic; without it (no Kafka), the replay routes answer 503. */
  replays?: Replays | undefined;
  /** ClickHouse for meter queries; without it, `GET /api/v1/meters/{meter}/query` is not served. */
  clickhouse?: ClickHouseClient | undefined;
  /** The configured meters of the OpenMeter API; by default, those of `config.meters`. Meters created over the API live in ClickHouse. */
  meters?: readonly Meter[] | undefined;
  /** Where meters are created and deleted; by default this process's repository over `clickhouse` (a worker of several passes them to the primary). */
  meterWrites?: MeterWrites | undefined;
  /** The ingest API's body limit and acceptance window; by default 4 MiB, 31 days old, 5 minutes ahead. */
  ingestLimits?: IngestLimits | undefined;
  /**
   * Credentials of the authorize API (AUTHORIZE_TOKENS), sent in Tollgate-Authorize-Token. With
   * none, authorize is open: the sidecar's main starts so only on a loopback address.
   */
  authorizeTokens?: readonly string[] | undefined;
  /** HS256 key for bearer JWT subjects (`subject.jwt` without a JWKS URL), as the gateway has it. */
  jwtSecret?: string | undefined;
  /** CloudEvent `source` of the sidecar's api.call events. */
  source?: string | undefined;
  /** Clock in epoch milliseconds: the debit minute and event time of a decision, and an ingested event's missing time. */
  now?: (() => number) | undefined;
  /** Readiness of dependencies other than the credit store (the ClickHouse ping); /readyz answers 503 when false. */
  ready?: () => Promise<boolean>;
  /** The text of /metrics; by default this process's registry (see SIDECAR_WORKERS for several). */
  metricsText?: (() => Promise<string>) | undefined;
  logger?: Logger;
}

/**
 * The quota sidecar: authorize (JSON and forward-auth), admin (top-ups, balances, ledger),
 * OpenMeter-compatible ingest and meter query, and health.
 */
export const createSidecarApp = ({
  store,
  grants,
  config,
  adminTokens,
  emitter,
  clickhouse,
  replays,
  meters = parseMeters(config.meters),
  meterWrites,
  ingestLimits = DEFAULT_INGEST_LIMITS,
  authorizeTokens = [],
  jwtSecret,
  source = 'quota-sidecar',
  now = Date.now,
  ready,
  metricsText,
  logger = createLogger('quota-sidecar'),
}: SidecarOptions) => {
  if (!emitter) logger.warn('no event emitter: authorize decisions are not metered and POST /api/v1/events is not served');
  const decide = createDecide({ store, config, now, events: emitter && { emitter: countIngested(emitter, 'quota-sidecar'), source }, logger });
  // The subject is found exactly as the gateway finds it: the configured header, or a bearer JWT.
  const resolveSubject = createSubjectResolver(config.subject, jwtSecret);
  const subjects = { jwt: config.subject.jwt !== undefined, resolveSubject };
  const checkCredential = authorizeCredential(authorizeTokens);
  const app = new Hono();
  app.onError(onError(logger));
  app.notFound(notFound);
  app.use('*', countResponses('quota-sidecar'));
  app.use('/admin/*', bearerAuth({ tokens: adminTokens }));
  // Ingest writes usage that reconciliation charges, and queries read every subject's usage: both need a token.
  app.use('/api/*', bearerAuth({ tokens: adminTokens }));
  // Authorize debits any subject and shows its balance: it needs its own credential.
  app.use('/v1/authorize', authorizeGuard(checkCredential));
  app.use('/v1/authorize/*', authorizeGuard(checkCredential));

  app.route('/', healthRoutes({ store, ready, metricsText, events: emitter?.status && (() => emitter.status?.()) }));
  app.route('/', authorizeJsonRoutes({ decide, config, subjects }));
  app.route('/', authorizeForwardRoutes({ decide, resolveSubject }));
  app.route('/', adminCreditsRoutes({ store, grants, config, logger }));
  app.route('/', adminSubjectsRoutes({ store, grants, clickhouse, logger }));
  if (clickhouse) app.route('/', adminReconciliationRoutes({ store, clickhouse, now, logger }));
  app.route('/', adminReplayRoutes({ replays }));
  if (emitter) app.route('/', openMeterEventsRoutes({ emitter, config, limits: ingestLimits, now, logger }));
  const stored = clickhouse && new MeterRepository(clickhouse, logger);
  const registry = new MeterRegistry({ configured: meters, definedAt: new Date(now()).toISOString(), stored, writes: meterWrites ?? stored, logger });
  const maxBodyBytes = config.limits.maxBodyBytes;
  app.route('/', openMeterMetersRoutes({ meters: registry, clickhouse, now, maxBodyBytes, logger }));
  if (clickhouse) {
    app.route('/', openMeterMeterAdminRoutes({ meters: registry, maxBodyBytes }));
    app.route('/', openMeterMeterSubjectsRoutes({ meters: registry, clickhouse, logger }));
    app.route('/', openMeterEventsListRoutes({ meters: registry, clickhouse, now, logger }));
    app.route('/', openMeterSubjectsRoutes({ subjects: new SubjectRepository(clickhouse), maxBodyBytes, logger }));
  }
  return withAuthorizeFastPath(app, { decide, config, resolveSubject, subjects, checkCredential, logger, service: 'quota-sidecar' });
};
