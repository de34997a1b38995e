// The store budget with one poll of grace now lives in core, shared with the sidecar.
export { withinBudget } from '@tollgate/core';
