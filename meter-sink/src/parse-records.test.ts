import { describe, expect, it } from 'vitest';
import type { IncomingRecord } from '@tollgate/core/kafka';
import { parseRecords } from './parse-records.ts';

// When the records reached Kafka: a minute after the events' time.
const ARRIVED = Date.parse('2026-01-15T10:31:00.000Z');
const message = (value: string | null, offset: number, timestamp = ARRIVED): IncomingRecord => ({
  key: Buffer.from('tpp-1'),
  value: value === null ? null : Buffer.from(value),
  headers: [],
  offset: BigInt(offset),
  timestamp,
});

const event = (id: string) =>
  JSON.stringify({
    specversion: '1.0',
    type: 'api.call',
    source: 'gw',
    id,
    time: '2026-01-15T10:30:00.123Z',
    subject: 'tpp-1',
    data: { endpoint: '/a', method: 'GET', status_code: 200, response_time_ms: 1, cost: 1, decision: 'debited' },
  });

describe('parseRecords', () => {
  it('keeps valid events in order and refuses the rest with a reason', () => {
    const { events, refused } = parseRecords([
      message(event('1'), 0),
      message('not json', 1),
      message(null, 2),
      message(JSON.stringify({ hello: 'world' }), 3),
      message(event('2'), 4),
      message(event('3').replace('"cost":1', '"cost":"1"'), 5),
    ]);
    expect(events.map((e) => e.id)).toEqual(['1', '2']);
    expect(refused.map((r) => [r.record.offset, r.reason])).toEqual([
      [1n, 'not JSON'],
      [2n, 'empty message'],
      [3n, 'specversion must be "1.0"'],
      [5n, 'data.cost must be a non-negative integer'],
    ]);
  });

  it('checks the time of an event against the window around the Kafka timestamp of its record, not the clock', () => {
    const day = 86_400_000;
    const { events, refused } = parseRecords([message(event('on-time'), 0), message(event('late'), 1, ARRIVED + 40 * day), message(event('early'), 2, ARRIVED - 10 * 60_000)]);
    expect(events.map((e) => e.id)).toEqual(['on-time']);
    expect(refused.map((r) => r.reason)).toEqual(['time must be at most 31 days before the event arrives', 'time must be at most 5 minutes after the event arrives']);
  });
});
