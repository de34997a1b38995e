import { mkdirSync, rmSync } from 'node:fs';
import { alternate, type Contender, type LightRuns, type MeasuredRun } from './alternate.ts';
import type { BenchOptions } from './options.ts';
import type { ProfileComparison } from './profile/profile-dir.ts';
import { commandsPerRead, readInfo, trafficOf } from './valkey/info.ts';
import { describeFailures, failedRequests } from './wrk/parse-wrk-output.ts';

export interface PairedScenario {
  baseline: MeasuredRun[];
  system: MeasuredRun[];
  /** The runs of each other system, measured after the system in every round. */
  others: MeasuredRun[][];
  profile: ProfileComparison | undefined;
  light: LightRuns | undefined;
  /** Responses the system gave outside the measured runs' table: its warm-up and light run. */
  systemResponses: number;
  /** Commands per socket read in Valkey over the runs, when the system uses it. */
  valkeyCommandsPerRead: number | undefined;
  /** Runs whose figures are unreliable: failed requests, or the request bound reached. */
  problems: string[];
}

/**
 * What the measured scenarios share: warm up both contenders, clear the profile folder,
 * run the alternating rounds and the light pair, and read Valkey's traffic around them.
 */
export const runPairedScenario = async (
  {
    baseline,
    system,
    options,
    profileDir,
    unit,
    valkeyUrl,
    others = [],
  }: {
    baseline: Contender;
    system: Contender;
    options: BenchOptions;
    profileDir: string;
    unit?: string;
    valkeyUrl: string | undefined;
    others?: readonly Contender[];
  },
  log: (line: string) => void,
): Promise<PairedScenario> => {
  let warmupResponses = 0;
  if (options.warmupS > 0) {
    log(`warm-up ${options.warmupS}s each`);
    await baseline.run(options.warmupS);
    warmupResponses = (await system.run(options.warmupS)).requests;
    for (const other of others) await other.run(options.warmupS);
  }
  if (options.profile) {
    rmSync(profileDir, { recursive: true, force: true });
    mkdirSync(profileDir, { recursive: true });
  }
  const trafficBefore = valkeyUrl ? trafficOf(await readInfo(valkeyUrl, 'stats')) : undefined;
  const runs = await alternate(
    {
      baseline,
      system,
      rounds: options.rounds,
      durationS: options.durationS,
      profileDir: options.profile ? profileDir : undefined,
      lightConnections: options.lightConnections,
      others,
      ...(unit ? { unit } : {}),
    },
    log,
  );
  const trafficAfter = valkeyUrl ? trafficOf(await readInfo(valkeyUrl, 'stats')) : undefined;

  const problems: string[] = [];
  const light = runs.light ? [runs.light.baseline, runs.light.system, ...runs.light.others] : [];
  for (const r of [...runs.baseline, ...runs.system, ...runs.others.flat(), ...light]) {
    if (failedRequests(r) > 0) problems.push(`${describeFailures(r)} in: ${r.command}`);
    if (r.capped) problems.push(`reached the request bound (${options.maxRequestsPerRun}) in: ${r.command}`);
  }
  return {
    ...runs,
    systemResponses: warmupResponses + [...runs.system, ...(runs.light ? [runs.light.system] : [])].reduce((n, r) => n + r.requests, 0),
    valkeyCommandsPerRead: trafficBefore && trafficAfter ? commandsPerRead(trafficBefore, trafficAfter) : undefined,
    problems,
  };
};

/**
 * Every answered request was debited once: the credits the system debited against the
 * responses wrk counted. Requests cut off at the end of each run (warm-up, rounds, light
 * round) were debited but not counted by wrk, so up to that many more is fine.
 */
export const debitMismatch = (
  options: BenchOptions,
  { debited, responses }: { debited: number; responses: number },
  what: string,
  answers: string,
): string | undefined => {
  const inFlight = (options.rounds + 1) * options.connections + options.lightConnections;
  if (debited >= responses && debited <= responses + inFlight) return undefined;
  return `${what} debited ${debited} credits for ${responses} ${answers}`;
};
