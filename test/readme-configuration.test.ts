/**
 * The README's configuration table against the services' lists of environment variables: one
 * row per variable that some service reads, in the order of core/src/config/env.ts, with the
 * default, the services that read it and the meaning those lists give. A variable added to a
 * list, or a default changed, fails here until the README says the same.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configurationTable, readmeConfigurationRows } from '@tollgate/testkit/configuration-table';

const README = new URL('../README.md', import.meta.url).pathname;

describe('README configuration table', () => {
  it('has one row per variable the services read, with its default, its readers and its meaning', () => {
    expect(readmeConfigurationRows(readFileSync(README, 'utf8'))).toEqual(configurationTable());
  });
});
