import type { Metric, Registry } from 'prom-client';

/** One labelled series of a HotHistogram, bound once and observed per request. */
export interface HotHistogramChild {
  observe(value: number): void;
}

/** One exported value, as prom-client's metrics give them to a registry. */
interface ExportedValue {
  labels: Record<string, string | number>;
  value: number;
  metricName: string;
}

interface Series {
  labels: Record<string, string>;
  /** Observations per bucket, not cumulative; the last is above every bound (+Inf). */
  counts: number[];
  sum: number;
  count: number;
}

export interface HotHistogramOptions<T extends string> {
  name: string;
  help: string;
  labelNames?: readonly T[];
  /** Upper bounds, ascending. */
  buckets: readonly number[];
  registers?: Registry[];
}

/**
 * A histogram observed on the request path. prom-client's Histogram validates and hashes
 * the labels on every observation, even through a bound child (about 1 µs per request);
 * here a child holds its series, and an observation is a walk over the bounds and three
 * additions. A scrape gives what prom-client's Histogram gives for the same observations,
 * the same families, series and values, and cluster aggregation sums it the same way.
 */
export class HotHistogram<T extends string = string> {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly name: string;
  readonly help: string;
  readonly #labelNames: readonly T[];
  readonly #bounds: readonly number[];
  readonly #series = new Map<string, Series>();

  constructor({ name, help, labelNames = [], buckets, registers = [] }: HotHistogramOptions<T>) {
    if (buckets.length === 0 || buckets.some((b, i) => !Number.isFinite(b) || (i > 0 && b <= (buckets[i - 1] ?? b)))) {
      throw new Error(`${name}: buckets must be finite and ascending`);
    }
    this.name = name;
    this.help = help;
    this.#labelNames = labelNames;
    this.#bounds = [...buckets];
    // The registry only reads name, get() and reset(): what every prom-client metric offers.
    for (const registry of registers) registry.registerMetric(this as unknown as Metric);
  }

  /** The series of these label values, in the order of `labelNames`. */
  labels(...values: string[]): HotHistogramChild {
    if (values.length !== this.#labelNames.length) {
      throw new Error(`${this.name}: expected ${this.#labelNames.length} label values, got ${values.length}`);
    }
    const key = JSON.stringify(values);
    let series = this.#series.get(key);
    if (!series) {
      series = { labels: Object.fromEntries(this.#labelNames.map((n, i) => [n, values[i] ?? ''])), counts: new Array<number>(this.#bounds.length + 1).fill(0), sum: 0, count: 0 };
      this.#series.set(key, series);
    }
    const s = series;
    const bounds = this.#bounds;
    const name = this.name;
    return {
      observe(value: number) {
        if (!Number.isFinite(value)) throw new TypeError(`${name}: not a finite number: ${value}`);
        let i = 0;
        while (i < bounds.length && value > (bounds[i] as number)) i++;
        s.counts[i] = (s.counts[i] as number) + 1;
        s.sum += value;
        s.count++;
      },
    };
  }

  /** The histogram as prom-client's Histogram.get() gives it; a series appears once observed. */
  async get(): Promise<{ name: string; help: string; type: 'histogram'; aggregator: 'sum'; values: ExportedValue[] }> {
    const values: ExportedValue[] = [];
    for (const s of this.#series.values()) {
      if (s.count === 0) continue;
      let cumulative = 0;
      this.#bounds.forEach((le, i) => {
        cumulative += s.counts[i] as number;
        values.push({ labels: { ...s.labels, le }, value: cumulative, metricName: `${this.name}_bucket` });
      });
      values.push(
        { labels: { ...s.labels, le: '+Inf' }, value: s.count, metricName: `${this.name}_bucket` },
        { labels: { ...s.labels }, value: s.sum, metricName: `${this.name}_sum` },
        { labels: { ...s.labels }, value: s.count, metricName: `${this.name}_count` },
      );
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  reset(): void {
    for (const s of this.#series.values()) {
      s.counts.fill(0);
      s.sum = 0;
      s.count = 0;
    }
  }
}
