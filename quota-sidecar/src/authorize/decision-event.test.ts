import { describe, expect, it } from 'vitest';
import { validateEvent } from '@tollgate/core';
import type { Decision } from './decide.ts';
import { decisionEvent } from './decision-event.ts';

const TIME = Date.parse('2026-01-15T10:30:00.123Z');
const event = (decision: Decision) => {
  const built = decisionEvent({ source: 'quota-sidecar', subject: 'tpp-1', method: 'POST', path: '/payments', timeMs: TIME, elapsedMs: 1.6, decision });
  return JSON.parse(JSON.stringify(built)) as Record<string, unknown>;
};

describe('decisionEvent', () => {
  it.each<[string, Decision, { status_code: number; cost: number; decision: string }]>([
    ['debited', { outcome: 'debited', allowed: true, cost: 5, balance: 3 }, { status_code: 200, cost: 5, decision: 'debited' }],
    ['free', { outcome: 'free', allowed: true, cost: 0, balance: 3 }, { status_code: 200, cost: 0, decision: 'free' }],
    ['unverified', { outcome: 'unverified', allowed: true, cost: 5, balance: null }, { status_code: 200, cost: 5, decision: 'unverified' }],
    ['denied', { outcome: 'denied', allowed: false, cost: 5, balance: 2 }, { status_code: 429, cost: 0, decision: 'denied' }],
    ['unavailable', { outcome: 'unavailable', allowed: false, cost: 5, balance: null }, { status_code: 503, cost: 0, decision: 'denied' }],
  ])('%s: the status answered and what the call owes', (_name, decision, expected) => {
    const e = event(decision);
    expect(e).toMatchObject({
      specversion: '1.0',
      type: 'api.call',
      source: 'quota-sidecar',
      subject: 'tpp-1',
      time: '2026-01-15T10:30:00.123Z',
      data: { endpoint: '/payments', method: 'POST', response_time_ms: 2, ...expected },
    });
    // What the sink will store, exactly as emitted.
    expect(validateEvent(e)).toMatchObject({ ok: true, event: { cost: expected.cost, decision: expected.decision, timeMs: TIME } });
  });

  it('gives every event its own id', () => {
    const decision: Decision = { outcome: 'debited', allowed: true, cost: 1, balance: 0 };
    expect(event(decision).id).not.toBe(event(decision).id);
  });
});
