import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '@tollgate/testkit/free-port';
import { startValkey, type ValkeyServer } from '@tollgate/testkit/valkey';
import { openBenchValkey } from './bench-valkey.ts';
import { readInfo } from './info.ts';

const answers = (url: string) => readInfo(url, 'server').then(() => true, () => false);

describe('openBenchValkey', () => {
  let elsewhere: ValkeyServer;
  beforeAll(async () => {
    elsewhere = await startValkey();
  });
  afterAll(async () => {
    await elsewhere.stop();
  });

  it('starts a Valkey on this machine by default, counts its process and stops it', async () => {
    const valkey = await openBenchValkey(undefined);
    expect(valkey.host).toBe('127.0.0.1');
    expect(valkey.pid).toBe(Number((await readInfo(valkey.url, 'server')).process_id));
    expect(valkey.description).toContain('started on this machine');
    await valkey.stop();
    expect(await answers(valkey.url)).toBe(false);
  });

  it('uses a given Valkey as it is: no process counted, left running after the scenario', async () => {
    const url = `redis://localhost:${elsewhere.port}`;
    const valkey = await openBenchValkey(url);
    expect(valkey).toMatchObject({ url, host: 'localhost', port: elsewhere.port, pid: undefined, user: undefined, password: undefined });
    expect(valkey.description).toMatch(new RegExp(`^valkey \\d+\\.\\d+\\.\\d+ at localhost:${elsewhere.port}, given with --valkey-url: its CPU time is not counted$`));
    await valkey.stop();
    expect(await answers(url)).toBe(true);
  });

  it('fails at once, naming --valkey-url, when the given Valkey does not answer', async () => {
    const port = await freePort();
    await expect(openBenchValkey(`redis://127.0.0.1:${port}`)).rejects.toThrow(`the Valkey given with --valkey-url (127.0.0.1:${port}) does not answer`);
  });
});
