import { describe, expect, it } from 'vitest';
import { perRequestDeltas } from './compare-profiles.ts';

describe('perRequestDeltas', () => {
  const baseline = [
    { name: 'hono', ms: 1_000, share: 0.5 },
    { name: 'undici', ms: 1_000, share: 0.5 },
  ];
  const system = [
    { name: 'hono', ms: 500, share: 0.25 },
    { name: 'undici', ms: 600, share: 0.3 },
    { name: 'cloudevents', ms: 900, share: 0.45 },
  ];

  it('compares per request, not per profile, and ranks the largest extra cost first', () => {
    // The baseline served 20,000 requests, the system 10,000.
    expect(perRequestDeltas(baseline, 20_000, system, 10_000)).toEqual([
      { name: 'cloudevents', baselineUs: 0, systemUs: 90, deltaUs: 90 },
      { name: 'undici', baselineUs: 50, systemUs: 60, deltaUs: 10 },
      { name: 'hono', baselineUs: 50, systemUs: 50, deltaUs: 0 },
    ]);
  });

  it('keeps entries only the baseline has, as savings', () => {
    const rows = perRequestDeltas([{ name: 'x', ms: 100, share: 1 }], 1_000, [], 1_000);
    expect(rows).toEqual([{ name: 'x', baselineUs: 100, systemUs: 0, deltaUs: -100 }]);
  });

  it('honours the limit and refuses empty runs', () => {
    expect(perRequestDeltas(baseline, 1, system, 1, 1)).toHaveLength(1);
    expect(() => perRequestDeltas(baseline, 0, system, 1)).toThrow('requests on both sides');
  });
});
