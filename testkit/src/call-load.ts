/** Per subject: what the load sent and what came back. */
export interface SubjectCounts {
  started: number;
  settled: number;
  /** Answers by status. */
  status: Map<number, number>;
  /** Requests that got no answer (connection refused or reset). */
  failed: number;
}

export interface CallLoad {
  counts: Map<string, SubjectCounts>;
  /** Answers with a 2xx status, all subjects. */
  answered2xx(): number;
  /** Stops starting calls and waits for those in flight. */
  stop(): Promise<void>;
}

/**
 * Calls `url` as each subject in turn from `concurrency` loops, counting per subject what was
 * started, answered (by status) and failed. A call that failed waits `retryMs` before the next,
 * so a process being restarted is not hammered.
 */
export const startCallLoad = ({ url, subjects, concurrency = 16, retryMs = 20 }: { url: string; subjects: string[]; concurrency?: number; retryMs?: number }): CallLoad => {
  const counts = new Map(subjects.map((s) => [s, { started: 0, settled: 0, status: new Map<number, number>(), failed: 0 }]));
  let running = true;
  let turn = 0;
  const loop = async () => {
    while (running) {
      const subject = subjects[turn++ % subjects.length] ?? '';
      const c = counts.get(subject);
      if (!c) break;
      c.started += 1;
      try {
        const res = await fetch(url, { headers: { 'x-tpp-id': subject } });
        await res.arrayBuffer();
        c.status.set(res.status, (c.status.get(res.status) ?? 0) + 1);
      } catch {
        c.failed += 1;
        await new Promise((r) => setTimeout(r, retryMs));
      } finally {
        c.settled += 1;
      }
    }
  };
  const loops = Array.from({ length: concurrency }, loop);
  return {
    counts,
    answered2xx: () => [...counts.values()].reduce((n, c) => n + answered2xx(c), 0),
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
};

/** 2xx answers of one subject's counts. */
export const answered2xx = (c: SubjectCounts | undefined): number =>
  c ? [...c.status].reduce((n, [status, k]) => n + (status >= 200 && status < 300 ? k : 0), 0) : 0;
