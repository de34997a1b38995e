import { randomUUID } from 'node:crypto';
import type { CloudEventV1 } from 'cloudevents';
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { parseTollgateConfig } from '@tollgate/core/config';
import { MemoryCreditStore } from '@tollgate/core/credits';
import type { ApiCallData, EventEmitter } from '@tollgate/core/events';
import { chargedHandler, tollgate } from './index.ts';

const silent = { debug() {}, info() {}, warn() {}, error() {} };

/**
 * The local event log's guarantee (an answered call's event is on disk) holds because tollgate
 * hands the event to the emitter before it hands the response back: the emitter's synchronous
 * append then precedes the first byte of the answer. An emit deferred to a later turn (a timer,
 * setImmediate, an awaited write) would let a kill between the answer and the append lose it.
 */
describe('tollgate emits the api.call event before it hands the response back', () => {
  const record = () => {
    const seen: { event: CloudEventV1<ApiCallData>; answered: boolean }[] = [];
    let answered = false;
    const emitter: EventEmitter = {
      emit: (e) => void seen.push({ event: e as CloudEventV1<ApiCallData>, answered }),
      flush: () => Promise.resolve(),
      close: () => Promise.resolve(),
    };
    /** Fetches through `app`, marking the moment its answer is handed back. */
    const fetchThrough = async (app: Hono, path: string, subject: string) => {
      answered = false;
      const res = await app.fetch(new Request(`http://gateway${path}`, { headers: { 'x-tpp-id': subject } }));
      answered = true;
      return res;
    };
    return { seen, emitter, fetchThrough };
  };

  const apps = (emitter: EventEmitter, store: MemoryCreditStore) => {
    const options = { store, emitter, config: parseTollgateConfig({}), logger: silent };
    const middleware = new Hono().use(tollgate(options)).get('/accounts', (c) => c.json({ Data: {} }));
    const handler = new Hono().all('*', chargedHandler(options, async () => Response.json({ Data: {} })));
    return { middleware, handler };
  };

  it.each(['middleware', 'handler'] as const)('as %s, for a served call and for a refused one', async (kind) => {
    const { seen, emitter, fetchThrough } = record();
    const store = new MemoryCreditStore({ restored: true });
    const app = apps(emitter, store)[kind];
    const funded = `tpp-${randomUUID()}`;
    await store.applyGrant(funded, 'grant', 'h', 5);
    const served = await fetchThrough(app, '/accounts', funded);
    const refused = await fetchThrough(app, '/accounts', `tpp-${randomUUID()}`);
    expect(seen.map((s) => [s.event.data?.status_code, s.answered])).toEqual([
      [served.status, false],
      [refused.status, false],
    ]);
    expect(refused.status).toBeGreaterThanOrEqual(400);
  });
});
