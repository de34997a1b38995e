import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { DirectoryInUseError } from './directory-owner.ts';
import { EventLog } from './event-log.ts';

const dir = () => mkdtempSync(join(tmpdir(), 'tollgate-event-log-'));
const line = (i: number) => `${JSON.stringify({ id: `e-${i}`, pad: 'x'.repeat(i % 50) })}\n`;
const idsOf = (lines: string[]) => lines.map((l) => (JSON.parse(l) as { id: string }).id);
const segments = (d: string) => readdirSync(d).filter((f) => f.endsWith('.log'));

/** Reads and acknowledges everything, `step` lines at a time. */
const drain = async (log: EventLog, step: number): Promise<string[]> => {
  const out: string[] = [];
  for (;;) {
    const { lines, end } = await log.read(step);
    if (lines.length === 0) return out;
    out.push(...idsOf(lines));
    await log.acknowledge(end, lines.length);
  }
};

describe('EventLog', () => {
  it('gives lines back in append order across segments, and deletes the segments stored', async () => {
    const d = dir();
    const log = new EventLog({ dir: d, segmentBytes: 1_000 });
    for (let i = 0; i < 200; i++) log.append(line(i));
    expect(log.pending).toBe(200);
    expect(segments(d).length).toBeGreaterThan(5);
    expect(await drain(log, 37)).toEqual(Array.from({ length: 200 }, (_, i) => `e-${i}`));
    expect(log.pending).toBe(0);
    // Only the segment being written is left.
    expect(segments(d).length).toBe(1);
    await log.close();
  });

  it('after a restart, gives back exactly what was not acknowledged', async () => {
    const d = dir();
    const first = new EventLog({ dir: d, segmentBytes: 500 });
    for (let i = 0; i < 100; i++) first.append(line(i));
    const { lines, end } = await first.read(60);
    await first.acknowledge(end, lines.length);
    // Read but not acknowledged: must come back.
    await first.read(10);
    await first.close();

    const second = new EventLog({ dir: d, segmentBytes: 500 });
    expect(second.pending).toBe(40);
    for (let i = 100; i < 110; i++) second.append(line(i));
    expect(await drain(second, 1_000)).toEqual(Array.from({ length: 50 }, (_, i) => `e-${i + 60}`));
    await second.close();
    const third = new EventLog({ dir: d });
    expect(third.pending).toBe(0);
    await third.close();
  });

  it('drops a partial last line (an append the kill interrupted) and keeps the lines before it', async () => {
    const d = dir();
    const log = new EventLog({ dir: d });
    for (let i = 0; i < 5; i++) log.append(line(i));
    await log.close();
    const [segment] = segments(d);
    appendFileSync(join(d, segment ?? ''), '{"id":"e-torn","pad":"xx');
    const reopened = new EventLog({ dir: d });
    expect(reopened.pending).toBe(5);
    reopened.append(line(5));
    expect(await drain(reopened, 100)).toEqual(['e-0', 'e-1', 'e-2', 'e-3', 'e-4', 'e-5']);
    await reopened.close();
  });

  it('reports full once the unstored lines pass maxBytes, and not after they are stored', async () => {
    const log = new EventLog({ dir: dir(), maxBytes: 2_000 });
    while (!log.full) log.append(line(1));
    await drain(log, 1_000);
    expect(log.full).toBe(false);
    await log.close();
  });

  it('takes over the directory of a process that was killed, and refuses it while its owner runs', async () => {
    const d = dir();
    // A child holds the log, says so, and is killed without releasing it.
    const child = spawn(process.execPath, ['--input-type=module', '-e', HOLDER], { env: { ...process.env, LOG_DIR: d }, stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise((r) => child.once('exit', r));
    await new Promise<void>((resolve) => createInterface({ input: child.stdout }).once('line', () => resolve()));
    expect(() => new EventLog({ dir: d })).toThrow(DirectoryInUseError);
    child.kill('SIGKILL');
    await exited;
    const log = new EventLog({ dir: d });
    // A second open in the same process is refused too.
    expect(() => new EventLog({ dir: d })).toThrow(DirectoryInUseError);
    await log.close();
    await new EventLog({ dir: d }).close();
  });

  it('refuses a directory whose owner file names a live process', () => {
    const d = dir();
    writeFileSync(join(d, 'owner.pid'), `${process.ppid}\n`);
    expect(() => new EventLog({ dir: d })).toThrow(/in use by process/);
  });
});

const HOLDER = `
import { EventLog } from ${JSON.stringify(new URL('./event-log.ts', import.meta.url).pathname)};
new EventLog({ dir: process.env.LOG_DIR });
console.log('holding');
setInterval(() => {}, 1000);
`;

describe('EventLog under kill -9', () => {
  it('holds every line whose append returned before the process was killed', async () => {
    for (let round = 0; round < 3; round++) {
      const d = dir();
      const child = spawn(process.execPath, ['--input-type=module', '-e', WRITER], { env: { ...process.env, LOG_DIR: d }, stdio: ['ignore', 'pipe', 'inherit'] });
      const exited = new Promise((r) => child.once('exit', r));
      // The child prints an id only after its append returned: that is "answered".
      let answered = 0;
      const killAt = 2_000 + Math.floor(Math.random() * 20_000);
      await new Promise<void>((resolve) => {
        createInterface({ input: child.stdout }).on('line', () => {
          answered += 1;
          if (answered === killAt) {
            child.kill('SIGKILL');
            resolve();
          }
        });
      });
      await exited;
      const log = new EventLog({ dir: d });
      const ids = await drain(log, 10_000);
      await log.close();
      // Every answered id is there, in order; at most the appends in flight at the kill follow.
      expect(ids.length).toBeGreaterThanOrEqual(answered);
      expect(ids.slice(0, answered)).toEqual(Array.from({ length: answered }, (_, i) => `e-${i}`));
    }
  }, 60_000);
});

const WRITER = `
import { EventLog } from ${JSON.stringify(new URL('./event-log.ts', import.meta.url).pathname)};
const log = new EventLog({ dir: process.env.LOG_DIR, segmentBytes: 64 * 1024 });
let i = 0;
const burst = () => {
  for (let k = 0; k < 200; k++, i++) {
    log.append(JSON.stringify({ id: 'e-' + i }) + '\\n');
    process.stdout.write('e-' + i + '\\n');
  }
  setImmediate(burst);
};
burst();
`;
