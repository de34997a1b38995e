import { Consumer, ListOffsetTimestamps, ResponseError, type ConsumerGroupJoinPayload } from '@platformatic/kafka';
import { clientOptions, PATIENT, type KafkaConnection } from './connection.ts';
import { toPartitionBatches, type FetchResponse, type PartitionBatch } from './fetch-batches.ts';
import { PartitionLanes } from './partition-lanes.ts';
import { PartitionOwnership } from './partition-ownership.ts';
import { backoffDelay, pause } from '../backoff.ts';

export interface ConsumerGroupOptions {
  groupId: string;
  topic: string;
  /**
   * Handles one batch; resolves true once it is done with it (stored, and committed with
   * `commit` if the handler wants its offset kept). False or a throw: the partition is read
   * again from this batch, so nothing is skipped.
   */
  onBatch: (batch: PartitionBatch) => Promise<boolean>;
  /** Start offsets per partition instead of the committed ones (a replay); others start at the beginning. */
  startAt?: ReadonlyMap<number, bigint> | undefined;
  /** Where a partition without a committed offset starts (default: its first record). */
  fromBeginning?: boolean;
  /** How soon the group gives a silent member's partitions to another (default 30 s). */
  sessionTimeoutMs?: number;
  /** Longest the broker holds a fetch while it has less than `minBytes` (default 250 ms). */
  maxWaitMs?: number;
  minBytes?: number;
  /** Most records per batch (default 10,000). */
  maxBatchRecords?: number;
  maxBytesPerPartition?: number;
  /** Batches (each of its own partition) handled at the same time (default 3). */
  concurrency?: number;
  onAssignment?: (partitions: readonly number[], generation: number) => void;
  onError?: (error: unknown, during: 'join' | 'fetch' | 'batch' | 'leave') => void;
}

interface Fetched {
  batch: PartitionBatch;
  /** The partition's position token when it was fetched: stale once it was revoked or rewound. */
  epoch: number;
  /** Failed batches of the same fetch (the loop backs off after a fetch with failures). */
  round: { failures: number };
}

const CLOSE_TIMEOUT_MS = 5_000;
const OFFSET_OUT_OF_RANGE = 1;

/**
 * A member of a consumer group of one topic: joins, fetches the partitions it is assigned and
 * hands them to `onBatch` per partition, in offset order, one batch of a partition at a time
 * (several partitions side by side). Offsets are committed only by `commit`, by the handler.
 * Each batch carries the group generation it was fetched in; `owns(partition, generation)` is
 * the cheap fence to check just before a write (see PartitionOwnership). Fetching runs one
 * response ahead of the handler, so the handler's writes and the next fetch overlap, and a
 * response's batches start as soon as their partition is free (PartitionLanes).
 */
export class ConsumerGroup {
  readonly #options: ConsumerGroupOptions & Required<Pick<ConsumerGroupOptions, 'maxWaitMs' | 'maxBatchRecords' | 'concurrency'>>;
  readonly #consumer: Consumer;
  readonly #ownership: PartitionOwnership;
  readonly #group: { sessionTimeout: number; heartbeatInterval: number; rebalanceTimeout: number };
  readonly #positions = new Map<number, bigint>();
  readonly #stopping = new AbortController();
  #loop: Promise<void> | undefined;
  #wake: () => void = () => undefined;
  #fetching = false;
  readonly #lanes: PartitionLanes<Fetched>;

