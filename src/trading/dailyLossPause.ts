import type { Store } from '../db/store';
import type { NewOutboxRow } from '../db/repositories/outbox';
import { dailyLossPause, utcDayKey } from '../domain/risk';
import { positionFeedEvent, type NoticeEvent, type PositionFeedEvent } from '../domain/feedEvents';
import type { Account } from '../domain/records';

/** A feed row about one account; a direct message goes to its owner. */
export const accountFeedRow = (
  account: Account,
  signalId: string | null,
  payload: PositionFeedEvent | NoticeEvent,
  kind: NewOutboxRow['kind'] = 'event',
): NewOutboxRow => ({
  guildId: account.guildId,
  kind,
  signalId,
  accountId: account.id,
  ...(kind === 'dm' ? { recipientId: account.ownerId } : {}),
  payload,
});

/**
 * Stop-on-loss after any close (a signal's position, a copied one): when the UTC day's realised loss
 * reaches the account's limit, pause it until the next UTC day, with the feed told and the owner sent
 * one direct message (the pause and its messages are written together, once). Returns whether it paused.
 */
export async function pauseOnDailyLoss(store: Store, accountId: string, now: number): Promise<boolean> {
  const account = await store.accounts.byId(accountId);
  if (!account || (account.pausedUntil && account.pausedUntil.getTime() > now)) return false;
  const day = utcDayKey(now);
  const figures = await store.trading.dayFigures(account.id, day);
  const decision = dailyLossPause(
    now,
    {
      trades: figures.trades,
      realisedPnl: figures.realizedPnl,
      startingEquity: figures.startEquity ?? account.lastEquityUsd ?? 0,
    },
    account,
  );
  if (decision.kind !== 'pause') return false;
  // About the account, not one position: no symbol; the event's side is required and set to long.
  const event = positionFeedEvent(account, { symbol: '', side: 'long' }, 'account-paused', {
    pnl: figures.realizedPnl,
    reason: 'paused-daily-loss',
  });
  const notice: NoticeEvent = {
    type: 'notice',
    kind: 'account-paused',
    accountName: account.name,
    reason: 'paused-daily-loss',
    detail: `Today's realised loss reached your limit of ${account.maxDailyLossPct} % of the day's starting equity. New entries resume at ${new Date(decision.untilMs).toISOString().slice(0, 16).replace('T', ' ')} UTC; open positions keep their exits.`,
  };
  await store.positions.pauseForDailyLoss(account.id, day, new Date(decision.untilMs), [
    accountFeedRow(account, null, event),
    accountFeedRow(account, null, notice, 'dm'),
  ]);
  return true;
}
