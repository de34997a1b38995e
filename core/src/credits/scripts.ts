import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';

/** The Lua scripts of the credit engine; each lives in exactly one file under scripts/. */
export interface Script {
  name: string;
  source: string;
  sha: string;
}

const load = (name: string): Script => {
  const source = readFileSync(new URL(`./scripts/${name}.lua`, import.meta.url), 'utf8');
  return { name, source, sha: createHash('sha1').update(source).digest('hex') };
};

export const scripts = {
  debit: load('debit'),
  refund: load('refund'),
  claimGrant: load('claim-grant'),
  applyGrant: load('apply-grant'),
  reconcile: load('reconcile'),
  balance: load('balance'),
  account: load('account'),
  completeRestore: load('complete-restore'),
  producerMark: load('producer-mark'),
  producersAcked: load('producers-acked'),
} as const;
