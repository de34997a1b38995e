export { createSampleUpstreamApp } from './app.ts';
export { startSampleUpstream } from './server.ts';
