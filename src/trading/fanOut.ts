import { randomUUID } from 'node:crypto';
import type { Store } from '../db/store';
import type { NewExecution } from '../db/repositories/trading';
import { isCopyExit } from '../domain/copy';
import { copyFollowerIds, signalTargets } from '../domain/signalTargets';
import type { ReasonCode } from '../domain/reasons';
import type { Logger } from '../logger';
import type { Clock } from '../clock';
import { skippedOrderEvent } from '../domain/feedEvents';
import { summaryOutboxRow } from './summary';
import type { Signal } from '../domain/records';

/**
 * Creates one execution per enabled account of the signal's server (copy: its followers), the
 * skipped accounts' feed rows, and completes the signal when nothing is left to do, all in `tx`
 * (the transaction that claimed the signal: a crash in between leaves nothing half done).
 */
export async function fanOutSignal(tx: Store, signal: Signal, nowMs: number, log: Logger): Promise<void> {
  const trading = tx.trading;
  const guild = await tx.guilds.get(signal.guildId);
  const accounts = tx.accounts;
  // A copy signal goes to its followers, switched on or not: a follower always follows the master out.
  const candidates =
    signal.source === 'copy'
      ? (await accounts.byIds(copyFollowerIds(signal.copy))).filter((a) => a.guildId === signal.guildId)
      : await accounts.listEnabledInGuild(signal.guildId);
  const targets = signalTargets(signal, candidates);
  // A copy of a master whose mastership ended (queued before the end, or by a poll that overlapped
  // it) opens nothing: the end's own closes take the followers out.
  const masterEnded = signal.source === 'copy' && !mastershipLives(signal, await tx.copy.master(copyMasterId(signal)));
  const rows: NewExecution[] = targets.map((account) => {
    // Pauses and the off switch stop new positions; exits (a copy's reduce or close) always go.
    // (The signal itself was validated at intake, the one validation.)
    const exit = signal.source === 'copy' && isCopyExit(signal.copy, account.id);
    const skipReason = exit
      ? null
      : masterEnded
        ? 'copy-master-ended'
        : !account.enabled
          ? 'account-disabled'
          : guild?.paused
            ? 'server-paused'
            : account.pausedUntil && account.pausedUntil.getTime() > nowMs
              ? 'paused-daily-loss'
              : null;
    return {
      id: randomUUID(),
      signalId: signal.id,
      accountId: account.id,
      ownerId: account.ownerId,
      status: skipReason ? 'skipped' : 'pending',
      reason: skipReason,
    };
  });
  await trading.createExecutions(rows);
  const skipped = rows.filter((row) => row.status === 'skipped');
  if (skipped.length > 0) {
    const byId = new Map(targets.map((account) => [account.id, account]));
    await trading.insertFeed(
      skipped.map((row) => {
        const account = byId.get(row.accountId)!;
        return {
          guildId: signal.guildId,
          kind: 'order' as const,
          signalId: signal.id,
          accountId: account.id,
          payload: skippedOrderEvent(signal, account, row.reason as ReasonCode),
        };
      }),
    );
  }
  await trading.completeIfDoneLocked(signal.id, (summaryRows) => summaryOutboxRow(signal, summaryRows, true), new Date(nowMs));
  log.info({ signalId: signal.id, accounts: rows.length, skipped: skipped.length }, 'signal fanned out');
}

const copyMasterId = (signal: Signal): string => signal.copy?.masterAccountId ?? '';

/** The copy's mastership is the master's current one (copies written before it was carried: any). */
function mastershipLives(signal: Signal, master: { createdAt: Date } | null): boolean {
  if (!master) return false;
  const since = signal.copy?.mastershipSince;
  return since === undefined || since === master.createdAt.getTime();
}

/**
 * Claims up to `limit` signals for `instanceId`, each with its fan-out in the same transaction. A
 * fan-out that fails rolls back whole (the signal stays pending, tried again next cycle) and never
 * stops the other signals. Answers how many were claimed.
 */
export async function claimAndFanOut(store: Store, instanceId: string, clock: Clock, log: Logger, limit: number): Promise<number> {
  const failed: string[] = [];
  let claimed = 0;
  while (claimed < limit) {
    let signalId: string | null = null;
    try {
      const signal = await store.transaction(async (tx) => {
        const row = await tx.signals.claimNext(instanceId, new Date(clock.now()), failed);
        signalId = row?.id ?? null;
        if (row) await fanOutSignal(tx, row, clock.now(), log);
        return row;
      });
      if (!signal) return claimed;
      claimed += 1;
    } catch (error) {
      if (signalId === null) throw error;
      failed.push(signalId);
      log.error({ err: error, signalId }, 'fan-out failed; the signal stays pending for the next cycle');
    }
  }
  return claimed;
}
