import type { TestProject } from 'vitest/node';
import { markRestored, startValkey, type ValkeyServer } from './valkey.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    valkeyUrl: string;
  }
}

let valkey: ValkeyServer | undefined;

/** Starts the real services the suite shares, unless the environment points at running ones. */
export const setup = async (project: TestProject) => {
  if (process.env.VALKEY_URL) {
    // The suite's stores debit from the start: the shared Valkey holds restored state.
    await markRestored(process.env.VALKEY_URL);
    project.provide('valkeyUrl', process.env.VALKEY_URL);
  } else {
    valkey = await startValkey();
    project.provide('valkeyUrl', valkey.url);
  }
};

export const teardown = async () => {
  await valkey?.stop();
};
