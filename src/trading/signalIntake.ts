import { randomUUID } from 'node:crypto';
import type { Store } from '../db/store';
import type { SignalSource } from '../db/repositories/signals';
import type { SignalRejectionReason, TradeSignal, ValidatedSignal } from '../domain/signal';
import { signalTargets } from '../domain/signalTargets';
import type { CopyInstructions } from '../domain/copy';
import { validateSignal } from '../domain/signalValidation';
import type { Clock } from '../clock';
import type { SymbolListing } from './symbolListing';

export type IntakeResult =
  | {
      kind: 'queued';
      signalId: string;
      /** False when the same message or interaction was already queued (nothing queued twice). */
      fresh: boolean;
      accounts: number;
      members: number;
      paused: boolean;
      signal: TradeSignal;
    }
  | { kind: 'rejected'; reason: SignalRejectionReason };

export interface SignalSubmission {
  guildId: string;
  source: SignalSource;
  /** Idempotency key within the source (message id, interaction id, fill id, candle time). */
  sourceRef: string;
  authorId: string | null;
  channelId: string | null;
  signal: TradeSignal;
  copy?: CopyInstructions;
  /** Whether the server is paused, as the caller just read its settings (read here when not given). */
  guildPaused?: boolean;
}

/**
 * The one validation, then the signal is written once (idempotent on source and sourceRef), with
 * `store` the process's store or a transaction's (copy trading queues its signals in the transaction
 * that moves its cursor). Waking the engine is the caller's.
 */
export async function queueSignal(
  store: Store,
  input: SignalSubmission,
  createdAt: Date,
): Promise<{ kind: 'queued'; id: string; inserted: boolean; signal: ValidatedSignal } | { kind: 'rejected'; reason: SignalRejectionReason }> {
  const validation = validateSignal(input.signal);
  if (!validation.ok) return { kind: 'rejected', reason: validation.reason };
  const queued = await enqueueValidated(store, input, validation.signal, createdAt);
  return { kind: 'queued', id: queued.id, inserted: queued.inserted, signal: validation.signal };
}

function enqueueValidated(store: Store, input: SignalSubmission, signal: ValidatedSignal, createdAt: Date): Promise<{ id: string; inserted: boolean }> {
  return store.signals.enqueue({
    id: randomUUID(),
    guildId: input.guildId,
    source: input.source,
    sourceRef: input.sourceRef,
    authorId: input.authorId,
    channelId: input.channelId,
    signal,
    ...(input.copy ? { copy: input.copy } : {}),
    createdAt,
  });
}

/**
 * Every signal source ends here: the one validation decides, the signal is queued once, and the
 * engine is woken at once. The answer says what will happen ("executing on N accounts of M members").
 */
export function createSignalIntake(
  store: Store,
  clock: Clock,
  wakeEngine: () => void,
  options: { symbols?: SymbolListing } = {},
) {
  const signals = store.signals;
  const accounts = store.accounts;
  const guilds = store.guilds;
  return {
    async submit(input: SignalSubmission): Promise<IntakeResult> {
      const validation = validateSignal(input.signal);
      if (!validation.ok) return { kind: 'rejected', reason: validation.reason };
      // People's signals name a pair that must exist; copy and strategy signals come from markets.
      if (options.symbols && (input.source === 'channel' || input.source === 'command')) {
        const checked = await options.symbols.check(input.guildId, validation.signal);
        if (checked !== 'accept') return { kind: 'rejected', reason: checked };
      }
      const queued = await enqueueValidated(store, input, validation.signal, new Date(clock.now()));
      if (queued.inserted) wakeEngine();
      const [trading, paused] = await Promise.all([
        accounts.listTradingInGuild(input.guildId, new Date(clock.now())),
        input.guildPaused ?? guilds.get(input.guildId).then((guild) => guild?.paused ?? false),
      ]);
      const targets = signalTargets(input, trading);
      return {
        kind: 'queued',
        signalId: queued.id,
        fresh: queued.inserted,
        accounts: targets.length,
        members: new Set(targets.map((account) => account.ownerId)).size,
        paused,
        signal: validation.signal,
      };
    },

    /** Wakes the engine for signals queued another way (the closes that end a mastership). */
    wake: wakeEngine,

    /** Withdraws a pending signal of its author; the engine cancels its unfilled entries. */
    cancel: (signalId: string, authorId: string) => signals.cancel(signalId, authorId, new Date(clock.now())),
  };
}

export type SignalIntake = ReturnType<typeof createSignalIntake>;
