import type { GuildsRepository } from '../db/repositories/guilds';
import type { OutboxRepository, OutboxRow } from '../db/repositories/outbox';
import type { ReadModels } from '../db/repositories/readModels';
import type { FeedEvent } from '../domain/feedEvents';

/** One outbox row as the feed poster sees it. */
export interface FeedItem {
  id: number;
  guildId: string;
  kind: OutboxRow['kind'];
  signalId: string | null;
  recipientId: string | null;
  event: FeedEvent;
  attempts: number;
  /** Set when the row was reserved for a message (write-ahead): the message's nonce. */
  batch: string | null;
  channelId: string | null;
  messageId: string | null;
}

/** Tag of a reserved batch in `message_id` until the real message id replaces it. */
export const BATCH_PREFIX = 'batch:';

const toItem = (row: OutboxRow): FeedItem => ({
  id: row.id,
  guildId: row.guildId,
  kind: row.kind,
  signalId: row.signalId,
  recipientId: row.recipientId,
  event: row.payload,
  attempts: row.attempts,
  batch: row.status === 'pending' && row.messageId?.startsWith(BATCH_PREFIX) ? row.messageId.slice(BATCH_PREFIX.length) : null,
  channelId: row.channelId,
  messageId: row.status === 'posted' ? row.messageId : null,
});

/** A feed row's posting scope: its server's feed channel, or the member its direct message goes to. */
export const feedScopeOf = (item: Pick<FeedItem, 'kind' | 'guildId' | 'recipientId'>): string =>
  // As outbox.due() computes it in SQL (a DM without a recipient: 'u:').
  item.kind === 'dm' ? `u:${item.recipientId ?? ''}` : `g:${item.guildId}`;

/** The feed outbox, for the poster: what is due, where it goes, and its delivery bookkeeping. */
export function createFeedService(deps: { outbox: OutboxRepository; guilds: GuildsRepository; reads: ReadModels }) {
  const { outbox, guilds, reads } = deps;
  let installId: Promise<string> | null = null;
  return {
    /** This deployment's id, read once (a failed read is tried again next time). */
    installId(): Promise<string> {
      installId ??= outbox.installId().catch((error: unknown) => {
        installId = null;
        throw error;
      });
      return installId;
    },
    /**
     * Due rows, oldest first, with every other row of any reserved batch among them; with `holder`,
     * none of a scope another process has claimed.
     */
    async due(limit: number, now: Date, holder?: string): Promise<FeedItem[]> {
      const rows = await outbox.due(limit, now, holder);
      const tags = [
        ...new Set(rows.map((row) => row.messageId).filter((tag): tag is string => !!tag?.startsWith(BATCH_PREFIX))),
      ];
      const extra = tags.length > 0 ? await reads.pendingOfFeedBatches(tags) : [];
      const byId = new Map<number, OutboxRow>();
      for (const row of [...rows, ...extra]) byId.set(row.id, row);
      return [...byId.values()].sort((a, b) => a.id - b.id).map(toItem);
    },
    /** The server's feed channel, or null when none is set. */
    async feedChannel(guildId: string): Promise<string | null> {
      return (await guilds.get(guildId))?.feedChannelId ?? null;
    },
    accountsPerSignal: (signalIds: readonly string[]) => reads.accountsPerSignal(signalIds),
    reserve: (ids: readonly number[], nonce: string) => outbox.reserveBatch(ids, `${BATCH_PREFIX}${nonce}`),
    markPosted: (ids: number[], channelId: string, messageId: string, now: Date) => outbox.markPosted(ids, channelId, messageId, now),
    markRetry: (ids: number[], error: string, next: Date) => outbox.markRetry(ids, error, next),
    markDropped: (ids: number[], reason: string) => outbox.markDropped(ids, reason),
    /** Where a signal's first per-order line went (the summary links to the lines). */
    async firstPostedOrder(signalId: string): Promise<{ channelId: string; messageId: string } | null> {
      const row = await outbox.firstPostedOrder(signalId);
      return row?.channelId && row.messageId && !row.messageId.startsWith(BATCH_PREFIX)
        ? { channelId: row.channelId, messageId: row.messageId }
        : null;
    },
    /** Where the first summary of a signal went, so a later one edits it. */
    async postedSummary(signalId: string): Promise<{ channelId: string; messageId: string } | null> {
      const row = await outbox.postedSummary(signalId);
      return row?.channelId && row.messageId && !row.messageId.startsWith(BATCH_PREFIX)
        ? { channelId: row.channelId, messageId: row.messageId }
        : null;
    },
    backlog: () => outbox.backlog(),
    /** Claims posting scopes (`g:<guild>`, `u:<user>`) for `holder` for `ttlMs`; answers those granted. */
    claim: (scopes: readonly string[], holder: string, ttlMs: number) => outbox.claim(scopes, holder, ttlMs),
    releaseClaims: (holder: string) => outbox.releaseClaims(holder),
  };
}

export type FeedService = ReturnType<typeof createFeedService>;
