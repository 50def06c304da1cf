import type { ReasonCode } from '../domain/reasons';
import { isReasonCode } from '../domain/reasons';
import type { NewOutboxRow } from '../db/repositories/outbox';
import type { SignalsRepository } from '../db/repositories/signals';
import type { SummaryRow, TradingRepository } from '../db/repositories/trading';
import { signalTags, type SummaryFeedEvent } from '../domain/feedEvents';
import type { Signal } from '../domain/records';

const asReason = (reason: string | null): ReasonCode | null => (reason && isReasonCode(reason) ? reason : null);

/** Pure: one signal's executions → the summary the feed shows (filled x of y, who skipped and why). */
export function buildSummary(
  signal: { id: string; symbol: string; side: 'long' | 'short'; source: string; copy?: unknown } & Parameters<typeof signalTags>[0],
  rows: SummaryRow[],
  final: boolean,
): SummaryFeedEvent {
  const line = (row: SummaryRow) => ({ accountName: row.accountName, ownerId: row.ownerId, reason: asReason(row.reason) });
  return {
    type: 'summary',
    ...signalTags(signal),
    signalId: signal.id,
    symbol: signal.symbol,
    side: signal.side,
    source: signal.source,
    total: rows.length,
    filled: rows.filter((row) => row.status === 'placed' && row.filled).length,
    placed: rows.filter((row) => row.status === 'placed' || row.status === 'dry-run').length,
    pending: rows.filter((row) => row.status === 'pending' || row.status === 'in-flight').length,
    skipped: rows.filter((row) => row.status === 'skipped' || row.status === 'cancelled').map(line),
    failed: rows.filter((row) => row.status === 'failed' || row.status === 'not-placed').map(line),
    sharedNotional: rows
      .filter((row) => row.status === 'placed' && row.shareAmounts && row.notional !== null)
      .reduce((sum, row) => sum + (row.notional ?? 0), 0),
    final,
  };
}

/** The outbox row of a signal's summary (posted, or edited in place once it is final). */
export function summaryOutboxRow(signal: Signal, rows: SummaryRow[], final: boolean): NewOutboxRow {
  return { guildId: signal.guildId, kind: 'summary', signalId: signal.id, accountId: null, payload: buildSummary(signal, rows, final) };
}

/** Summaries still waiting after the timeout are posted with the pending count (then edited when final). */
export async function postOverdueSummaries(
  signals: Pick<SignalsRepository, 'listExecuting'>,
  trading: Pick<TradingRepository, 'hasSummary' | 'summaryRows' | 'insertFeed'>,
  nowMs: number,
  timeoutMs: number,
): Promise<void> {
  for (const signal of await signals.listExecuting()) {
    const claimedAt = signal.claimedAt?.getTime() ?? signal.createdAt.getTime();
    if (nowMs - claimedAt < timeoutMs) continue;
    if (await trading.hasSummary(signal.id)) continue;
    const rows = await trading.summaryRows(signal.id);
    // No execution yet (a signal an older version left half claimed): the fan-out repairs it first.
    if (rows.length === 0) continue;
    await trading.insertFeed([summaryOutboxRow(signal, rows, false)]);
  }
}
