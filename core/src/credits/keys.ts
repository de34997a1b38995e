/**
 * Valkey keys of one subject. The `{subject}` hash tag keeps all of a subject's keys in
 * one Cluster slot, so every script touches a single slot. Subjects are validated to
 * `[A-Za-z0-9._:-]`, so they cannot contain braces.
 */
const tagOf = (subject: string) => `tg:{${subject}}`;

/** The keys of the whole store (no subject). */
export const storeKeys = {
  /** Present while the store holds restored state; a wipe or a restart without persistence removes it. */
  restored: 'tg:restored',
  /** The token of a restore under way: the marker is written only if this is still there at its end. */
  restoring: 'tg:restoring',
  /** The ids of the processes that produce events to Kafka (gateways, sidecar workers). */
  producers: 'tg:producers',
  /** Prefix of each producer's mark: the restore token it acknowledged, expiring with it. */
  producerMark: 'tg:producer:',
} as const;

/**
 * The keys a debit touches, built alone as this runs once per request: the balance, the
 * real-time buckets, and the applied watermark (which says a restore reached the subject).
 */
export const debitKeys = (subject: string): [balance: string, buckets: string, watermark: string] => {
  const tag = tagOf(subject);
  return [`${tag}:balance`, `${tag}:rt`, `${tag}:wm`];
};

export const creditKeys = (subject: string) => {
  const tag = tagOf(subject);
  const [balance, buckets, watermark] = debitKeys(subject);
  return {
    balance,
    buckets,
    /** Per minute not yet settled, what reconciliation charged from metering beyond the real-time debits. */
    metered: `${tag}:mt`,
    grants: `${tag}:grants`,
    /** The last reconciliation watermark applied (epoch minute); it only moves forward. */
    watermark,
    /** Reconciliation changes whose ledger entries are not confirmed yet: change id -> change. */
    pendingChanges: `${tag}:pending`,
    refund: (requestId: string) => `${tag}:refund:${requestId}`,
  };
};
