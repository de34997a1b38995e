/**
 * Valkey keys of one subject. The `{subject}` hash tag keeps all of a subject's keys in
 * one Cluster slot, so every script touches a single slot. Subjects are validated to
 * `[A-Za-z0-9._:-]`, so they cannot contain braces.
 */
const tagOf = (subject: string) => `tg:{${subject}}`;

/** The balance and real-time buckets keys, the two a debit touches: built alone, as this runs once per request. */
export const debitKeys = (subject: string): [balance: string, buckets: string] => {
  const tag = tagOf(subject);
  return [`${tag}:balance`, `${tag}:rt`];
};

export const creditKeys = (subject: string) => {
  const tag = tagOf(subject);
  const [balance, buckets] = debitKeys(subject);
  return {
    balance,
    buckets,
    grants: `${tag}:grants`,
    /** The last reconciliation watermark applied (epoch minute); it only moves forward. */
    watermark: `${tag}:wm`,
    /** Reconciliation changes whose ledger entries are not confirmed yet: change id -> change. */
    pendingChanges: `${tag}:pending`,
    refund: (requestId: string) => `${tag}:refund:${requestId}`,
  };
};
