import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '@tollgate/core/config';
import { readSidecarConfig } from './sidecar-config.ts';

describe('readSidecarConfig', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tollgate-sidecar-config-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  /** A configuration file that sets nothing: the defaults, no routes, no meters. */
  const configured = () => file('empty.yaml', '{}\n');

  it('refuses to start without TOLLGATE_CONFIG, naming it', () => {
    expect(() => readSidecarConfig({})).toThrow('TOLLGATE_CONFIG is required: the quota-sidecar prices calls and answers meters from that YAML file');
  });

  it('reads the event settings and the meters of the configuration', () => {
    const path = file('ok.yaml', 'meters:\n  - { slug: api_calls, eventType: api.call, aggregation: COUNT, groupBy: { subject: true, endpoint: $.data.endpoint } }\n');
    const { env, meters } = readSidecarConfig({ TOLLGATE_CONFIG: path, KAFKA_BROKERS: 'k1:9092, k2:9092', SPOOL_FULL_POLICY: 'serve', KAFKA_LINGER_MS: '20' });
    expect(env).toMatchObject({ KAFKA_BROKERS: ['k1:9092', 'k2:9092'], KAFKA_TOPIC: 'api-calls', SPOOL_FULL_POLICY: 'serve', SPOOL_FSYNC: 'batch', KAFKA_LINGER_MS: 20 });
    expect(meters.map((m) => [m.slug, m.groupBy])).toEqual([['api_calls', { endpoint: '$.endpoint' }]]);
  });

  it('reports environment and meter problems together', () => {
    const path = file('bad.yaml', 'meters:\n  - { slug: Bad Slug, eventType: api.call, aggregation: SUM }\n');
    let error: unknown;
    try {
      readSidecarConfig({ TOLLGATE_CONFIG: path, SPOOL_FULL_POLICY: 'drop', KAFKA_TOPIC_PARTITIONS: '0' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    for (const expected of ['SPOOL_FULL_POLICY', 'KAFKA_TOPIC_PARTITIONS', 'meters[0].slug', 'meters[0].valueProperty']) expect(problems).toContain(expected);
  });

  it('runs several workers only with the shared state outside the process', () => {
    expect(() => readSidecarConfig({ TOLLGATE_CONFIG: configured(), SIDECAR_WORKERS: '2' })).toThrow(/SIDECAR_WORKERS=2 needs VALKEY_URL[\s\S]*SIDECAR_WORKERS=2 needs CLICKHOUSE_URL/);
    expect(() => readSidecarConfig({ TOLLGATE_CONFIG: configured(), SIDECAR_WORKERS: '0' })).toThrow(/SIDECAR_WORKERS must be an integer from 1 to 64/);
    const { env } = readSidecarConfig({ TOLLGATE_CONFIG: configured(), SIDECAR_WORKERS: '2', VALKEY_URL: 'redis://v:6379', CLICKHOUSE_URL: 'http://ch:8123' });
    expect(env.SIDECAR_WORKERS).toBe(2);
    expect(readSidecarConfig({ TOLLGATE_CONFIG: configured() }).env.SIDECAR_WORKERS).toBe(1);
  });

  it('listens on loopback by default, and off loopback only with AUTHORIZE_TOKENS', () => {
    expect(readSidecarConfig({ TOLLGATE_CONFIG: configured() }).env).toMatchObject({ LISTEN_HOST: '127.0.0.1', AUTHORIZE_TOKENS: [] });
    for (const host of ['0.0.0.0', '::', '10.0.0.7', 'quota-sidecar']) {
      expect(() => readSidecarConfig({ TOLLGATE_CONFIG: configured(), LISTEN_HOST: host })).toThrow(`AUTHORIZE_TOKENS is required when LISTEN_HOST (${host}) is not a loopback address`);
      expect(readSidecarConfig({ TOLLGATE_CONFIG: configured(), LISTEN_HOST: host, AUTHORIZE_TOKENS: 'a, b' }).env.AUTHORIZE_TOKENS).toEqual(['a', 'b']);
    }
    for (const host of ['127.0.0.1', '127.1.2.3', '::1', 'localhost']) expect(readSidecarConfig({ TOLLGATE_CONFIG: configured(), LISTEN_HOST: host }).env.LISTEN_HOST).toBe(host);
  });

  it('needs a key for JWT subjects, as the gateway does', () => {
    const path = file('jwt.yaml', 'subject:\n  jwt: { claims: [client_id] }\n');
    expect(() => readSidecarConfig({ TOLLGATE_CONFIG: path })).toThrow('subject.jwt needs subject.jwt.jwksUrl in TOLLGATE_CONFIG or JWT_SECRET in the environment');
    expect(readSidecarConfig({ TOLLGATE_CONFIG: path, JWT_SECRET: 's' }).config.subject.jwt).toEqual({ claims: ['client_id'] });
  });
});
