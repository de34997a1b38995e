/**
 * Valkey keys of one subject. The `{subject}` hash tag keeps all of a subject's keys in
 * one Cluster slot, so every script touches a single slot. Subjects are validated to
 * `[A-Za-z0-9._:-]`, so they cannot contain braces.
 */
export const creditKeys = (subject: string) => {
  const tag = `tg:{${subject}}`;
  return {
    balance: `${tag}:balance`,
    buckets: `${tag}:rt`,
    grants: `${tag}:grants`,
    /** The last reconciliation watermark applied (epoch minute); it only moves forward. */
    watermark: `${tag}:wm`,
    /** Reconciliation changes whose ledger entries are not confirmed yet: change id -> change. */
    pendingChanges: `${tag}:pending`,
    refund: (requestId: string) => `${tag}:refund:${requestId}`,
  };
};
