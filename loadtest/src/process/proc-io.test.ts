import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseProcIo } from './proc-io.ts';

// /proc/self/io of a Node 24 process that read one file.
const fixture = readFileSync(new URL('./fixtures/proc-io.txt', import.meta.url), 'utf8');

describe('parseProcIo', () => {
  it('reads the read and write system call counts', () => {
    const counts = parseProcIo(fixture);
    expect(counts.reads).toBe(Number(/^syscr: (\d+)$/m.exec(fixture)?.[1]));
    expect(counts.writes).toBe(Number(/^syscw: (\d+)$/m.exec(fixture)?.[1]));
  });

  it('does not take rchar for syscr', () => {
    expect(parseProcIo('rchar: 99\nsyscr: 3\nwchar: 98\nsyscw: 4\n')).toEqual({ reads: 3, writes: 4 });
  });

  it('throws when a line is missing', () => {
    expect(() => parseProcIo('rchar: 1\n')).toThrow('no syscr line');
  });
});
