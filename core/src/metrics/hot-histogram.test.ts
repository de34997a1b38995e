import { AggregatorRegistry, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { HotHistogram } from './hot-histogram.ts';

const NAME = 'test_latency_seconds';
const BUCKETS = [0.001, 0.01, 0.1, 1];
const OBSERVED: [string, string, number][] = [
  ['debit', 'ok', 0.0004],
  ['debit', 'ok', 0.001],
  ['debit', 'ok', 0.0011],
  ['debit', 'error', 0.05],
  ['debit', 'ok', 0.5],
  ['debit', 'ok', 3],
  ['refund', 'ok', 0.02],
];

/** Both histograms, each in its own registry, fed the same observations. */
const pair = () => {
  const promRegistry = new Registry();
  const hotRegistry = new Registry();
  const prom = new Histogram({ name: NAME, help: 'h', labelNames: ['operation', 'outcome'] as const, buckets: BUCKETS, registers: [promRegistry] });
  const hot = new HotHistogram({ name: NAME, help: 'h', labelNames: ['operation', 'outcome'] as const, buckets: BUCKETS, registers: [hotRegistry] });
  const children = new Map<string, ReturnType<typeof hot.labels>>();
  for (const [operation, outcome, value] of OBSERVED) {
    prom.labels(operation, outcome).observe(value);
    const key = `${operation}/${outcome}`;
    const child = children.get(key) ?? hot.labels(operation, outcome);
    children.set(key, child);
    child.observe(value);
  }
  return { prom, hot, promRegistry, hotRegistry };
};

/** The sample lines of an exposition, label order normalised, so that two texts compare by content. */
const samples = (text: string) =>
  text
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const m = /^(\w+)(?:\{(.*)\})? (.+)$/.exec(l);
      if (!m) throw new Error(`not a sample line: ${l}`);
      const labels = (m[2] ?? '').split(',').filter(Boolean).sort().join(',');
      return `${m[1]}{${labels}} ${m[3]}`;
    })
    .sort();

describe('HotHistogram', () => {
  it('exposes the same families, series and values as prom-client’s Histogram', async () => {
    const { promRegistry, hotRegistry } = pair();
    const promText = await promRegistry.metrics();
    const hotText = await hotRegistry.metrics();
    expect(samples(hotText)).toEqual(samples(promText));
    expect(samples(hotText)).toContain('test_latency_seconds_bucket{le="0.001",operation="debit",outcome="ok"} 2');
    expect(samples(hotText)).toContain('test_latency_seconds_count{operation="debit",outcome="ok"} 5');
    expect(hotText).toContain('# TYPE test_latency_seconds histogram');
  });

  it('is summed across cluster workers as prom-client’s Histogram is', async () => {
    const a = pair();
    const b = pair();
    const promSum = AggregatorRegistry.aggregate([await a.promRegistry.getMetricsAsJSON(), await b.promRegistry.getMetricsAsJSON()]);
    const hotSum = AggregatorRegistry.aggregate([await a.hotRegistry.getMetricsAsJSON(), await b.hotRegistry.getMetricsAsJSON()]);
    expect(samples(await hotSum.metrics())).toEqual(samples(await promSum.metrics()));
    expect(samples(await hotSum.metrics())).toContain('test_latency_seconds_count{operation="debit",outcome="ok"} 10');
  });

  it('shows a series once observed, starts again after reset, and refuses what prom-client refuses', async () => {
    const registry = new Registry();
    const hot = new HotHistogram({ name: NAME, help: 'h', labelNames: ['outcome'] as const, buckets: BUCKETS, registers: [registry] });
    const ok = hot.labels('ok');
    expect(samples(await registry.metrics())).toEqual([]);
    ok.observe(0.2);
    expect(samples(await registry.metrics())).toContain('test_latency_seconds_sum{outcome="ok"} 0.2');
    registry.resetMetrics();
    expect(samples(await registry.metrics())).toEqual([]);
    expect(() => ok.observe(Number.NaN)).toThrow(TypeError);
    expect(() => hot.labels('ok', 'extra')).toThrow(/label values/);
    expect(() => new HotHistogram({ name: 'x', help: 'h', buckets: [1, 0.5] })).toThrow(/ascending/);
    expect(() => new HotHistogram({ name: NAME, help: 'h', buckets: BUCKETS, registers: [registry] })).toThrow(/already been registered/);
  });
});