  constructor(connection: KafkaConnection, options: ConsumerGroupOptions) {
    this.#options = { maxWaitMs: 250, maxBatchRecords: 10_000, concurrency: 3, ...options };
    const sessionTimeout = options.sessionTimeoutMs ?? 30_000;
    const heartbeatInterval = Math.max(500, Math.floor(sessionTimeout / 10));
    this.#group = { sessionTimeout, heartbeatInterval, rebalanceTimeout: sessionTimeout };
    this.#ownership = new PartitionOwnership(sessionTimeout - heartbeatInterval);
    this.#lanes = new PartitionLanes(this.#options.concurrency, (f) => f.batch.partition, (f) => this.#handleBatch(f));
    this.#consumer = new Consumer({
      ...clientOptions(connection, PATIENT, 'consumer'),
      groupId: options.groupId,
      ...this.#group,
      autocommit: false,
      maxWaitTime: this.#options.maxWaitMs,
      minBytes: options.minBytes ?? 1,
      maxBytes: 64 * 1024 * 1024,
    });
    this.#consumer.on('consumer:group:join', (payload) => this.#joined(payload));
    this.#consumer.on('consumer:heartbeat:end', () => this.#ownership.confirm(Date.now()));
    this.#consumer.on('consumer:group:leave', () => this.#ownership.clear());
    // The library reports a failed rejoin here; the fetch loop joins again.
    this.#consumer.on('error', (err: unknown) => this.#options.onError?.(err, 'join'));
  }

  /** Aborted once `stop` begins: a handler's retries should give up. */
  get stopping(): AbortSignal {
    return this.#stopping.signal;
  }

  /** True while this member is in the group with a current generation. */
  get active(): boolean {
    return this.#consumer.isActive();
  }

  /** True while the last fetch succeeded (false from the first failed one until one succeeds again). */
  get fetching(): boolean {
    return this.#fetching;
  }

  get partitions(): number[] {
    return this.#ownership.partitions;
  }

  /** Joins the group and starts fetching. Throws if the group cannot be joined (call again). */
  async start(): Promise<void> {
    this.#consumer.topics.track(this.#options.topic);
    await this.#consumer.joinGroup(this.#group);
    this.#loop ??= this.#run();
  }

  /**
   * Stops fetching, lets the batches in hand finish (handlers see `stopping` and may commit
   * what they stored), drops what was fetched ahead, and leaves the group so that its
   * partitions move at once.
   */
  async stop(): Promise<void> {
    this.#stopping.abort();
    this.#wake();
    await this.#loop;
    const closed = new AbortController(); // ends the wait below when closing ends first
    const closing = this.#consumer.close(true).catch((err: unknown) => this.#options.onError?.(err, 'leave')).finally(() => closed.abort());
    await Promise.race([closing, pause(CLOSE_TIMEOUT_MS, closed.signal)]);
    this.#ownership.clear();
  }

  /** True while a batch of `partition` fetched in `generation` is still this member's to write and commit. */
  owns(partition: number, generation: number): boolean {
    return this.#consumer.isActive() && this.#ownership.owns(partition, generation, Date.now());
  }

  /** Commits the offset after `batch`; false (nothing committed) when this member no longer owns it. */
  async commit(batch: PartitionBatch): Promise<boolean> {
    if (!this.owns(batch.partition, batch.generation)) return false;
    const { topic, partition, nextOffset: offset, leaderEpoch } = batch;
    await this.#consumer.commit({ offsets: [{ topic, partition, offset, leaderEpoch }] });
    return true;
  }

  #joined({ generationId = this.#consumer.generationId, assignments }: ConsumerGroupJoinPayload): void {
    const partitions = (assignments ?? []).filter((a) => a.topic === this.#options.topic).flatMap((a) => a.partitions);
    for (const p of this.#ownership.assign(partitions, generationId, Date.now())) this.#positions.delete(p);
    this.#options.onAssignment?.(this.#ownership.partitions, generationId);
    this.#wake();
  }

  async #run(): Promise<void> {
    // A fetch is handled at once (each partition after its earlier batches); at most two are held.
    const rounds: Promise<number>[] = [];
    let failures = 0;
    const signal = this.#stopping.signal;
    while (!signal.aborted) {
      try {
        if (!this.#consumer.isActive()) await this.#consumer.joinGroup(this.#group);
        const round = { failures: 0 };
        const fetched = await this.#fetch(round);
        this.#fetching = true;
        rounds.push(this.#handle(fetched, round));
        if (rounds.length > 1) failures = (await rounds.shift()) ? failures + 1 : 0;
        if (failures > 0) await pause(backoffDelay(failures), signal);
      } catch (err) {
        if (signal.aborted) break;
        this.#fetching = false;
        this.#options.onError?.(err, 'fetch');
        this.#consumer.clearMetadata();
        await pause(backoffDelay(failures++), signal);
      }
    }
    await Promise.all(rounds);
    this.#fetching = false;
  }

  /** One fetch of every partition held (one request per leader); [] after a short wait when none is held. */
  async #fetch(round: Fetched['round']): Promise<Fetched[]> {
    const held = this.#ownership.partitions;
    if (held.length === 0) {
      await this.#changeOrTimeout(this.#options.maxWaitMs);
      return [];
    }
    // Taken before anything is awaited: a rebalance meanwhile makes what follows stale, and it is dropped.
    const generation = this.#ownership.generation;
    const epochs = new Map(held.map((p) => [p, this.#ownership.epoch(p)]));
    await this.#loadPositions(held.filter((p) => !this.#positions.has(p)), epochs);
    const positions = new Map(held.flatMap((p) => {
      const at = this.#positions.get(p);
      return at === undefined ? [] : [[p, at] as const];
    }));
    const metadata = await this.#consumer.metadata({ topics: [this.#options.topic] });
    const topic = metadata.topics.get(this.#options.topic);
    if (!topic) throw new Error(`topic ${this.#options.topic} not found`);
    const byLeader = new Map<number, number[]>();
    for (const p of positions.keys()) {
      const leader = topic.partitions[p]?.leader ?? -1;
      byLeader.set(leader, [...(byLeader.get(leader) ?? []), p]);
    }
    const responses = await Promise.all([...byLeader].map(([node, ps]) => this.#fetchFrom(node, topic.id, ps, positions)));
    const fetched: Fetched[] = [];
    for (const response of responses) {
      if (!response) continue;
      const { batches, next } = toPartitionBatches(response, this.#options.topic, positions, generation, this.#options.maxBatchRecords);
      const current = (p: number) => this.#ownership.epoch(p) === epochs.get(p) && this.#positions.get(p) === positions.get(p);
      for (const batch of batches) if (current(batch.partition)) fetched.push({ batch, epoch: epochs.get(batch.partition) ?? 0, round });
      for (const [p, at] of next) if (current(p)) this.#positions.set(p, at);
    }
    return fetched;
  }

  async #fetchFrom(node: number, topicId: string, partitions: number[], positions: ReadonlyMap<number, bigint>): Promise<FetchResponse | undefined> {
    try {
      return await this.#consumer.fetch({
        node,
        maxWaitTime: this.#options.maxWaitMs,
        topics: [{
          topicId,
          partitions: partitions.map((partition) => ({
            partition,
            fetchOffset: positions.get(partition) ?? 0n,
            partitionMaxBytes: this.#options.maxBytesPerPartition ?? 16 * 1024 * 1024,
            currentLeaderEpoch: -1,
            lastFetchedEpoch: -1,
          })),
        }],
      });
    } catch (err) {
      const response = err instanceof ResponseError ? (err.response as FetchResponse | undefined) : undefined;
      const outOfRange = (response?.responses ?? []).flatMap((t) => t.partitions).filter((p) => p.errorCode === OFFSET_OUT_OF_RANGE);
      if (outOfRange.length === 0) throw err;
      // The records were deleted by retention (or the offset was never valid): start over where the log starts.
      for (const p of outOfRange) {
        this.#ownership.invalidate(p.partitionIndex);
        this.#positions.delete(p.partitionIndex);
      }
      await this.#loadPositions(outOfRange.map((p) => p.partitionIndex), undefined, true);
      return undefined;
    }
  }

  /**
   * Positions of newly held partitions: the committed offset, else `startAt`, else the first or
   * next record. A partition revoked or rewound while they were looked up (its epoch moved on
   * from `epochs`) is left alone.
   */
  async #loadPositions(partitions: number[], epochs?: ReadonlyMap<number, number>, ignoreCommitted = false): Promise<void> {
    if (partitions.length === 0) return;
    const topic = this.#options.topic;
    const committed = this.#options.startAt || ignoreCommitted
      ? undefined
      : (await this.#consumer.listCommittedOffsets({ topics: [{ topic, partitions }] })).get(topic);
    const fallback = this.#options.fromBeginning === false ? ListOffsetTimestamps.LATEST : ListOffsetTimestamps.EARLIEST;
    const edge = (await this.#consumer.listOffsets({ topics: [topic], partitions: { [topic]: partitions }, timestamp: fallback })).get(topic);
    for (const p of partitions) {
      if (epochs && epochs.get(p) !== this.#ownership.epoch(p)) continue;
      const from = committed?.[p] ?? -1n;
      const start = this.#options.startAt?.get(p);
      this.#positions.set(p, from >= 0n ? from : start ?? edge?.[p] ?? 0n);
    }
  }

  /** Handles one fetch's batches, each partition after what earlier fetches gave it; resolves with the failures. */
  async #handle(fetched: Fetched[], round: { failures: number }): Promise<number> {
    await this.#lanes.run(fetched);
    return round.failures;
  }

  /** One batch: false (and the partition read again from it) unless the handler is done with it. */
  async #handleBatch({ batch, epoch, round }: Fetched): Promise<boolean> {
    // Stopping, or the partition was revoked or rewound after this batch was fetched: leave it.
    if (this.#stopping.signal.aborted || this.#ownership.epoch(batch.partition) !== epoch) return false;
    let done = false;
    try {
      done = await this.#options.onBatch(batch);
    } catch (err) {
      this.#options.onError?.(err, 'batch');
      round.failures++;
    }
    if (!done) this.#rewind(batch);
    return done;
  }

  /** The partition is read again from `batch`; what was fetched after it is dropped. */
  #rewind(batch: PartitionBatch): void {
    this.#ownership.invalidate(batch.partition);
    const first = batch.records[0]?.offset;
    if (first !== undefined && this.#ownership.partitions.includes(batch.partition)) this.#positions.set(batch.partition, first);
  }

  #changeOrTimeout(ms: number): Promise<void> {
    const { promise, resolve } = Promise.withResolvers<void>();
    const timer = setTimeout(resolve, ms);
    this.#wake = () => {
      clearTimeout(timer);
      resolve();
    };
    return promise;
  }
}
