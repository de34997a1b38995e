import { Pool } from 'undici';

/** What one paced run offered and what came back. */
export interface PacedRun {
  /** Requests per second asked for. */
  offered: number;
  durationS: number;
  sent: number;
  ok: number;
  /** Answers that were not 2xx, and requests without an answer. */
  failed: number;
  /** Requests not sent because `maxInFlight` were waiting: the server fell behind the rate. */
  skipped: number;
  /** 2xx answers per second over the run. */
  achieved: number;
}

/**
 * A fixed request rate (wrk sends as fast as the server answers): every 2 ms the requests due
 * so far are sent over a pool of keep-alive connections. A server that falls behind shows as
 * requests skipped at the `maxInFlight` bound, not as a queue that grows without end.
 */
export const runPaced = async ({
  url,
  headers,
  rate,
  durationS,
  connections = 64,
  maxInFlight = 1_024,
}: {
  url: string;
  headers: Record<string, string>;
  rate: number;
  durationS: number;
  connections?: number;
  maxInFlight?: number;
}): Promise<PacedRun> => {
  const target = new URL(url);
  const pool = new Pool(target.origin, { connections, pipelining: 1 });
  const path = `${target.pathname}${target.search}`;
  let sent = 0;
  let ok = 0;
  let failed = 0;
  let skipped = 0;
  let inFlight = 0;
  const send = () => {
    sent += 1;
    inFlight += 1;
    pool
      .request({ path, method: 'GET', headers })
      .then(
        async (res) => {
          await res.body.dump();
          if (res.statusCode >= 200 && res.statusCode < 300) ok += 1;
          else failed += 1;
        },
        () => {
          failed += 1;
        },
      )
      .finally(() => (inFlight -= 1));
  };
  const started = performance.now();
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const elapsed = performance.now() - started;
      const due = Math.floor((Math.min(elapsed, durationS * 1000) / 1000) * rate);
      while (sent + skipped < due) {
        if (inFlight >= maxInFlight) skipped += 1;
        else send();
      }
      if (elapsed >= durationS * 1000) {
        clearInterval(timer);
        resolve();
      }
    }, 2);
  });
  const drainUntil = performance.now() + 10_000;
  while (inFlight > 0 && performance.now() < drainUntil) await new Promise((r) => setTimeout(r, 10));
  await pool.close();
  return { offered: rate, durationS, sent, ok, failed, skipped, achieved: ok / durationS };
};
