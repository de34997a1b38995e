export { createSidecarApp, type SidecarOptions } from './sidecar-app.ts';
export { AUTH_MODE_HEADER } from './routes/authorize-forward.ts';
export { AUTHORIZE_TOKEN_HEADER } from './http/authorize-credential.ts';
export { ReplayRegistry, type Replays } from './replay/replay-registry.ts';
export { reconcileReplayed } from './replay/reconcile-replayed.ts';
export { startReplay, type ReplayProgress, type ReplayRequest } from './replay/replay.ts';
export { topUp, type TopUpRequest, type TopUpResult } from './admin/top-up.ts';
