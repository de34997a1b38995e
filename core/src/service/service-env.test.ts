import { describe, expect, it } from 'vitest';
import { ConfigError } from '../config/env.ts';
import { readServiceEnv, serviceEnv } from './service-env.ts';

const readEnv = (names: Parameters<typeof serviceEnv>[1], source: Record<string, string>) => readServiceEnv(serviceEnv('test', names), source);

describe('readServiceEnv', () => {
  it('applies defaults for unset variables', () => {
    expect(readEnv(['PORT', 'VALKEY_URL', 'ADMIN_TOKENS', 'LOG_LEVEL'], {})).toEqual({
      PORT: 8080,
      VALKEY_URL: undefined,
      ADMIN_TOKENS: [],
      LOG_LEVEL: 'info',
    });
  });

  it('parses set variables', () => {
    const env = readEnv(['PORT', 'VALKEY_URL', 'ADMIN_TOKENS', 'UPSTREAM_URL'], {
      PORT: '9000',
      VALKEY_URL: 'redis://127.0.0.1:6379',
      ADMIN_TOKENS: ' a , b ,',
      UPSTREAM_URL: 'http://127.0.0.1:1234',
    });
    expect(env).toEqual({ PORT: 9000, VALKEY_URL: 'redis://127.0.0.1:6379', ADMIN_TOKENS: ['a', 'b'], UPSTREAM_URL: 'http://127.0.0.1:1234' });
  });

  it('reports every bad variable at once', () => {
    let error: unknown;
    try {
      readEnv(['PORT', 'VALKEY_URL', 'UPSTREAM_URL', 'LOG_LEVEL'], { PORT: '80a', VALKEY_URL: 'http://x', UPSTREAM_URL: 'nope', LOG_LEVEL: 'loud' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      'PORT must be an integer from 1 to 65535, got "80a"',
      'VALKEY_URL must use redis: or rediss: or valkey: or valkeys:, got "http:"',
      'UPSTREAM_URL must be a URL, got "nope"',
      'LOG_LEVEL must be one of debug, info, warn, error, silent, got "loud"',
    ]);
  });

  it("takes a service's own default, and shows it", () => {
    const sink = serviceEnv('sink', ['PORT', 'LOG_LEVEL'], { PORT: 8082 });
    expect(readServiceEnv(sink, {})).toEqual({ PORT: 8082, LOG_LEVEL: 'info' });
    expect(readServiceEnv(sink, { PORT: '9000' })).toEqual({ PORT: 9000, LOG_LEVEL: 'info' });
    expect(sink.vars.map((v) => [v.name, v.shown])).toEqual([['PORT', '8082'], ['LOG_LEVEL', '`info`']]);
  });

  it('refuses a list that names a variable twice', () => {
    expect(() => serviceEnv('sink', ['PORT', 'PORT'])).toThrow('sink: PORT is listed twice');
  });
});
