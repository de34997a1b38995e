/**
 * @tollgate/core/service: the bootstrap every service shares. Reading its list of variables
 * (every problem at once) and its configuration, the health server (/healthz, /readyz),
 * serving a Hono app, naming a port in use, and the stop sequence on SIGTERM.
 */
export * from './service-env.ts';
export * from './configuration.ts';
export * from './health-routes.ts';
export * from './serve-app.ts';
export * from './stop-on-signals.ts';
export * from '../http/listen-error.ts';
