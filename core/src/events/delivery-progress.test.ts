import { describe, expect, it } from 'vitest';
import { DeliveryProgress } from './delivery-progress.ts';

describe('DeliveryProgress', () => {
  it('reaches a checkpoint only once every call opened before it emitted and every event emitted before it was delivered', () => {
    const p = new DeliveryProgress();
    p.open('a');
    p.open('b');
    p.close('a');
    p.emitted(1);
    const checkpoint = p.checkpoint();
    // b is still in its upstream, and a's event is not delivered yet.
    expect(p.reached(checkpoint)).toBe(false);
    p.delivered(1);
    expect(p.reached(checkpoint)).toBe(false);
    // b's event is emitted after the checkpoint: it is waited for too.
    p.emitted(1);
    p.close('b');
    expect(p.reached(checkpoint)).toBe(false);
    p.delivered(1);
    expect(p.reached(checkpoint)).toBe(true);
  });

  it('is not held back by calls opened or events emitted after the checkpoint', () => {
    const p = new DeliveryProgress();
    p.open('old');
    const checkpoint = p.checkpoint();
    p.open('new');
    p.emitted(1);
    p.close('old');
    p.delivered(1);
    expect(p.reached(checkpoint)).toBe(true);
    p.emitted(5);
    expect(p.reached(checkpoint)).toBe(true);
  });

  it('holds back while the oldest open call is older than the checkpoint, whatever closed after it', () => {
    const p = new DeliveryProgress();
    for (const id of ['1', '2', '3']) p.open(id);
    const checkpoint = p.checkpoint();
    p.close('3');
    p.close('2');
    expect(p.reached(checkpoint)).toBe(false);
    p.close('1');
    expect(p.reached(checkpoint)).toBe(true);
    p.emitted(1);
    expect(p.reached(checkpoint)).toBe(true);
  });
});
