import { Command, Redis } from 'iovalkey';
import { randomUUID } from 'node:crypto';
import {
  StoreNotRestoredError,
  type AccountState,
  type ApplyGrantResult,
  type CreditStore,
  type DebitResult,
  type GrantClaim,
  type ReconcileRequest,
  type ReconcileResult,
  type RefundResult,
  type RestoreStatus,
} from './credit-store.ts';
import { creditKeys, debitKeys, storeKeys } from './keys.ts';
import { assertSafeCredits } from './safe-credits.ts';
import { scripts, type Script } from './scripts.ts';
import { minuteMap, parseAccountReply, parseReconcileReply } from './valkey-replies.ts';
import { settleDebit, startBudget, type BudgetGroup, type PendingDebit } from './debit-turn.ts';

export interface ValkeyStoreOptions {
  url: string;
  /** Refund markers live this long; a refund is only ever retried within a request's lifetime. */
  refundMarkerTtlSeconds?: number;
}

type Reply = number[] | string;

/** Sends one EVALSHA and resolves with its reply. */
type EvalSha = (sha: string, keys: string[], args: (string | number)[]) => Promise<unknown>;

/** Most debits in one script call; a turn with more sends several calls. */
const MAX_DEBITS_PER_CALL = 512;

/** debit.lua's answer for a debit whose keys hold something else (wrong type, not an integer): that debit fails, not its batch. */
const DEBIT_FAILED = -1;
/** debit.lua's answer for a subject the store cannot vouch for (it lost its state, no restore reached the subject). */
const DEBIT_NOT_RESTORED = -2;

/**
 * Credit store on Valkey. Scripts are loaded once and called by SHA; a server that lost
 * them (restart, SCRIPT FLUSH, failover) answers NOSCRIPT and the script is loaded again.
 *
 * Commands are never queued while disconnected and never resent after a reconnect: a debit
 * must either answer within the caller's budget or fail, because a late, silent replay
 * would charge a call that the store-error policy already decided.
 */
export class ValkeyCreditStore implements CreditStore {
  readonly kind = 'valkey' as const;
  readonly client: Redis;
  readonly #markerTtl: number;
  #pendingDebits: PendingDebit[] = [];
  /** The budget timers of the turn under way, by budget; the next turn starts its own. */
  readonly #turnBudgets = new Map<number, BudgetGroup>();

  constructor({ url, refundMarkerTtlSeconds = 3600 }: ValkeyStoreOptions) {
    this.#markerTtl = refundMarkerTtlSeconds;
    this.client = new Redis(url, {
      // Commands issued in the same tick share one write: the debit round trip is amortised.
      enableAutoPipelining: true,
      enableOfflineQueue: false,
      autoResendUnfulfilledCommands: false,
      maxRetriesPerRequest: 0,
      connectTimeout: 2_000,
      retryStrategy: (times) => Math.min(50 * times, 1_000),
      lazyConnect: false,
    });
    // Connection errors surface on the commands; without a listener they would crash the process.
    this.client.on('error', () => {});
  }

