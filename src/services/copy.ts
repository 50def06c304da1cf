import { randomUUID } from 'node:crypto';
import type { AccountsRepository } from '../db/repositories/accounts';
import type { CopyRepository } from '../db/repositories/copy';
import type { GuildsRepository } from '../db/repositories/guilds';
import type { CopyInstructions, CopyMode } from '../domain/copy';
import type { TradeSignal } from '../domain/signal';
import { validateSignal } from '../domain/signalValidation';
import type { EndedMastership, Masterships } from '../copy/mastership';
import type { Clock } from '../clock';
import type { SignalIntake } from '../trading/signalIntake';
import type { Logger } from '../logger';
import { forbidden, invalid, notFound } from './errors';
import type { Account } from '../domain/records';

export interface CopyActor {
  guildId: string;
  userId: string;
  isAdmin: boolean;
}

export interface FollowInput {
  masterAccountId: string;
  /** One of the caller's accounts; all their futures accounts in the server when omitted. */
  accountId?: string;
  mode: CopyMode;
  value: number;
  /** Comma- or space-separated coins or pairs ("BTC, ETH/USDT"). */
  allow?: string;
  block?: string;
  /** Comma-separated subset of market, limit, stop. */
  orderTypes?: string;
  dryRun?: boolean;
  confirm?: boolean;
}

export interface CopyLinkView {
  linkId: string;
  masterName: string;
  followerName: string;
  mode: CopyMode;
  value: number;
  active: boolean;
  dryRun: boolean;
  copied: number;
  skipped: number;
  failed: number;
  /** Copied ÷ (copied + failed), or null before the first trade. */
  successRate: number | null;
  /** Why copies were skipped (by the follow filters or by the follower's account), most frequent first. */
  skipReasons: { reason: string; count: number }[];
}

const ORDER_TYPES = ['market', 'limit', 'stop'] as const;

