/** @tollgate/core/config: the environment variables (one list: name, default, parser, meaning) and TOLLGATE_CONFIG's routes, prices and cost rules. */
export * from './env.ts';
export * from './tollgate-config.ts';
export * from './cost-rules.ts';
