import type { GuildsRepository } from '../db/repositories/guilds';
import type { SignalsRepository } from '../db/repositories/signals';
import { describeReason } from '../domain/reasons';
import type { SignalRejectionReason, TradeSignal } from '../domain/signal';
import { parseSignalOptions, readPrices, type OptionsRefusal, type SignalOptions } from '../signals';
export { normaliseSymbol } from '../signals';
import type { Logger } from '../logger';
import type { SignalIntake } from '../trading/signalIntake';
import { forbidden, invalid, notFound } from './errors';

export interface PostSignalInput extends SignalOptions {
  guildId: string;
  channelId: string | null;
  authorId: string;
  /** The interaction id: the idempotency key, so a retried interaction queues one signal. */
  interactionId: string;
  memberRoleIds: readonly string[];
  isAdmin: boolean;
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

/** The refusal of a value /signal could not read, in the words the caller sees. */
function refused(refusal: OptionsRefusal): Error {
  return refusal.reason === 'bad-side' ? invalid('Side must be long or short.') : rejection(refusal.reason, refusal.detail);
}

export function readPriceList(text: string, what: string): number[] {
  const read = readPrices(text, what);
  if (!read.ok) throw refused(read);
  return read.value;
}

/** The structured signal from /signal's options (validated afterwards by the one validation). */
export function signalFromOptions(input: Pick<PostSignalInput, 'symbol' | 'side' | 'entry' | 'stop' | 'takeProfits' | 'leverage'>): TradeSignal {
  const read = parseSignalOptions(input);
  if (!read.ok) throw refused(read);
  return read.value;
}

export function createSignalService(deps: {
  intake: SignalIntake;
  signals: SignalsRepository;
  guilds: GuildsRepository;
  log: Logger;
}) {
  const { intake, signals, guilds, log } = deps;

  /** Members with the caller role may publish; without a caller role set, only admins may. Answers whether the server is paused. */
  async function assertCaller(guildId: string, roles: readonly string[], isAdmin: boolean): Promise<{ paused: boolean }> {
    const settings = await guilds.get(guildId);
    const role = settings?.callerRoleId ?? null;
    const allowed = { paused: settings?.paused ?? false };
    if (role !== null && roles.includes(role)) return allowed;
    if (role === null && isAdmin) return allowed;
    throw forbidden(
      role === null
        ? 'No caller role is set on this server yet: an admin sets one with /setup caller-role.'
        : `Only members with the caller role <@&${role}> can publish signals.`,
    );
  }

  return {
    async post(input: PostSignalInput): Promise<QueuedSignalView> {
      const { paused } = await assertCaller(input.guildId, input.memberRoleIds, input.isAdmin);
      const signal = signalFromOptions(input);
      const result = await intake.submit({
        guildId: input.guildId,
        source: 'command',
        sourceRef: input.interactionId,
        authorId: input.authorId,
        channelId: input.channelId,
        signal,
        guildPaused: paused,
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
