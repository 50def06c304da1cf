import { DiscordAPIError, Routes } from 'discord.js';
import type { APIChannel, APIEmbed, APIMessage, REST } from 'discord.js';
import pLimit from 'p-limit';
import type { Logger } from '../logger';
import { feedScopeOf, type FeedItem, type FeedService } from '../services/feed';
import type { Clock } from '../clock';
import type { OrderFeedEvent, SummaryFeedEvent } from '../domain/feedEvents';
import { messageUrl, renderCompactOrders, renderNoticeEmbed, renderOrderEmbed, renderPositionEmbed, renderSummaryEmbeds } from './embeds/feed';
import { packMessages, type FeedUnit } from './embeds/pack';

/** The REST calls the poster makes (discord.js's REST: rate-limit aware, queued per route bucket). */
export type FeedRest = Pick<REST, 'post' | 'patch'>;

export interface FeedPosterOptions {
  rest: FeedRest;
  feed: FeedService;
  log: Logger;
  clock: Clock;
  /** Above this many accounts per signal, per-order detail is compacted into lines (default 20). */
  compactThreshold?: number;
  isLeader: () => Promise<boolean>;
  /**
   * Several processes: this poster's id. Each pass claims the scopes it posts (a server's feed, a
   * member's DMs) for `claimTtlMs` and leaves the others' rows alone, so every process posts and each
   * channel still reads in order. Without it, every due row is this poster's (one process).
   */
  holder?: string;
  /** How long a claim lasts unless renewed by the next pass (default 15 s): a dead holder's scopes wait this long. */
  claimTtlMs?: number;
  /** Scopes claimed at most per pass (default 16), so that several processes share the servers. */
  maxScopes?: number;
  /** Rows read per pass (default 500). */
  batchLimit?: number;
  /** Pause between passes of the background loop (default 1 s). */
  intervalMs?: number;
  /** Longest wait before a failed row is tried again (default 5 min). */
  maxBackoffMs?: number;
  /** Destinations served at once (each channel keeps its own order; default 4). */
  concurrency?: number;
}

export interface FeedPoster {
  /** Posts everything due now; resolves with the number of outbox rows posted. */
  flush(): Promise<number>;
  start(): void;
  stop(): Promise<void>;
}

type Destination = { kind: 'channel'; channelId: string } | { kind: 'dm'; userId: string };

/** The scope's claim went to another process during a pass. */
class ScopeTaken extends Error {
  constructor(scope: string) {
    super(`feed scope ${scope} is held by another process now`);
  }
}

/** A message's embeds, or how to render them when it is sent (a summary links to lines posted just before it). */
type Embeds = APIEmbed[] | (() => Promise<APIEmbed[]>);

type Plan =
  | { kind: 'message'; ids: number[]; embeds: Embeds; nonce: string; reserved: boolean }
  | { kind: 'edit'; ids: number[]; embeds: Embeds; target: { channelId: string; messageId: string }; fallbackNonce: string };

const embedsOf = async (embeds: Embeds): Promise<APIEmbed[]> => (typeof embeds === 'function' ? embeds() : embeds);

/** Discord error codes after which a row can never be delivered: kept for the record, not retried. */
const UNDELIVERABLE: Record<number, string> = {
  50007: 'the member does not accept direct messages from the bot',
  50035: 'Discord refused the message as invalid',
  50006: 'Discord refused an empty message',
};
const UNKNOWN_MESSAGE = 10008;
const UNKNOWN_CHANNEL = 10003;

/**
 * `enforce_nonce` key of a message: this deployment's id and the message's lowest outbox id (≤ 25
 * characters, as Discord requires: 1 + 6 + up to 15 digits + a part suffix). Discord holds a nonce per
 * author across channels for a few minutes, and outbox ids start over on a new database.
 */
export const nonceOf = (installId: string, ids: readonly number[], suffix = ''): string =>
  `f${installId}${Math.min(...ids)}${suffix}`;

