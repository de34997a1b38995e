export { tollgate, chargedHandler, type ChargedHandler, type TollgateOptions, type SubjectFunction } from './middleware/tollgate/index.ts';
export { takeResponseFields } from './middleware/tollgate/response-fields.ts';
export { createGatewayApp, type ClosableApp, type GatewayAppOptions } from './gateway-app.ts';
export { createMetricsApp } from './metrics-app.ts';
export { createUpstreamProxy, INTERACTION_ID_HEADER, type UpstreamProxy, type UpstreamProxyOptions } from './proxy/upstream-proxy.ts';
