import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DiskSpool } from '@tollgate/core/event-path';
import { strandedSpools } from './primary.ts';

describe('strandedSpools', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-stranded-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('names the spools of workers that will not start and still hold events', async () => {
    const holding = new DiskSpool({ dir: join(dir, 'quota-sidecar-3'), maxBytes: 1 << 20 });
    await holding.append([{ key: 'tpp-1', value: '{}' }]);
    await holding.close();
    const drained = new DiskSpool({ dir: join(dir, 'quota-sidecar-2'), maxBytes: 1 << 20 });
    await drained.append([{ key: 'tpp-1', value: '{}' }]);
    await drained.ack(1);
    await drained.close();

    expect(strandedSpools(dir, 2)).toEqual([join(dir, 'quota-sidecar-3')]);
    expect(strandedSpools(dir, 4)).toEqual([]);
    expect(strandedSpools(join(dir, 'missing'), 1)).toEqual([]);
  });
});
