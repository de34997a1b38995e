/** Benchmark scenarios and the helpers they are built from; `npm run bench` runs them all. */
export { runGatewayOverhead, gatewayOverheadRows, type GatewayOverheadResult } from './gateway-overhead.ts';
export { runSidecarAuthorize, sidecarAuthorizeRows, type SidecarAuthorizeResult } from './sidecar-authorize.ts';
export { parseBenchOptions, DEFAULT_OPTIONS, type BenchOptions } from './options.ts';
export { parseWrkOutput, failedRequests, describeFailures, type WrkResult } from './wrk/parse-wrk-output.ts';
export { parseValkeyBenchmarkCsv, type ValkeyBenchmarkRow } from './valkey/parse-valkey-benchmark.ts';
export { comparePaired, cpuModelRatio, cpuBreakdownUs, median, verdict, type PairedComparison } from './report/compare.ts';
export { markdownTable, reportTable, type ReportRow } from './report/format.ts';
export { summarizeCpuProfile, type CpuProfile, type ProfileSummary } from './profile/summarize-cpu-profile.ts';
