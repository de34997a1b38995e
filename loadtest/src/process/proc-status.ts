import { readFile } from 'node:fs/promises';

/** Resident memory of a process, from /proc/<pid>/status (Linux). */
export interface ProcMemory {
  /** Resident set size now. */
  rssBytes: number;
  /** High-water mark of the resident set since the process started. */
  hwmBytes: number;
  /** Anonymous memory (heaps, stacks): what the process itself allocated. */
  rssAnonBytes: number;
  /** File-backed pages (mapped code and shared libraries, e.g. a native engine's .so). */
  rssFileBytes: number;
}

const field = (text: string, name: string): number => {
  const m = new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(text);
  if (!m) throw new Error(`/proc status has no ${name} line`);
  return Number(m[1]) * 1024;
};

export const parseProcStatus = (text: string): ProcMemory => ({
  rssBytes: field(text, 'VmRSS'),
  hwmBytes: field(text, 'VmHWM'),
  rssAnonBytes: field(text, 'RssAnon'),
  rssFileBytes: field(text, 'RssFile'),
});

export const readProcMemory = async (pid: number): Promise<ProcMemory> =>
  parseProcStatus(await readFile(`/proc/${pid}/status`, 'utf8'));

export interface MemoryPeak {
  /** The first sample: the process as it was when sampling started (at rest, if started before the load). */
  first: ProcMemory | undefined;
  /** Highest VmRSS seen while sampling. */
  peakRssBytes: number;
  /** Highest RssAnon seen while sampling. */
  peakAnonBytes: number;
  /** Highest RssFile seen while sampling. */
  peakFileBytes: number;
  /** VmHWM at the end: the true peak, including moments between samples (and start-up). */
  hwmBytes: number;
  samples: number;
}

/**
 * Samples a process's resident memory every `intervalMs` until stopped. The sampled peak
 * covers only the window sampled (the load); VmHWM covers the process's whole life.
 */
export const sampleMemory = (pid: number, intervalMs = 100) => {
  let first: ProcMemory | undefined;
  let peakRssBytes = 0;
  let peakAnonBytes = 0;
  let peakFileBytes = 0;
  let hwmBytes = 0;
  let samples = 0;
  const sample = async () => {
    try {
      const m = await readProcMemory(pid);
      first ??= m;
      peakRssBytes = Math.max(peakRssBytes, m.rssBytes);
      peakAnonBytes = Math.max(peakAnonBytes, m.rssAnonBytes);
      peakFileBytes = Math.max(peakFileBytes, m.rssFileBytes);
      hwmBytes = Math.max(hwmBytes, m.hwmBytes);
      samples++;
    } catch {
      // The process exited between samples; the scenario notices that on its own.
    }
  };
  const firstSample = sample();
  const timer = setInterval(() => void sample(), intervalMs);
  return {
    async stop(): Promise<MemoryPeak> {
      clearInterval(timer);
      await firstSample;
      await sample();
      return { first, peakRssBytes, peakAnonBytes, peakFileBytes, hwmBytes, samples };
    },
  };
};
