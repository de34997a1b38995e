import { describe, expect, it } from 'vitest';
import { renderResultsMarkdown, type ResultsDocument } from './results-markdown.ts';

const doc: ResultsDocument = {
  machine: {
    date: '2026-11-22T06:00:00.000Z',
    nproc: 2,
    cpuModel: 'Intel(R) Xeon(R) Processor',
    memoryGiB: 24,
    loadAverage: 0.5,
    node: 'v24.21.0',
    valkey: '8.0.1',
    wrk: 'debian/4.1.0-3+b2 [epoll]',
    commit: 'abc1234',
  },
  loadParameters: ['wrk -t1 -c50 -d15s --latency, 2 rounds alternating, 3 s warm-up per target'],
  summary: [
    { scenario: 'gateway', measure: 'throughput', baseline: '8,000 req/s', system: '7,000 req/s', comparison: '0.88×', target: '≥ 0.85×', verdict: 'pass' },
  ],
  rounds: [
    {
      scenario: 'gateway',
      contender: 'bare proxy',
      round: 1,
      requestsPerSec: '8,000',
      p50: '5.00 ms',
      p99: '9.00 ms',
      requests: '120,000',
      cpuPerRequest: '80 µs',
      failures: 'no failures',
    },
  ],
  checks: ['gateway: 120,001 responses, 120,001 credits debited'],
  problems: [],
  sections: [{ title: 'CPU profile: gateway', body: 'cloudevents 12%' }],
  elapsedS: 181.4,
};

describe('renderResultsMarkdown', () => {
  it('records the machine, the load parameters and every table', () => {
    const md = renderResultsMarkdown(doc);
    expect(md).toContain('- nproc: 2 (Intel(R) Xeon(R) Processor), memory 24 GiB, load average at start 0.50');
    expect(md).toContain('- node v24.21.0, valkey 8.0.1, wrk debian/4.1.0-3+b2 [epoll]');
    expect(md).toContain('- code measured: abc1234');
    expect(md).toContain('- wrk -t1 -c50 -d15s --latency, 2 rounds alternating, 3 s warm-up per target');
    expect(md).toContain('- wall time of the whole run: 181 s');
    expect(md).toMatch(/\| gateway +\| throughput +\| +8,000 req\/s \| +7,000 req\/s \| +0\.88× \|/);
    expect(md).toMatch(/\| gateway +\| bare proxy +\| +1 \| +8,000 \|/);
    expect(md).toContain('No problems:');
    expect(md).toContain('## CPU profile: gateway\n\ncloudevents 12%');
    expect(md.endsWith('\n')).toBe(true);
  });

  it('flags the figures when a check failed', () => {
    const md = renderResultsMarkdown({ ...doc, problems: ['3 read errors in: wrk …'] });
    expect(md).toContain('**Problems (the figures above are suspect):**\n- 3 read errors in: wrk …');
    expect(md).not.toContain('No problems:');
  });
});
