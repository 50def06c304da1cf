/**
 * Each table's rows are exactly the domain's record (src/domain/records.ts): a column added to one
 * side only, or typed differently, fails to compile here. So the repositories hand the domain types
 * out as they are, with no copy.
 */
import type { Account, Execution, Member, Order, Position, Signal } from '../domain/records';
import type { exchangeAccounts, executions, orders, positions, signals, users } from './schema';

/** true only when each is assignable to the other; `never` otherwise, which `true` cannot be. */
type Same<Row, Domain> = [Row] extends [Domain] ? ([Domain] extends [Row] ? true : never) : never;

export const rowsAreRecords: [
  Same<typeof exchangeAccounts.$inferSelect, Account>,
  Same<typeof signals.$inferSelect, Signal>,
  Same<typeof executions.$inferSelect, Execution>,
  Same<typeof orders.$inferSelect, Order>,
  Same<typeof positions.$inferSelect, Position>,
  Same<typeof users.$inferSelect, Member>,
] = [true, true, true, true, true, true];
