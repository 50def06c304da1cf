import type { Store } from '../db/store';
import type { NewOutboxRow } from '../db/repositories/outbox';
import type { MastershipEnd } from '../domain/copy';
import type { Logger } from '../logger';
import type { Clock } from '../clock';
import { accountFeedRow } from '../trading/dailyLossPause';
import { createEndedMastershipSweeper } from './endedMasterships';

export interface EndedMastership {
  masterAccountId: string;
  reason: MastershipEnd;
  /** Follow links switched off. */
  followers: number;
  /** Close copy signals queued (one per pair and side the followers hold). */
  closes: number;
}

const END_TEXT: Record<MastershipEnd, string> = {
  stopped: 'its owner stopped being a master',
  'not-allowed': 'the server no longer allows its owner to be a master (/setup copy-masters)',
  revoked: 'an admin revoked it',
  left: 'its owner left the server',
  banned: 'its owner was banned from the server',
  'key-revoked': 'the exchange no longer accepts its API key',
};

/**
 * Ending a copy-trading mastership, in one transaction: the master row, its cursors and follow links
 * go (no poll reads it again, no confirmation is offered), the ended mastership is recorded and its
 * first round runs (src/copy/endedMasterships.ts: close copy signals, reduce-only market orders the
 * engine executes like any copy exit, for what each follower holds from it), and the master's owner
 * and every follower are told why. A crash leaves either nothing done or all of it queued. Copy opens
 * of this mastership still queued or polled meanwhile are refused at fan-out (`copy-master-ended`);
 * its exits still go; later rounds close whatever those still on their way leave open.
 */
export function createMasterships(deps: { store: Store; clock: Clock; log: Logger; wake?: () => void }) {
  const log = deps.log.child({ component: 'copy-masters' });
  const sweeper = createEndedMastershipSweeper(deps);

  async function end(masterAccountId: string, reason: MastershipEnd): Promise<EndedMastership | null> {
    const ended = await deps.store.transaction(async (tx) => {
      const copies = tx.copy;
      const removed = await copies.endMaster(masterAccountId);
      if (!removed) return null;
      const accounts = tx.accounts;
      const master = await accounts.byId(masterAccountId);
      const guildId = removed.master.guildId;
      const since = removed.master.createdAt.getTime();
      const now = deps.clock.now();
      await copies.recordEndedMastership({
        masterAccountId,
        mastershipSince: since,
        guildId,
        authorId: master?.ownerId ?? null,
        reason,
        endedAt: new Date(now),
        nextRoundAt: new Date(now),
      });
      // The first round at once: closes for what followers hold now; later rounds (a cycle step)
      // close what copies still on their way leave, and try again where a close did not take.
      const row = await copies.lockEndedMastership(masterAccountId, since);
      const step = row ? await sweeper.roundIn(tx, row) : ({ kind: 'wait' } as const);
      const closing = step.kind === 'close' ? step.closes : [];
      const closes = new Set(closing.map((c) => `${c.symbol}|${c.side}`)).size;
      const holding = new Set(closing.map((row) => row.accountId));
      const notices: NewOutboxRow[] = [];
      const masterName = master?.name ?? 'a removed account';
      if (master) {
        notices.push(accountFeedRow(master, null, { type: 'notice', kind: 'master-ended', accountName: master.name, reason: null, detail: `It is no longer a copy-trading master: ${END_TEXT[reason]}.` }, 'dm'));
      }
      for (const link of removed.links) {
        const follower = await accounts.byId(link.followerAccountId);
        if (!follower) continue;
        const detail = holding.has(follower.id)
          ? `${masterName} is no longer a copy-trading master (${END_TEXT[reason]}): the positions copied from it are being closed at market.`
          : step.kind === 'wait'
            ? `${masterName} is no longer a copy-trading master (${END_TEXT[reason]}): whatever its last copies leave open is closed at market once they are done.`
            : `${masterName} is no longer a copy-trading master (${END_TEXT[reason]}).`;
        notices.push(accountFeedRow(follower, null, { type: 'notice', kind: 'copy-ended', accountName: follower.name, reason: null, detail }, 'dm'));
      }
      await tx.outbox.enqueue(notices);
      return { masterAccountId, reason, followers: removed.links.length, closes };
    });
    if (ended) {
      log.info(ended, 'copy mastership ended');
      if (ended.closes > 0) deps.wake?.();
    }
    return ended;
  }

  return {
    end,

    /** After `/setup copy-masters` changed: members' masterships it no longer allows end. */
    async endNotAllowed(guildId: string, allowed: { mode: 'off' | 'listed' | 'all'; members: readonly string[] }): Promise<EndedMastership[]> {
      const out: EndedMastership[] = [];
      for (const master of await deps.store.copy.mastersWithOwners(guildId)) {
        if (master.grantedBy === 'admin') continue;
        const mayStay = allowed.mode === 'all' || (allowed.mode === 'listed' && allowed.members.includes(master.ownerId));
        if (mayStay) continue;
        const ended = await end(master.accountId, 'not-allowed');
        if (ended) out.push(ended);
      }
      return out;
    },

    /** A member left or was banned: every mastership of theirs in that server ends. */
    async endOfMember(guildId: string, userId: string, reason: 'left' | 'banned'): Promise<EndedMastership[]> {
      const out: EndedMastership[] = [];
      for (const master of await deps.store.copy.mastersWithOwners(guildId)) {
        if (master.ownerId !== userId) continue;
        const ended = await end(master.accountId, reason);
        if (ended) out.push(ended);
      }
      return out;
    },

    /** Masters and their owners, for the membership check. */
    mastersWithOwners: (guildId?: string) => deps.store.copy.mastersWithOwners(guildId),
  };
}

export type Masterships = ReturnType<typeof createMasterships>;
