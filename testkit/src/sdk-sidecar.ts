import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { OpenMeter } from '@openmeter/sdk';
import { ADMIN_TOKEN, createTestSidecar, type TestSidecar, type TestSidecarOptions } from './sidecar-fixture.ts';

/** The sidecar app served on a loopback port over real HTTP, and OpenMeter's own client pointed at it. */
export interface SdkSidecar {
  om: OpenMeter;
  sidecar: TestSidecar;
  url: string;
  close(): Promise<void>;
}

export const startSdkSidecar = async (options: TestSidecarOptions): Promise<SdkSidecar> => {
  const sidecar = await createTestSidecar(options);
  const server = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: sidecar.app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    om: new OpenMeter({ baseUrl: url, apiKey: ADMIN_TOKEN }),
    sidecar,
    url,
    close: () => new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve()))),
  };
};

/** The SDK types every answer as possibly undefined: the value, or a failure naming what was missing. */
export const present = <T>(value: T | undefined, what: string): T => {
  if (value === undefined) throw new Error(`no ${what} in the answer`);
  return value;
};
