/** @tollgate/core/charging: what a call costs and who pays, one decision shared by the gateway middleware and the sidecar. */
export * from './normalize-path.ts';
export * from './request-subject.ts';
export * from './charging.ts';