const symbolList = (text: string | undefined): string[] => [
  ...new Set(
    (text ?? '')
      .split(/[\s,;]+/)
      .map((s) => s.trim().toUpperCase().replace(/^[#$]/, ''))
      .filter(Boolean),
  ),
];

/** /copy: masters, follow links and their figures. Every personal query is scoped by the caller's id. */
/** A copy waiting for its follower's answer, as the DM shows it. */
export interface CopyConfirmationView {
  id: string;
  ownerId: string;
  accountName: string;
  signal: TradeSignal;
  action: CopyInstructions['action'];
  quantity: number | null;
  reduceFraction: number | null;
  /** The master's fill price. */
  price: number;
  expiresAt: number;
}

export type ConfirmationAnswer =
  { kind: 'queued'; accounts: number } | { kind: 'skipped' } | { kind: 'expired' } | { kind: 'gone' };

export function createCopyService(deps: {
  copies: CopyRepository;
  accounts: AccountsRepository;
  guilds: GuildsRepository;
  log: Logger;
  masterships: Pick<Masterships, 'end'>;
  intake?: Pick<SignalIntake, 'wake'>;
  clock?: Clock;
}) {
  const { copies, accounts, guilds, log } = deps;

  async function mayBeMaster(actor: CopyActor): Promise<boolean> {
    if (actor.isAdmin) return true;
    const settings = await guilds.get(actor.guildId);
    if (!settings || settings.copyMasters === 'off') return false;
    return settings.copyMasters === 'all' || settings.copyMasterMembers.includes(actor.userId);
  }

  return {
    async makeMaster(actor: CopyActor, accountId: string): Promise<{ account: Account }> {
      if (!(await mayBeMaster(actor))) {
        throw forbidden(
          'Only admins, or members an admin allowed with /setup copy-masters, can make an account a copy-trading master.',
        );
      }
      const account = await accounts.findOwned({ ownerId: actor.userId, guildId: actor.guildId }, accountId);
      if (!account) throw notFound();
      if (account.marketType !== 'futures' || account.mode === 'paper') {
        throw invalid(
          'A master must be a live or demo futures account: its positions are what followers copy.',
        );
      }
      // Hedge mode holds a long and a short per symbol at once; the poller follows one net position.
      if (account.positionMode === 'hedge')
        throw invalid('A master must use one-way position mode (hedge mode is not copied).');
      // An admin's own mastership outlives /setup copy-masters changes; a member's lasts while allowed.
      await copies.addMaster(account.id, actor.guildId, actor.isAdmin ? 'admin' : 'member');
      log.info({ guildId: actor.guildId, accountId: account.id }, 'copy master added');
      return { account };
    },

    /** The owner stops being a master: followers stop copying and their copied positions are closed. */
    async removeMaster(actor: CopyActor, accountId: string): Promise<EndedMastership> {
      const account = await accounts.findOwned({ ownerId: actor.userId, guildId: actor.guildId }, accountId);
      if (!account) throw notFound('Master account');
      const ended = await deps.masterships.end(account.id, 'stopped');
      if (!ended) throw notFound('Master account');
      return ended;
    },

    /** An admin ends any master of the server, whoever owns it. */
    async revokeMaster(actor: CopyActor, accountId: string): Promise<EndedMastership> {
      if (!actor.isAdmin)
        throw forbidden('Only server admins (Manage Server permission) can revoke a copy-trading master.');
      const master = await copies.master(accountId).catch(() => null);
      if (!master || master.guildId !== actor.guildId) throw notFound('Master');
      const ended = await deps.masterships.end(accountId, 'revoked');
      if (!ended) throw notFound('Master');
      log.info({ guildId: actor.guildId, by: actor.userId, accountId }, 'copy master revoked by an admin');
      return ended;
    },

    /** Autocomplete: the server's masters (any member may follow one). */
    async masterChoices(guildId: string, typed: string): Promise<{ name: string; value: string }[]> {
      const query = typed.trim().toLowerCase();
      const out: { name: string; value: string }[] = [];
      for (const master of await copies.listMasters(guildId)) {
        const account = await accounts.byId(master.accountId);
        if (!account) continue;
        const name = `${account.name} · ${account.exchangeId} ${account.marketType}`;
        if (query === '' || name.toLowerCase().includes(query))
          out.push({ name: name.slice(0, 100), value: account.id });
      }
      return out.slice(0, 25);
    },

    async follow(actor: CopyActor, input: FollowInput): Promise<CopyLinkView[]> {
      const master = await copies.master(input.masterAccountId).catch(() => null);
      if (!master || master.guildId !== actor.guildId) throw notFound('Master');
      if (!(input.value > 0) || !Number.isFinite(input.value))
        throw invalid('The value must be a positive number.');
      if (input.mode === 'multiplier' && input.value > 100)
        throw invalid('A multiplier above 100 is not accepted.');
      const orderTypes =
        input.orderTypes === undefined
          ? [...ORDER_TYPES]
          : symbolList(input.orderTypes).map((t) => t.toLowerCase());
      if (
        orderTypes.length === 0 ||
        orderTypes.some((t) => !(ORDER_TYPES as readonly string[]).includes(t))
      ) {
        throw invalid('Order types are a list of market, limit and stop.');
      }
      const own = input.accountId
        ? [
            await accounts.findOwned({ ownerId: actor.userId, guildId: actor.guildId }, input.accountId),
          ].filter((a): a is Account => a !== null)
        : (await accounts.listOwned(actor.userId, actor.guildId)).filter((a) => a.marketType === 'futures');
      if (input.accountId && own.length === 0) throw notFound();
      const followers = own.filter((a) => a.guildId === actor.guildId && a.id !== master.accountId);
      if (followers.length === 0)
        throw invalid(
          'You have no futures account in this server to follow with (add one with /account add).',
        );
      if (followers.some((a) => a.marketType !== 'futures'))
        throw invalid('Copy trading follows with futures accounts only.');
      const views: CopyLinkView[] = [];
      for (const follower of followers) {
        const linked = await copies.upsertLinkUnlessLoop({
          id: randomUUID(),
          guildId: actor.guildId,
          masterAccountId: master.accountId,
          followerAccountId: follower.id,
          followerOwnerId: actor.userId,
          mode: input.mode,
          value: input.mode === 'mirror' || input.mode === 'proportional' ? 1 : input.value,
          symbolAllow: symbolList(input.allow),
          symbolBlock: symbolList(input.block),
          orderTypes,
          dryRun: input.dryRun ?? false,
          confirm: input.confirm ?? false,
        });
        if (linked.kind === 'loop') {
          // The loop as "copies" arrows: the follower → the master → … → the follower again.
          const names = await Promise.all(
            [follower.id, ...linked.through].map(
              async (id) => (await accounts.byId(id))?.name ?? 'an account',
            ),
          );
          throw invalid(
            `${follower.name} cannot follow this master: the master already copies it (${names.join(' → ')}, each copying the next), so every trade would be copied round for ever.`,
          );
        }
        views.push(await this.viewOf(linked.row.id, actor));
      }
      log.info(
        { guildId: actor.guildId, master: master.accountId, followers: followers.length, mode: input.mode },
        'copy follow',
      );
      return views;
    },

    async list(actor: CopyActor): Promise<CopyLinkView[]> {
      const rows = await copies.linksOfFollowerOwner(actor.guildId, actor.userId);
      return Promise.all(rows.map((row) => this.viewOf(row.id, actor)));
    },

    async viewOf(linkId: string, actor: CopyActor): Promise<CopyLinkView> {
      const row = (await copies.linksOfFollowerOwner(actor.guildId, actor.userId)).find(
        (l) => l.id === linkId,
      );
      if (!row) throw notFound('Copy link');
      const [master, follower, outcomes] = await Promise.all([
        accounts.byId(row.masterAccountId),
        accounts.byId(row.followerAccountId),
        copies.outcomes(row.masterAccountId, row.followerAccountId),
      ]);
      // The link counts what the poller decided (queued, filtered); the executions say what the exchange did.
      const sum = (statuses: string[]) =>
        outcomes.filter((o) => statuses.includes(o.status)).reduce((n, o) => n + o.n, 0);
      const placed = sum(['placed', 'dry-run']);
      const failed = sum(['failed', 'not-placed']);
      const skippedByAccount = outcomes.filter((o) => o.status === 'skipped');
      const filtered = Math.max(0, row.skipped);
      const reasons = new Map<string, number>();
      if (filtered > 0) reasons.set('filtered', filtered);
      for (const o of skippedByAccount)
        reasons.set(o.reason ?? 'skipped', (reasons.get(o.reason ?? 'skipped') ?? 0) + o.n);
      const copied = outcomes.length > 0 ? placed : row.copied;
      const done = copied + failed;
      return {
        linkId: row.id,
        masterName: master?.name ?? 'removed account',
        followerName: follower?.name ?? 'removed account',
        mode: row.mode,
        value: row.value,
        active: row.active,
        dryRun: row.dryRun,
        copied,
        skipped: filtered + skippedByAccount.reduce((n, o) => n + o.n, 0),
        failed: failed + row.failed,
        successRate: done > 0 ? copied / done : null,
        skipReasons: [...reasons.entries()]
          .map(([reason, count]) => ({ reason, count }))
          .sort((a, b) => b.count - a.count),
      };
    },

    stop: (actor: CopyActor, masterAccountId?: string) =>
      copies.stopLinks(actor.guildId, actor.userId, masterAccountId),

    /** Copies waiting to be offered to their followers (the Discord layer DMs them). */
    async pendingConfirmations(limit = 50, waiting: readonly string[] = []): Promise<CopyConfirmationView[]> {
      const rows = await copies.pendingConfirmations(limit, waiting);
      const out: CopyConfirmationView[] = [];
      for (const row of rows) {
        const account = await accounts.byId(row.followerAccountId);
        const copy = row.copy;
        const mine = copy.followers[0];
        out.push({
          id: row.id,
          ownerId: row.followerOwnerId,
          accountName: account?.name ?? 'removed account',
          signal: row.signal,
          action: copy.action,
          quantity: mine?.quantity ?? null,
          reduceFraction: mine?.reduceFraction ?? null,
          price: copy.price,
          expiresAt: row.expiresAt.getTime(),
        });
      }
      return out;
    },

    markConfirmationSent: (id: string, messageId: string | null) =>
      copies.setConfirmation(id, messageId ? { status: 'sent', messageId } : { status: 'skipped' }),

    /** The follower's Copy or Skip; after the window every answer is a skip. */
    async answerConfirmation(id: string, ownerId: string, accept: boolean): Promise<ConfirmationAnswer> {
      const current = await copies.confirmation(id).catch(() => null);
      if (!current || current.followerOwnerId !== ownerId) return { kind: 'gone' };
      const now = deps.clock?.now() ?? Date.now();
      const expired = now > current.expiresAt.getTime();
      if (expired || !accept) {
        const row = await copies.answerConfirmation(id, ownerId, expired ? 'expired' : 'skipped');
        if (!row) return { kind: 'gone' };
        await copies.count(row.linkId, 'skipped');
        return expired ? { kind: 'expired' } : { kind: 'skipped' };
      }
      const validation = validateSignal(current.signal);
      if (!validation.ok) {
        await copies.answerConfirmation(id, ownerId, 'skipped');
        await copies.count(current.linkId, 'failed');
        return { kind: 'gone' };
      }
      // Accepted and queued under the master's lock, in one transaction: a master's exit committed
      // first has expired it (gone); one committed after is queued after it, and takes it out.
      // The copy's author is the master's owner (whose trade it is), as for copies that need no answer.
      const masterOwner = (await accounts.byId(current.copy.masterAccountId).catch(() => null))?.ownerId ?? null;
      const queued = await copies.acceptConfirmationAndQueue(id, ownerId, {
        id: randomUUID(),
        guildId: current.guildId,
        source: 'copy',
        sourceRef: `${current.sourceRef}:${current.followerAccountId}`,
        authorId: masterOwner,
        channelId: null,
        signal: validation.signal,
        // The follower chose to copy now: the copy's age runs from the answer, not the master's fill.
        copy: { ...current.copy, acceptedAt: now },
        createdAt: new Date(now),
      });
      if (!queued) return { kind: 'gone' };
      deps.intake?.wake();
      await copies.count(current.linkId, 'copied');
      log.info({ confirmationId: id, signalId: queued.signalId }, 'copy confirmed by its follower');
      return { kind: 'queued', accounts: 1 };
    },
  };
}

export type CopyService = ReturnType<typeof createCopyService>;
