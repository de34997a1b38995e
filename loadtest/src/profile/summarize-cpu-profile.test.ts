import { describe, expect, it } from 'vitest';
import { packageOf, summarizeCpuProfile, type CpuProfile } from './summarize-cpu-profile.ts';

const ROOT = '/repo';
const frame = (functionName: string, url: string, lineNumber = 0) => ({ functionName, url, lineNumber, columnNumber: 0 });

describe('packageOf', () => {
  it('names npm packages, scoped packages, workspaces, Node internals and V8 pseudo-frames', () => {
    expect(packageOf('file:///repo/node_modules/cloudevents/dist/event/cloudevent.js', 'CloudEvent', ROOT)).toBe('cloudevents');
    expect(packageOf('file:///repo/node_modules/@hono/node-server/dist/index.mjs', 'x', ROOT)).toBe('@hono/node-server');
    expect(packageOf('file:///repo/node_modules/undici/node_modules/x/a.js', 'x', ROOT)).toBe('x');
    expect(packageOf('file:///repo/gateway-plugin/src/middleware/tollgate/index.ts', 'tollgate', ROOT)).toBe('@tollgate/gateway-plugin');
    expect(packageOf('node:internal/streams/readable', 'push', ROOT)).toBe('node: (Node.js internals)');
    expect(packageOf('', '(garbage collector)', ROOT)).toBe('(garbage collector)');
    expect(packageOf('', '(idle)', ROOT)).toBe('(idle)');
    expect(packageOf('', 'JSON.stringify', ROOT)).toBe('(native)');
  });
});

describe('summarizeCpuProfile', () => {
  // (root) → handler (gateway) → CloudEvent (cloudevents) → validate (ajv)
  //                            → evalsha (iovalkey)
  //        → (idle), (garbage collector)
  const profile: CpuProfile = {
    nodes: [
      { id: 1, callFrame: frame('(root)', ''), children: [2, 6, 7] },
      { id: 2, callFrame: frame('handler', 'file:///repo/gateway-plugin/src/gateway.ts', 9), children: [3, 5] },
      { id: 3, callFrame: frame('CloudEvent', 'file:///repo/node_modules/cloudevents/dist/event/cloudevent.js'), children: [4] },
      { id: 4, callFrame: frame('validate', 'file:///repo/node_modules/ajv/dist/core.js') },
      { id: 5, callFrame: frame('evalsha', 'file:///repo/node_modules/iovalkey/built/Command.js') },
      { id: 6, callFrame: frame('(idle)', '') },
      { id: 7, callFrame: frame('(garbage collector)', '') },
    ],
    startTime: 0,
    endTime: 10_000,
    // µs per sample: validate 4 ms, CloudEvent 1 ms, evalsha 2 ms, handler 1 ms, gc 2 ms, idle 10 ms
    samples: [4, 4, 3, 5, 2, 7, 6],
    timeDeltas: [2000, 2000, 1000, 2000, 1000, 2000, 10_000],
  };
  const s = summarizeCpuProfile(profile, { repoRoot: ROOT });

  it('separates idle time from busy time', () => {
    expect(s.totalMs).toBe(20);
    expect(s.idleMs).toBe(10);
    expect(s.busyMs).toBe(10);
  });

  it('attributes own time to the leaf frame’s package', () => {
    expect(s.selfByPackage).toEqual([
      { name: 'ajv', ms: 4, share: 0.4 },
      { name: '(garbage collector)', ms: 2, share: 0.2 },
      { name: 'iovalkey', ms: 2, share: 0.2 },
      { name: '@tollgate/gateway-plugin', ms: 1, share: 0.1 },
      { name: 'cloudevents', ms: 1, share: 0.1 },
    ]);
  });

  it('charges a package for everything called beneath it, once per sample', () => {
    const inclusive = Object.fromEntries(s.inclusiveByPackage.map((x) => [x.name, x.ms]));
    expect(inclusive).toEqual({ '@tollgate/gateway-plugin': 8, cloudevents: 5, ajv: 4, iovalkey: 2, '(garbage collector)': 2 });
  });

  it('ranks functions with file and line', () => {
    expect(s.topSelf[0]).toEqual({ name: 'validate ajv/dist/core.js:1', ms: 4, share: 0.4 });
    expect(s.topInclusive[0]).toEqual({ name: 'handler gateway-plugin/src/gateway.ts:10', ms: 8, share: 0.8 });
    expect(s.topInclusive.find((x) => x.name.startsWith('CloudEvent'))?.ms).toBe(5);
  });

  it('honours the limit', () => {
    expect(summarizeCpuProfile(profile, { repoRoot: ROOT, limit: 2 }).selfByPackage).toHaveLength(2);
  });
});