  /** Resolves once connected; rejects if not connected within `timeoutMs`. */
  async connected(timeoutMs = 5_000): Promise<void> {
    if (this.client.status === 'ready') return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.client.off('ready', onReady);
        reject(new Error(`Valkey not reachable within ${timeoutMs} ms`));
      }, timeoutMs);
      const onReady = () => {
        clearTimeout(timer);
        resolve();
      };
      this.client.once('ready', onReady);
    });
  }

  /**
   * Calls a script by SHA, loading it once more after NOSCRIPT (nothing ran). `send` writes the
   * EVALSHA: through the client's auto-pipelining by default, or at once (`#evalshaNow`).
   */
  async #run(script: Script, keys: string[], args: (string | number)[], send: EvalSha = this.#evalshaPipelined): Promise<Reply> {
    try {
      return (await send(script.sha, keys, args)) as Reply;
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      await this.client.script('LOAD', script.source);
      return (await send(script.sha, keys, args)) as Reply;
    }
  }

  readonly #evalshaPipelined: EvalSha = (sha, keys, args) => this.client.evalsha(sha, keys.length, ...keys, ...args);

  /** Writes the EVALSHA now, without auto-pipelining's extra turn. */
  readonly #evalshaNow: EvalSha = (sha, keys, args) => {
    const command = new Command('evalsha', [sha, keys.length, ...keys, ...args]);
    this.client.sendCommand(command);
    return command.promise;
  };

  /**
   * Debits that arrive in the same turn of the event loop go to Valkey as one call of
   * debit.lua (one per minute, should the turn cross one), which applies them in arrival
   * order, each atomically: one command, one write and one reply per turn instead of one
   * per request, with each subject's keys sent once. The call is written at the
   * end of the turn (setImmediate), bypassing the client's auto-pipelining, which would
   * defer it by another turn. A debit waits for nothing but the end of its own turn.
   *
   * The debits of a turn with the same budget share one timer, started by the first of
   * them: a later debit of that turn may be given up on earlier than its own budget by at
   * most the length of the turn, never later. One timer per turn, not one per request.
   */
  debit(subject: string, cost: number, minute: number, budgetMs?: number): Promise<DebitResult> {
    return new Promise((resolve, reject) => {
      const d: PendingDebit = { subject, cost, minute, resolve, reject, settled: false, budget: undefined };
      if (this.#pendingDebits.push(d) === 1) setImmediate(this.#flushDebits);
      if (budgetMs !== undefined) {
        const group = this.#turnBudgets.get(budgetMs) ?? this.#startBudget(budgetMs);
        group.debits.push(d);
        group.open++;
        d.budget = group;
      }
    });
  }

  #startBudget(ms: number): BudgetGroup {
    const group = startBudget(ms);
    this.#turnBudgets.set(ms, group);
    return group;
  }

  /** One debit.lua call per run of debits with the same minute (at most MAX_DEBITS_PER_CALL), in arrival order. */
  readonly #flushDebits = (): void => {
    const pending = this.#pendingDebits;
    this.#pendingDebits = [];
    this.#turnBudgets.clear();
    let from = 0;
    while (from < pending.length) {
      const minute = (pending[from] as PendingDebit).minute;
      let to = from + 1;
      while (to < pending.length && to - from < MAX_DEBITS_PER_CALL && (pending[to] as PendingDebit).minute === minute) to++;
      this.#sendDebitCall(from === 0 && to === pending.length ? pending : pending.slice(from, to), minute);
      from = to;
    }
  };

  /** Debits of one minute: each subject's keys go once, each debit as its subject's number and its cost. */
  #sendDebitCall(call: PendingDebit[], minute: number): void {
    const keys: string[] = [storeKeys.restored];
    const args: number[] = [minute];
    const subjectNumber = new Map<string, number>();
    for (const d of call) {
      let j = subjectNumber.get(d.subject);
      if (j === undefined) {
        j = subjectNumber.size + 1;
        subjectNumber.set(d.subject, j);
        keys.push(...debitKeys(d.subject));
      }
      args.push(j, d.cost);
    }
    void this.#run(scripts.debit, keys, args, this.#evalshaNow).then(
      (reply) => {
        const flat = reply as number[];
        call.forEach((d, i) => {
          const allowed = flat[2 * i];
          if (allowed === DEBIT_FAILED) settleDebit(d, new Error(`debit failed: ${String(flat[2 * i + 1])}`));
          else if (allowed === DEBIT_NOT_RESTORED) settleDebit(d, new StoreNotRestoredError(d.subject));
          else settleDebit(d, { allowed: allowed === 1, balance: Number(flat[2 * i + 1]) });
        });
      },
      (err: unknown) => {
        const error = err instanceof Error ? err : new Error(String(err));
        for (const d of call) settleDebit(d, error);
      },
    );
  }

  async refund(subject: string, cost: number, minute: number, requestId: string): Promise<RefundResult> {
    const k = creditKeys(subject);
    const [refunded = 0, balance = 0] = (await this.#run(
      scripts.refund,
      [k.balance, k.buckets, k.refund(requestId)],
      [cost, minute, this.#markerTtl],
    )) as number[];
    return { refunded: refunded === 1, balance };
  }

  async claimGrant(subject: string, key: string, bodyHash: string): Promise<GrantClaim> {
    return (await this.#run(scripts.claimGrant, [creditKeys(subject).grants], [key, bodyHash])) as GrantClaim;
  }

  async applyGrant(subject: string, key: string, bodyHash: string, amount: number): Promise<ApplyGrantResult> {
    const k = creditKeys(subject);
    const [status = 0, balance = 0] = (await this.#run(scripts.applyGrant, [k.grants, k.balance], [key, bodyHash, amount])) as number[];
    return { status: status === 1 ? 'applied' : status === 0 ? 'already' : status === -2 ? 'overflow' : 'conflict', balance };
  }

  async balance(subject: string): Promise<number> {
    const k = creditKeys(subject);
    const [decidable = 0, balance = 0] = (await this.#run(scripts.balance, [k.balance, k.watermark, storeKeys.restored], [])) as (number | string)[];
    if (Number(decidable) !== 1) throw new StoreNotRestoredError(subject);
    return Number(balance);
  }

  async account(subject: string): Promise<AccountState> {
    const k = creditKeys(subject);
    const reply = (await this.#run(scripts.account, [k.balance, k.watermark, storeKeys.restored, k.buckets, k.pendingChanges], [])) as (number | string)[];
    const account = parseAccountReply(reply);
    if (!account) throw new StoreNotRestoredError(subject);
    return account;
  }

  /** Calls made together share one write (auto-pipelining), so a batch of subjects costs one round trip. */
  async reconcile(subject: string, { target, watermarkMinute, meteredFrom, counted = [], changeId = randomUUID(), restore }: ReconcileRequest): Promise<ReconcileResult> {
    // Checked here, before Lua sees it: a number beyond 2^53 was already rounded on its way in.
    assertSafeCredits(target, 'a reconciliation target');
    const k = creditKeys(subject);
    const metered = [...(meteredFrom ?? [])].filter(([minute]) => minute >= watermarkMinute);
    const args = [
      target,
      watermarkMinute,
      changeId,
      restore ? restore.ledgerBase : '',
      metered.length,
      ...metered.flat(),
      ...counted.flatMap((g) => [g.key, g.bodyHash]),
    ];
    const keys = [k.balance, k.buckets, k.watermark, k.grants, k.pendingChanges, k.metered, storeKeys.restored];
    return parseReconcileReply((await this.#run(scripts.reconcile, keys, args)) as (number | string)[]);
  }

  async confirmChanges(subject: string, changeIds: readonly string[]): Promise<void> {
    if (changeIds.length > 0) await this.client.hdel(creditKeys(subject).pendingChanges, ...changeIds);
  }

  async realtimeBuckets(subject: string): Promise<Map<number, number>> {
    return minuteMap(await this.client.hgetall(creditKeys(subject).buckets));
  }

  async meteredCharges(subject: string): Promise<Map<number, number>> {
    return minuteMap(await this.client.hgetall(creditKeys(subject).metered));
  }

  /** One MGET: cheap enough for the sync worker to poll often. */
  async restoreStatus(): Promise<RestoreStatus> {
    const [restored, restoring] = await this.client.mget(storeKeys.restored, storeKeys.restoring);
    return { restored: restored !== null, restoredBy: restored ?? undefined, restoring: restoring ?? undefined };
  }

  /** SET NX GET: the first restore after a wipe writes its token; a concurrent one joins it. */
  async beginRestore(): Promise<string> {
    const token = randomUUID();
    const existing = (await this.client.call('SET', storeKeys.restoring, token, 'NX', 'GET')) as string | null;
    return existing ?? token;
  }

  async completeRestore(token: string): Promise<boolean> {
    return Number(await this.#run(scripts.completeRestore, [storeKeys.restoring, storeKeys.restored], [token])) === 1;
  }

  /** Writes a producer's mark (producer-mark.lua); the token of the restore under way, if any. */
  async markProducer(id: string, acknowledged: string, ttlMs: number): Promise<string | undefined> {
    const reply = await this.#run(scripts.producerMark, [storeKeys.producers, storeKeys.producerMark + id, storeKeys.restoring], [id, acknowledged, ttlMs]);
    return typeof reply === 'string' ? reply : undefined;
  }

  /** A producer that stops takes its mark with it: a restore does not wait for it. */
  async removeProducer(id: string): Promise<void> {
    await this.client.multi().srem(storeKeys.producers, id).del(storeKeys.producerMark + id).exec();
  }

  /** Whether every live producer acknowledged `token` (producers-acked.lua). */
  async producersAcked(token: string): Promise<{ status: 'acked' | 'waiting' | 'superseded'; waiting: number }> {
    const [status, waiting] = (await this.#run(scripts.producersAcked, [storeKeys.producers, storeKeys.restoring], [token, storeKeys.producerMark])) as [number, number];
    return { status: status === 1 ? 'acked' : status === 0 ? 'waiting' : 'superseded', waiting: Number(waiting) };
  }

  async ping(): Promise<boolean> {
    try {
      return (await this.client.ping()) === 'PONG';
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    this.client.disconnect();
  }
}
