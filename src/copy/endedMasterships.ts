import type { Store } from '../db/store';
import type { EndedMastershipRow } from '../db/repositories/copy';
import type { NewOutboxRow } from '../db/repositories/outbox';
import { closesOfEndedMaster, copyTradeSignal } from '../domain/copy';
import { endedMastershipStep, type EndedMastershipStep } from '../domain/endedMastership';
import type { Logger } from '../logger';
import type { Clock } from '../clock';
import { accountFeedRow } from '../trading/dailyLossPause';
import { queueSignal } from '../trading/signalIntake';

/**
 * Closes the followers of ended masterships out of what they still hold from them (src/domain/
 * endedMastership.ts decides, this applies). A round runs when the mastership ends (in the ending
 * transaction) and again, as a cycle step, whenever it is due: a copy open that filled after the
 * end, or a close the exchange refused, is closed by a later round, until nothing is held (or a day
 * has passed: the owners are told to close by hand). Rows are locked per round, so two processes
 * never run one round twice.
 */
export function createEndedMastershipSweeper(deps: { store: Store; clock: Clock; log: Logger; wake?: () => void }) {
  const log = deps.log.child({ component: 'copy-masters' });

  /** One round of one ended mastership, inside the caller's transaction (the row locked). */
  async function roundIn(store: Store, row: EndedMastershipRow): Promise<EndedMastershipStep> {
    const copies = store.copy;
    const trading = store.trading;
    const now = deps.clock.now();
    const pendingAccounts = await copies.pendingCopyFollowers(row.masterAccountId, row.mastershipSince);
    const held = await Promise.all(
          (await copies.heldFromMaster(row.masterAccountId, row.mastershipSince)).map(async (h) => ({
            ...h,
            copiedTotal: await trading.copiedQuantity(h.accountId, h.symbol, h.side),
            heldByLiveMasters: await copies.heldByLiveMasterships(h.accountId, h.symbol, h.side, row.masterAccountId),
          })),
        );
    const step = endedMastershipStep({ nowMs: now, endedAtMs: row.endedAt.getTime(), rounds: row.rounds, pendingAccounts, held });
    const key = { master: row.masterAccountId, since: row.mastershipSince };
    if (step.kind === 'settle') {
      await copies.updateEndedMastership(key.master, key.since, { settledAt: new Date(now) });
      if (step.outcome === 'gave-up') {
        log.error({ masterAccountId: row.masterAccountId, rounds: row.rounds }, 'followers of an ended mastership could not be closed out in a day');
        await store.outbox.enqueue(await gaveUpNotices(store, row, [...held.map((h) => h.accountId), ...pendingAccounts]));
      }
      return step;
    }
    if (step.kind === 'close') {
      for (const close of closesOfEndedMaster(row.masterAccountId, row.mastershipSince, `${row.mastershipSince}:r${row.rounds}`, step.closes)) {
        const queued = await queueSignal(
          store,
          { guildId: row.guildId, source: 'copy', sourceRef: close.sourceRef, authorId: row.authorId, channelId: null, signal: copyTradeSignal(close.pair, close.side, close.price), copy: close.copy },
          new Date(now),
        );
        if (queued.kind === 'rejected') throw new Error(`close of an ended mastership is not a valid signal: ${queued.reason}`);
      }
      await copies.updateEndedMastership(key.master, key.since, { rounds: row.rounds + 1, nextRoundAt: new Date(step.nextRoundAt) });
      return step;
    }
    // Wait: a copy of this master is still on its way; look again shortly.
    await copies.updateEndedMastership(key.master, key.since, { nextRoundAt: new Date(now + 5_000) });
    return step;
  }

  async function gaveUpNotices(store: Store, row: EndedMastershipRow, accountIds: string[]): Promise<NewOutboxRow[]> {
    const accounts = store.accounts;
    const out: NewOutboxRow[] = [];
    for (const id of new Set(accountIds)) {
      const account = await accounts.byId(id);
      if (!account) continue;
      out.push(
        accountFeedRow(
          account,
          null,
          {
            type: 'notice',
            kind: 'copy-ended',
            accountName: account.name,
            reason: null,
            detail: 'The positions it copied from a master that is no longer one could not be closed for a day: close them yourself on the exchange (or with /panic).',
          },
          'dm',
        ),
      );
    }
    return out;
  }

  return {
    roundIn,
    /** A cycle step: every due ended mastership gets one round. Answers how many queued closes. */
    async run(): Promise<number> {
      let closing = 0;
      for (const due of await deps.store.copy.dueEndedMasterships(new Date(deps.clock.now()), 50)) {
        try {
          const step = await deps.store.transaction(async (tx) => {
            const row = await tx.copy.lockEndedMastership(due.masterAccountId, due.mastershipSince);
            // Taken by another process, or no longer due: nothing to do here.
            if (!row || row.settledAt !== null || row.nextRoundAt.getTime() > deps.clock.now()) return null;
            return roundIn(tx, row);
          });
          if (step?.kind === 'close') closing += 1;
        } catch (error) {
          log.warn({ err: error, masterAccountId: due.masterAccountId }, 'ended mastership round failed; tried again next cycle');
        }
      }
      if (closing > 0) deps.wake?.();
      return closing;
    },
  };
}

export type EndedMastershipSweeper = ReturnType<typeof createEndedMastershipSweeper>;
