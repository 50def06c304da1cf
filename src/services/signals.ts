import type { GuildsRepository } from '../db/repositories/guilds';
import type { SignalsRepository } from '../db/repositories/signals';
import { describeReason } from '../domain/reasons';
import { MAX_PRICES_PER_LIST } from '../signals/parseSignalMessage';
import type { SignalRejectionReason, TradeSignal } from '../domain/signal';
import { pairFromWord } from '../signals/symbol';
import type { Logger } from '../logger';
import type { SignalIntake } from '../trading/signalIntake';
import { forbidden, invalid, notFound } from './errors';

export interface PostSignalInput {
  guildId: string;
  channelId: string | null;
  authorId: string;
  /** The interaction id: the idempotency key, so a retried interaction queues one signal. */
  interactionId: string;
  memberRoleIds: readonly string[];
  isAdmin: boolean;
  symbol: string;
  side: string;
  /** "market", one price, or several ("64000, 64500" or "64000-64500"). */
  entry: string;
  stop: number;
  /** Comma- or space-separated prices; may be empty. */
  takeProfits: string;
  leverage: number | null;
}

export interface QueuedSignalView {
  signalId: string;
  fresh: boolean;
  accounts: number;
  members: number;
  paused: boolean;
  signal: TradeSignal;
}

export interface PendingSignalChoice {
  name: string;
  value: string;
}

const rejection = (reason: SignalRejectionReason, detail?: string): Error =>
  invalid(`Signal refused: ${describeReason(reason)}${detail ? ` (${detail})` : ''}.`);

/** "BTC/USDT", "btcusdt", "#BTC", "BTC" → "BTC/USDT" (a bare coin trades against USDT). */
export function normaliseSymbol(raw: string): string {
  const text = raw.trim().replace(/^[#$]/, '');
  if (text.includes('/')) return text.toUpperCase();
  const pair = pairFromWord(text, 'suffix');
  if (pair?.quote) return `${pair.base}/${pair.quote.toUpperCase()}`;
  return `${text.toUpperCase()}/USDT`;
}

/** "65000", "65k", "64,000.5"? No: commas separate prices. Returns null for anything not a price. */
function readPrice(text: string): number | null {
  const match = /^(\d+(?:\.\d+)?)(k)?$/i.exec(text.trim());
  if (!match?.[1]) return null;
  const value = Number(match[1]) * (match[2] ? 1000 : 1);
  return Number.isFinite(value) && value > 0 ? value : null;
}

export function readPriceList(text: string, what: string): number[] {
  const parts = text
    .split(/[\s,;]+|(?<=\d)-(?=\d)/)
    .map((part) => part.trim())
    .filter(Boolean);
  // The channel parser's limit holds for /signal too (one reply, one embed, orders an exchange allows).
  if (parts.length > MAX_PRICES_PER_LIST) throw rejection('too-many-prices', `${what}: ${parts.length}`);
  return parts.map((part) => {
    const price = readPrice(part);
    if (price === null) throw rejection('bad-number', `${what}: "${part}"`);
    return price;
  });
}

/** The structured signal from /signal's options (validated afterwards by the one validation). */
export function signalFromOptions(input: Pick<PostSignalInput, 'symbol' | 'side' | 'entry' | 'stop' | 'takeProfits' | 'leverage'>): TradeSignal {
  const side = input.side.trim().toLowerCase();
  if (side !== 'long' && side !== 'short') throw invalid('Side must be long or short.');
  const entryText = input.entry.trim().toLowerCase();
  const market = entryText === '' || entryText === 'market' || entryText === 'm' || entryText === 'cmp' || entryText === 'now';
  return {
    symbol: normaliseSymbol(input.symbol),
    side,
    entryType: market ? 'market' : 'limit',
    entries: market ? [] : readPriceList(input.entry, 'entry'),
    stopLoss: input.stop,
    takeProfits: readPriceList(input.takeProfits, 'take-profits'),
    leverage: input.leverage,
  };
}

export function createSignalService(deps: {
  intake: SignalIntake;
  signals: SignalsRepository;
  guilds: GuildsRepository;
  log: Logger;
}) {
  const { intake, signals, guilds, log } = deps;

  /** Members with the caller role may publish; without a caller role set, only admins may. */
  async function assertCaller(guildId: string, roles: readonly string[], isAdmin: boolean): Promise<void> {
    const settings = await guilds.get(guildId);
    const role = settings?.callerRoleId ?? null;
    if (role !== null && roles.includes(role)) return;
    if (role === null && isAdmin) return;
    throw forbidden(
      role === null
        ? 'No caller role is set on this server yet: an admin sets one with /setup caller-role.'
        : `Only members with the caller role <@&${role}> can publish signals.`,
    );
  }

  return {
    async post(input: PostSignalInput): Promise<QueuedSignalView> {
      await assertCaller(input.guildId, input.memberRoleIds, input.isAdmin);
      const signal = signalFromOptions(input);
      const result = await intake.submit({
        guildId: input.guildId,
        source: 'command',
        sourceRef: input.interactionId,
        authorId: input.authorId,
        channelId: input.channelId,
        signal,
      });
      if (result.kind === 'rejected') throw rejection(result.reason);
      log.info({ signalId: result.signalId, guildId: input.guildId, accounts: result.accounts }, 'signal queued from /signal');
      return {
        signalId: result.signalId,
        fresh: result.fresh,
        accounts: result.accounts,
        members: result.members,
        paused: result.paused,
        signal: result.signal,
      };
    },

    async cancel(input: { guildId: string; authorId: string; signalId: string }): Promise<{ signalId: string; symbol: string }> {
      const row = await signals.byId(input.signalId);
      if (!row || row.guildId !== input.guildId) throw notFound('Signal');
      if (row.source === 'copy') throw invalid('A copy signal follows a master’s trade (and may take followers out of a position): it cannot be withdrawn.');
      const cancelled = await intake.cancel(input.signalId, input.authorId);
      if (!cancelled) {
        throw row.authorId === input.authorId
          ? invalid('That signal has already finished or was cancelled before.')
          : notFound('Signal');
      }
      log.info({ signalId: input.signalId }, 'signal cancelled by its author');
      return { signalId: cancelled.id, symbol: cancelled.symbol };
    },

    /** The author's signals that can still be cancelled, newest first (autocomplete). */
    async cancellable(guildId: string, authorId: string, typed: string): Promise<PendingSignalChoice[]> {
      const query = typed.trim().toUpperCase();
      const rows = await signals.listRecentByAuthor(guildId, authorId, 25);
      return rows
        .filter((row) => query === '' || row.symbol.includes(query))
        .map((row) => ({
          name: `${row.symbol} ${row.side} · ${row.entryType} · ${row.status} · ${row.createdAt.toISOString().slice(0, 16).replace('T', ' ')} UTC`,
          value: row.id,
        }));
    },
  };
}

export type SignalService = ReturnType<typeof createSignalService>;
