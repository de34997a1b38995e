import type { DebitResult } from './credit-store.ts';
import { giveUpAfterOnePoll } from './settle-within.ts';

/** The Valkey store's debits of one event-loop turn, and the budget timers they share. */
export interface PendingDebit {
  subject: string;
  cost: number;
  minute: number;
  resolve: (result: DebitResult) => void;
  reject: (err: unknown) => void;
  settled: boolean;
  budget: BudgetGroup | undefined;
}

/** The debits of one turn that share a budget, and the one timer that bounds them all. */
export interface BudgetGroup {
  debits: PendingDebit[];
  timer: NodeJS.Timeout;
  /** Debits of the group not yet settled; the timer is cleared when none is left. */
  open: number;
}

/** The budget of a group ran out: after one poll of pending I/O, what is still open fails. */
const expireBudget = (group: BudgetGroup, ms: number): void => {
  giveUpAfterOnePoll((err) => {
    for (const d of group.debits) settleDebit(d, err);
  }, ms);
};

/** Settles a debit once: with its result, or with an error. */
export const settleDebit = (d: PendingDebit, outcome: DebitResult | Error): void => {
  if (d.settled) return;
  d.settled = true;
  if (d.budget && --d.budget.open === 0) clearTimeout(d.budget.timer);
  if (outcome instanceof Error) d.reject(outcome);
  else d.resolve(outcome);
};

/** A budget group for the turn's debits with this budget: one timer, started now. */
export const startBudget = (ms: number): BudgetGroup => {
  const group: BudgetGroup = { debits: [], timer: setTimeout(() => expireBudget(group, ms), ms), open: 0 };
  return group;
};
