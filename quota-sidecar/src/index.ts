export { createSidecarApp, type SidecarOptions } from './sidecar-app.ts';
export { AUTH_MODE_HEADER } from './routes/authorize-forward.ts';
export { AUTHORIZE_TOKEN_HEADER } from './http/authorize-credential.ts';
