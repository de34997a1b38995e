import type { AccountState, PendingChange, ReconcileResult } from './credit-store.ts';

/** The replies of the Valkey scripts, read into the store's types. */
type Flat = readonly (number | string)[];

/** "minute:cost,minute:cost..." as reconcile.lua writes it. */
const minuteCosts = (text: string): Map<number, number> =>
  new Map(
    text
      .split(',')
      .filter(Boolean)
      .map((pair) => pair.split(':').map(Number) as [number, number]),
  );

/** A pending change as reconcile.lua keeps it (see its header for the fields). */
export const parsePendingChange = (changeId: string, text: string): PendingChange => {
  const [kind = 'sync', watermark = '0', previous = '-1', before = '0', after = '0', debited = '0', fromMetering = '0', implied = '', settled = '', raised = ''] =
    text.split('|');
  const previousMinute = Number(previous);
  return {
    changeId,
    kind: kind === 'restore' ? 'restore' : 'sync',
    watermarkMinute: Number(watermark),
    previousWatermarkMinute: previousMinute < 0 ? undefined : previousMinute,
    before: Number(before),
    after: Number(after),
    debited: Number(debited),
    settled: minuteCosts(settled),
    settledFromMetering: Number(fromMetering),
    raised: minuteCosts(raised),
    implied: implied === '' ? undefined : Number(implied),
  };
};

const pendingFrom = (reply: Flat, from: number): PendingChange[] => {
  const pending: PendingChange[] = [];
  for (let i = from; i + 1 < reply.length; i += 2) pending.push(parsePendingChange(String(reply[i]), String(reply[i + 1])));
  return pending;
};

const STATUS = { 1: 'applied', 0: 'stale', [-2]: 'not-restored' } as const;

/** reconcile.lua's reply. */
export const parseReconcileReply = (reply: Flat): ReconcileResult => {
  const [code = 0, before = 0, after = 0, realtimeAtOrAfter = 0, raised = 0, previous = -1, dropped = 0] = reply.slice(0, 7).map(Number);
  const droppedBuckets = new Map<number, number>();
  const changesFrom = 7 + 2 * dropped;
  for (let i = 7; i < changesFrom; i += 2) droppedBuckets.set(Number(reply[i]), Number(reply[i + 1]));
  const status = STATUS[code as keyof typeof STATUS];
  return {
    status,
    applied: status === 'applied',
    before,
    after,
    drift: after - before,
    realtimeAtOrAfter,
    raised,
    previousWatermark: previous < 0 ? undefined : previous,
    droppedBuckets,
    pending: pendingFrom(reply, changesFrom),
  };
};

/** account.lua's reply; undefined when the store cannot vouch for the subject. */
export const parseAccountReply = (reply: Flat): AccountState | undefined => {
  if (Number(reply[0]) !== 1) return undefined;
  const n = Number(reply[2]);
  const unsettled = new Map<number, number>();
  for (let i = 3; i < 3 + 2 * n; i += 2) unsettled.set(Number(reply[i]), Number(reply[i + 1]));
  return { balance: Number(reply[1]), unsettled, pending: pendingFrom(reply, 3 + 2 * n) };
};

/** A hash of minute -> cost as HGETALL gives it. */
export const minuteMap = (raw: Record<string, string>): Map<number, number> =>
  new Map(Object.entries(raw).map(([minute, cost]) => [Number(minute), Number(cost)]));
