import { Hono } from 'hono';
import { settleWithin } from '../credits/settle-within.ts';
import { TollgateError } from '../errors.ts';
import { problemResponse } from '../http/problem.ts';
import { registry } from '../metrics/metrics.ts';

/**
 * What a service's readiness rests on: `checks` is shown as it is (which dependency answered,
 * a backlog), and each problem is a sentence naming what is wrong. Ready means no problem.
 */
export interface Readiness {
  checks: Record<string, unknown>;
  problems: string[];
}

/** A probe answers within this budget or counts as down, so /readyz never hangs on a dependency. */
const PROBE_BUDGET_MS = 2_000;

/** Whether `check` answers true within the probe budget; a failure or a timeout is false. */
export const probe = async (check: () => Promise<boolean>, budgetMs = PROBE_BUDGET_MS): Promise<boolean> => {
  try {
    return await settleWithin(check(), budgetMs);
  } catch {
    return false;
  }
};

export interface HealthRoutesOptions {
  readiness: () => Readiness | Promise<Readiness>;
  /** The Prometheus text of /metrics; `false`: no /metrics here (the gateway serves it on its own port). */
  metricsText?: (() => Promise<string>) | false;
}

/**
 * The same three routes in every service, with one response shape: `GET /healthz` is 200
 * `{status: "live"}` while the process serves; `GET /readyz` is 200 `{status: "ready", checks}`,
 * or 503 problem+json (DEPENDENCY_UNAVAILABLE) whose detail names every problem, with the
 * `checks` and the `problems`; `GET /metrics` is Prometheus text. None needs a token.
 */
export const healthRoutes = ({ readiness, metricsText = () => registry.metrics() }: HealthRoutesOptions): Hono => {
  const app = new Hono()
    .get('/healthz', (c) => c.json({ status: 'live' }))
    .get('/readyz', async (c) => {
      const { checks, problems } = await readiness();
      if (problems.length === 0) return c.json({ status: 'ready', checks });
      return problemResponse(new TollgateError('DEPENDENCY_UNAVAILABLE', problems.join('; '), { checks, problems }));
    });
  if (metricsText) app.get('/metrics', async (c) => c.body(await metricsText(), 200, { 'content-type': registry.contentType }));
  return app;
};
