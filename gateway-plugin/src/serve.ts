// The one way a service serves a Hono app lives in core; the gateway's callers import it from here too.
export { serveApp, type RunningServer } from '@tollgate/core';
