import { readFile } from 'node:fs/promises';

/** Resident memory of a process, from /proc/<pid>/status (Linux). */
export interface ProcMemory {
  /** Resident set size now. */
  rssBytes: number;
  /** High-water mark of the resident set since the process started. */
  hwmBytes: number;
}

const field = (text: string, name: string): number => {
  const m = new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(text);
  if (!m) throw new Error(`/proc status has no ${name} line`);
  return Number(m[1]) * 1024;
};

export const parseProcStatus = (text: string): ProcMemory => ({ rssBytes: field(text, 'VmRSS'), hwmBytes: field(text, 'VmHWM') });

export const readProcMemory = async (pid: number): Promise<ProcMemory> =>
  parseProcStatus(await readFile(`/proc/${pid}/status`, 'utf8'));

export interface MemoryPeak {
  /** Highest VmRSS seen while sampling. */
  peakRssBytes: number;
  /** VmHWM at the end: the true peak, including moments between samples (and start-up). */
  hwmBytes: number;
  samples: number;
}

/**
 * Samples a process's resident memory every `intervalMs` until stopped. The sampled peak
 * covers only the window sampled (the load); VmHWM covers the process's whole life.
 */
export const sampleMemory = (pid: number, intervalMs = 100) => {
  let peakRssBytes = 0;
  let hwmBytes = 0;
  let samples = 0;
  const sample = async () => {
    try {
      const m = await readProcMemory(pid);
      peakRssBytes = Math.max(peakRssBytes, m.rssBytes);
      hwmBytes = Math.max(hwmBytes, m.hwmBytes);
      samples++;
    } catch {
      // The process exited between samples; the scenario notices that on its own.
    }
  };
  void sample();
  const timer = setInterval(() => void sample(), intervalMs);
  return {
    async stop(): Promise<MemoryPeak> {
      clearInterval(timer);
      await sample();
      return { peakRssBytes, hwmBytes, samples };
    },
  };
};
