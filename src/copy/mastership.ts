import { randomUUID } from 'node:crypto';
import type { Database } from '../db/client';
import { accountsRepository } from '../db/repositories/accounts';
import { copyRepository } from '../db/repositories/copy';
import { enqueueFeed, type NewOutboxRow } from '../db/repositories/outbox';
import { signalsRepository } from '../db/repositories/signals';
import { closesOfEndedMaster, type MastershipEnd } from '../domain/copy';
import type { TradeSignal } from '../domain/signal';
import { validateSignal } from '../domain/signalValidation';
import type { Logger } from '../logger';
import type { Clock } from '../trading/clock';
import type { NoticeEvent } from '../trading/feedEvents';

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
};

/**
 * Ending a copy-trading mastership, in one transaction: the master row, its cursors and follow links
 * go (no poll reads it again, no confirmation is offered), each follower's copied position from it is
 * closed by a close copy signal (reduce-only market orders the engine executes like any copy exit),
 * and the master's owner and every follower are told why. A crash leaves either nothing done or all
 * of it queued. Copy opens of this master still queued or polled meanwhile are refused at fan-out
 * (`copy-master-ended`); its exits still go.
 */
export function createMasterships(deps: { db: Database; clock: Clock; log: Logger; wake?: () => void }) {
  const log = deps.log.child({ component: 'copy-masters' });

  async function end(masterAccountId: string, reason: MastershipEnd): Promise<EndedMastership | null> {
    const ended = await deps.db.transaction(async (tx) => {
      const db = tx as unknown as Database;
      const copies = copyRepository(db);
      const removed = await copies.endMaster(masterAccountId);
      if (!removed) return null;
      const accounts = accountsRepository(db);
      const master = await accounts.byId(masterAccountId);
      const guildId = removed.master.guildId;
      const held = await copies.heldFromMaster(masterAccountId);
      const closes = closesOfEndedMaster(masterAccountId, String(removed.master.createdAt.getTime()), held);
      const now = deps.clock.now();
      const signals = signalsRepository(db);
      for (const close of closes) {
        // Never placed: a close carries a distant stop only because every signal is validated.
        const signal: TradeSignal = {
          symbol: close.pair,
          side: close.side,
          entryType: 'market',
          entries: [],
          stopLoss: close.side === 'long' ? close.price / 2 : close.price * 2,
          takeProfits: [],
          leverage: null,
        };
        const validation = validateSignal(signal);
        if (!validation.ok) throw new Error(`close of an ended mastership is not a valid signal: ${validation.reason}`);
        await signals.enqueue({
          id: randomUUID(),
          guildId,
          source: 'copy',
          sourceRef: close.sourceRef,
          authorId: master?.ownerId ?? null,
          channelId: null,
          signal: validation.signal,
          copy: close.copy,
          createdAt: new Date(now),
        });
      }
      const holding = new Set(held.map((row) => row.accountId));
      const notices: NewOutboxRow[] = [];
      const masterName = master?.name ?? 'a removed account';
      if (master) {
        notices.push(notice(guildId, master.id, master.ownerId, { kind: 'master-ended', accountName: master.name, reason: null, detail: `It is no longer a copy-trading master: ${END_TEXT[reason]}.` }));
      }
      for (const link of removed.links) {
        const follower = await accounts.byId(link.followerAccountId);
        if (!follower) continue;
        const detail = holding.has(follower.id)
          ? `${masterName} is no longer a copy-trading master (${END_TEXT[reason]}): the positions copied from it are being closed at market.`
          : `${masterName} is no longer a copy-trading master (${END_TEXT[reason]}).`;
        notices.push(notice(guildId, follower.id, follower.ownerId, { kind: 'copy-ended', accountName: follower.name, reason: null, detail }));
      }
      await enqueueFeed(db, notices);
      return { masterAccountId, reason, followers: removed.links.length, closes: closes.length };
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
      for (const master of await copyRepository(deps.db).mastersWithOwners(guildId)) {
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
      for (const master of await copyRepository(deps.db).mastersWithOwners(guildId)) {
        if (master.ownerId !== userId) continue;
        const ended = await end(master.accountId, reason);
        if (ended) out.push(ended);
      }
      return out;
    },

    /** Masters and their owners, for the membership check. */
    mastersWithOwners: (guildId?: string) => copyRepository(deps.db).mastersWithOwners(guildId),
  };
}

export type Masterships = ReturnType<typeof createMasterships>;

function notice(guildId: string, accountId: string, ownerId: string, event: Omit<NoticeEvent, 'type'>): NewOutboxRow {
  return { guildId, kind: 'dm', signalId: null, accountId, recipientId: ownerId, payload: { type: 'notice', ...event } };
}
