import { describe, expect, it } from 'vitest';
import type { CloudEventV1 } from 'cloudevents';
import { waitFor } from '@tollgate/testkit/wait-for';
import { InProcessBus } from './in-process-bus.ts';

const event = (id: string) => ({ specversion: '1.0', id, source: 's', type: 't' }) as CloudEventV1<unknown>;

describe('InProcessBus', () => {
  it('delivers every event to every subscriber, in order', async () => {
    const bus = new InProcessBus();
    const a: string[] = [];
    const b: string[] = [];
    bus.subscribe((events) => void a.push(...events.map((e) => e.id)));
    bus.subscribe((events) => void b.push(...events.map((e) => e.id)));
    for (let i = 0; i < 100; i++) bus.emit(event(String(i)));
    await bus.flush();
    const expected = Array.from({ length: 100 }, (_, i) => String(i));
    expect(a).toEqual(expected);
    expect(b).toEqual(expected);
  });

  it('offers a refused batch again until the subscriber takes it', async () => {
    const bus = new InProcessBus({ retryMs: 10 });
    const got: string[] = [];
    let failures = 3;
    bus.subscribe((events) => {
      if (failures-- > 0) throw new Error('storage down');
      got.push(...events.map((e) => e.id));
    });
    bus.emit(event('a'));
    bus.emit(event('b'));
    await waitFor(() => got.length === 2, { what: 'redelivery' });
    expect(got).toEqual(['a', 'b']);
    expect(bus.backlog).toBe(0);
  });
});