function describeError(error: unknown): string {
  if (error instanceof DiscordAPIError) return `Discord ${error.status} ${error.code}: ${error.message}`;
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/**
 * Posts feed_outbox rows to Discord. Rows are tagged with their message's nonce before it is sent
 * (write-ahead), the message goes out with `enforce_nonce`, and only then are they marked posted:
 * a crash in between resends the same rows with the same nonce, which Discord answers with the
 * message already posted. Failures are retried with exponential backoff; nothing is lost.
 */
export function createFeedPoster(options: FeedPosterOptions): FeedPoster {
  const { rest, feed, log, clock, isLeader, holder } = options;
  const claimTtlMs = options.claimTtlMs ?? 15_000;
  const maxScopes = options.maxScopes ?? 16;
  const compactThreshold = options.compactThreshold ?? 20;
  const batchLimit = options.batchLimit ?? 500;
  const intervalMs = options.intervalMs ?? 1000;
  const maxBackoffMs = options.maxBackoffMs ?? 300_000;
  const limit = pLimit(options.concurrency ?? 4);
  const dmChannels = new Map<string, string>();
  const now = () => new Date(clock.now());
  const backoff = (attempts: number) => Math.min(maxBackoffMs, 2000 * 2 ** Math.min(attempts, 20));

  async function channelOf(destination: Destination): Promise<string> {
    if (destination.kind === 'channel') return destination.channelId;
    const cached = dmChannels.get(destination.userId);
    if (cached) return cached;
    const channel = (await rest.post(Routes.userChannels(), { body: { recipient_id: destination.userId } })) as APIChannel;
    dmChannels.set(destination.userId, channel.id);
    return channel.id;
  }

  /** Each order line's signal's summary, once posted (the line links to it). DMs and summaries get none. */
  async function summaryLinksOf(items: readonly FeedItem[]): Promise<Map<string, { summary: string }>> {
    const links = new Map<string, { summary: string }>();
    const asked = new Set<string>();
    for (const item of items) {
      const signalId = item.signalId;
      if (item.kind === 'dm' || item.event.type !== 'order' || !signalId || asked.has(signalId)) continue;
      asked.add(signalId);
      const summary = await feed.postedSummary(signalId);
      if (summary) links.set(signalId, { summary: messageUrl(item.guildId, summary) });
    }
    return links;
  }

  /** A summary's link to its signal's first order line in the channel, once one is posted. */
  async function ordersLinkOf(item: FeedItem): Promise<{ orders?: string }> {
    if (item.kind === 'dm' || !item.signalId) return {};
    const first = await feed.firstPostedOrder(item.signalId);
    return first ? { orders: messageUrl(item.guildId, first) } : {};
  }

  /** Units of one run of rows (no summaries): one embed per row, or compacted lines per signal. */
  function unitsOf(items: readonly FeedItem[], counts: ReadonlyMap<string, number>, links: ReadonlyMap<string, { summary?: string }> = new Map()): FeedUnit[] {
    const units: (FeedUnit | { compact: string })[] = [];
    const compact = new Map<string, { id: number; event: OrderFeedEvent }[]>();
    for (const item of items) {
      const event = item.event;
      if (event.type === 'order' && (counts.get(event.signalId) ?? 0) > compactThreshold) {
        let rows = compact.get(event.signalId);
        if (!rows) {
          rows = [];
          compact.set(event.signalId, rows);
          units.push({ compact: event.signalId });
        }
        rows.push({ id: item.id, event });
        continue;
      }
      const embed =
        event.type === 'order'
          ? renderOrderEmbed(event, links.get(event.signalId) ?? {})
          : event.type === 'position'
            ? renderPositionEmbed(event)
            : event.type === 'notice'
              ? renderNoticeEmbed(event)
              : null;
      if (embed) units.push({ ids: [item.id], embeds: [embed] });
    }
    return units.flatMap((unit) =>
      'compact' in unit
        ? renderCompactOrders(compact.get(unit.compact) ?? []).map((chunk) => ({ ids: chunk.ids, embeds: [chunk.embed] }))
        : [unit],
    );
  }

  /** The messages and edits for one destination, in the order of the rows. */
  async function plansOf(items: readonly FeedItem[], counts: ReadonlyMap<string, number>): Promise<Plan[]> {
    const plans: Plan[] = [];
    const install = await feed.installId();
    const links = await summaryLinksOf(items);
    // Rendered when sent: the signal's order lines planned before it are posted by then.
    const summaryOf = (item: FeedItem) => async () =>
      renderSummaryEmbeds(item.event as SummaryFeedEvent, await ordersLinkOf(item));
    // Rows reserved by an earlier attempt go out exactly as reserved, with the same nonce.
    const reserved = new Map<string, FeedItem[]>();
    const fresh: FeedItem[] = [];
    for (const item of items) {
      if (item.batch) {
        const batch = reserved.get(item.batch) ?? [];
        batch.push(item);
        reserved.set(item.batch, batch);
      } else fresh.push(item);
    }
    for (const [nonce, batch] of reserved) {
      const summary = batch.find((item) => item.event.type === 'summary');
      const messages = summary
        ? [{ ids: batch.map((item) => item.id), embeds: summaryOf(summary) }]
        : packMessages(unitsOf(batch, counts, links));
      messages.forEach((message, index) =>
        plans.push({ kind: 'message', ids: message.ids, embeds: message.embeds, nonce: index === 0 ? nonce : `${nonce}.${index}`, reserved: index === 0 }),
      );
    }
    let run: FeedItem[] = [];
    const flushRun = () => {
      for (const message of packMessages(unitsOf(run, counts, links))) {
        if (message.ids.length === 0) continue;
        plans.push({ kind: 'message', ids: message.ids, embeds: message.embeds, nonce: nonceOf(install, message.ids), reserved: false });
      }
      run = [];
    };
    for (const item of fresh) {
      if (item.event.type !== 'summary') {
        run.push(item);
        continue;
      }
      flushRun();
      const embeds = summaryOf(item);
      const earlier = item.signalId ? await feed.postedSummary(item.signalId) : null;
      if (earlier) plans.push({ kind: 'edit', ids: [item.id], embeds, target: earlier, fallbackNonce: nonceOf(install, [item.id]) });
      else plans.push({ kind: 'message', ids: [item.id], embeds, nonce: nonceOf(install, [item.id]), reserved: false });
    }
    flushRun();
    return plans;
  }

  async function send(channelId: string, embeds: APIEmbed[], nonce: string): Promise<APIMessage> {
    return (await rest.post(Routes.channelMessages(channelId), {
      body: { embeds, nonce, enforce_nonce: true, allowed_mentions: { parse: [] } },
    })) as APIMessage;
  }

  /**
   * Several processes: the scope is still this poster's, its claim renewed, right before each send or
   * edit. A pass may outlast a claim (rate limits): once another process holds the scope, it plans and
   * posts the rest, and this one stops (its reserved batches keep their nonces for the other).
   */
  async function stillMine(scope: string): Promise<void> {
    if (holder && !(await feed.claim([scope], holder, claimTtlMs)).has(scope)) throw new ScopeTaken(scope);
  }

  async function execute(channelId: string, plan: Plan, scope: string): Promise<void> {
    await stillMine(scope);
    if (plan.kind === 'edit') {
      try {
        await rest.patch(Routes.channelMessage(plan.target.channelId, plan.target.messageId), {
          body: { embeds: await embedsOf(plan.embeds), allowed_mentions: { parse: [] } },
        });
        await feed.markPosted(plan.ids, plan.target.channelId, plan.target.messageId, now());
        return;
      } catch (error) {
        if (!(error instanceof DiscordAPIError && (error.code === UNKNOWN_MESSAGE || error.code === UNKNOWN_CHANNEL))) throw error;
        // The first summary is gone (deleted by someone): post the final one afresh.
      }
      if ((await feed.reserve(plan.ids, plan.fallbackNonce)) < plan.ids.length) throw new ScopeTaken(scope);
      const message = await send(channelId, await embedsOf(plan.embeds), plan.fallbackNonce);
      await feed.markPosted(plan.ids, channelId, message.id, now());
      return;
    }
    // Rows another process posted or dropped meanwhile are not sent again under another grouping.
    if (!plan.reserved && (await feed.reserve(plan.ids, plan.nonce)) < plan.ids.length) throw new ScopeTaken(scope);
    const message = await send(channelId, await embedsOf(plan.embeds), plan.nonce);
    await feed.markPosted(plan.ids, channelId, message.id, now());
  }

  async function deliver(destination: Destination, items: FeedItem[], counts: ReadonlyMap<string, number>): Promise<number> {
    let posted = 0;
    let plans: Plan[] = [];
    const scope = feedScopeOf(items[0]!);
    try {
      const channelId = await channelOf(destination);
      plans = await plansOf(items, counts);
      for (let i = 0; i < plans.length; i++) {
        const plan = plans[i]!;
        try {
          await execute(channelId, plan, scope);
          posted += plan.ids.length;
        } catch (error) {
          // Another process holds the scope now: its rows are its own to post, nothing failed.
          if (error instanceof ScopeTaken) return posted;
          // Later plans wait too, so the channel keeps the order things happened in.
          await fail(plans.slice(i).flatMap((p) => p.ids), items, error, destination);
          return posted;
        }
      }
    } catch (error) {
      await fail(
        items.map((item) => item.id),
        items,
        error,
        destination,
      );
    }
    return posted;
  }

  async function fail(ids: number[], items: readonly FeedItem[], error: unknown, destination: Destination): Promise<void> {
    const code = error instanceof DiscordAPIError && typeof error.code === 'number' ? error.code : null;
    const undeliverable = code !== null ? UNDELIVERABLE[code] : undefined;
    if (undeliverable) {
      log.warn({ destination: destination.kind, rows: ids.length, code }, `feed rows dropped: ${undeliverable}`);
      await feed.markDropped(ids, undeliverable);
      return;
    }
    const attempts = Math.max(0, ...items.filter((item) => ids.includes(item.id)).map((item) => item.attempts));
    const wait = backoff(attempts);
    log.warn({ err: error, destination: destination.kind, rows: ids.length, attempts: attempts + 1, retryInMs: wait }, 'feed post failed; will retry');
    await feed.markRetry(ids, describeError(error), new Date(clock.now() + wait));
  }

  /** One pass: what is due now. Returns rows posted and rows handled in any way. */
  async function pass(): Promise<{ posted: number; handled: number }> {
    if (!(await isLeader())) return { posted: 0, handled: 0 };
    const due = await feed.due(batchLimit, now(), holder);
    if (due.length === 0) return { posted: 0, handled: 0 };
    // Only the scopes this poster holds (or just claimed): another process posts the rest, in order.
    // At most `maxScopes` a pass (the oldest rows' first): with several processes, each takes a share.
    const granted = holder ? await feed.claim([...new Set(due.map(feedScopeOf))].slice(0, maxScopes), holder, claimTtlMs) : null;
    const items = granted ? due.filter((item) => granted.has(feedScopeOf(item))) : due;
    if (items.length === 0) return { posted: 0, handled: 0 };

    // A later summary of the same signal replaces an earlier one that was never posted.
    const latestSummary = new Map<string, number>();
    for (const item of items) if (item.event.type === 'summary' && item.signalId) latestSummary.set(item.signalId, item.id);
    const superseded = items.filter(
      (item) => item.event.type === 'summary' && item.signalId && latestSummary.get(item.signalId) !== item.id && !item.batch,
    );
    if (superseded.length > 0) await feed.markDropped(superseded.map((item) => item.id), 'superseded by a later summary');
    const live = items.filter((item) => !superseded.includes(item));

    const channels = new Map<string, string | null>();
    const groups = new Map<string, { destination: Destination; items: FeedItem[] }>();
    const nowhere: FeedItem[] = [];
    const unknown: FeedItem[] = [];
    for (const item of live) {
      if (!['order', 'summary', 'position', 'notice'].includes(item.event?.type)) {
        unknown.push(item);
        continue;
      }
      let destination: Destination | null = null;
      if (item.kind === 'dm') destination = item.recipientId ? { kind: 'dm', userId: item.recipientId } : null;
      else {
        if (!channels.has(item.guildId)) channels.set(item.guildId, await feed.feedChannel(item.guildId));
        const channelId = channels.get(item.guildId);
        destination = channelId ? { kind: 'channel', channelId } : null;
      }
      if (!destination) {
        nowhere.push(item);
        continue;
      }
      const key = destination.kind === 'channel' ? `c:${destination.channelId}` : `u:${destination.userId}`;
      const group = groups.get(key) ?? { destination, items: [] };
      group.items.push(item);
      groups.set(key, group);
    }
    if (nowhere.length > 0) await feed.markDropped(nowhere.map((item) => item.id), 'no feed channel set for this server');
    if (unknown.length > 0) await feed.markDropped(unknown.map((item) => item.id), 'unknown feed event');

    const signalIds = [...new Set(live.flatMap((item) => (item.event.type === 'order' ? [item.event.signalId] : [])))];
    const counts = await feed.accountsPerSignal(signalIds);
    const posted = await Promise.all(
      [...groups.values()].map((group) => limit(() => deliver(group.destination, group.items, counts))),
    );
    return { posted: posted.reduce((sum, n) => sum + n, 0), handled: items.length };
  }

  let chain: Promise<unknown> = Promise.resolve();
  /** Passes until nothing is due (rows waiting for a retry are not due yet); one flush at a time. */
  const flush = (): Promise<number> => {
    const run = chain.then(async () => {
      let total = 0;
      for (let i = 0; i < 1000; i++) {
        const { posted, handled } = await pass();
        total += posted;
        if (handled === 0 || (posted === 0 && handled < batchLimit)) break;
      }
      return total;
    });
    chain = run.catch(() => undefined);
    return run;
  };

  let timer: NodeJS.Timeout | null = null;
  let stopped = true;
  let current: Promise<unknown> = Promise.resolve();
  const tick = () => {
    timer = null;
    if (stopped) return;
    current = flush()
      .catch((error: unknown) => log.error({ err: error }, 'feed poster pass failed'))
      .finally(() => {
        if (!stopped) timer = setTimeout(tick, intervalMs);
      });
  };

  return {
    flush,
    start() {
      if (!stopped) return;
      stopped = false;
      timer = setTimeout(tick, 0);
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = null;
      await current.catch(() => undefined);
      // Its scopes go to the other processes at once, not when the claims run out.
      if (holder) await feed.releaseClaims(holder).catch((error: unknown) => log.warn({ err: error }, 'feed claims not released; they lapse by themselves'));
    },
  };
}
