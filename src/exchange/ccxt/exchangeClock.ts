/**
 * How far this host's clock is from each exchange's, so what ccxt signs carries the EXCHANGE's time.
 * Binance rejects a signed request whose timestamp is 1 s or more ahead of its clock, or older than
 * recvWindow (-1021), so a host clock a few seconds off would have every order refused.
 *
 * One offset per (exchange, mode, market type): spot and USDⓈ-M (and demo) are different servers.
 * It is read from the exchange's public time endpoint (Binance: /api/v3/time, /fapi/v1/time, weight 1)
 * on first use, again in the background when older than `refreshMs`, and at once after a -1021
 * (`resync`). Only what ccxt signs is corrected (its `options.timeDifference`); the engine keeps its
 * own injected clock.
 */
import { inSignalLane } from '../requestLane';

export interface ExchangeClockOptions {
  /** The local clock ccxt signs with. */
  now: () => number;
  /** The exchange's time (ms) for one key, or undefined when the exchange has no time endpoint. */
  readServerTime: (key: ClockKey) => Promise<number | undefined>;
  /** Re-read the offset after this long (default 5 min). */
  refreshMs?: number;
  /** After a failed read, wait this long before trying again unless a -1021 asks (default 30 s). */
  retryMs?: number;
}

export interface ClockKey {
  exchangeId: string;
  mode: 'live' | 'demo';
  marketType: 'spot' | 'futures';
}

/** One exchange clock as a gateway sees it. */
export interface ExchangeClock {
  /** Local clock minus the exchange's (ms); 0 until measured. */
  offsetMs(): number;
  /** Which read the offset comes from: a request signed with it names it to `resync`. */
  generation(): number;
  /**
   * Measures the offset when it is unknown (waits) or stale (in the background). Never throws: a
   * failed read keeps the last offset.
   */
  sync(): Promise<void>;
  /**
   * After a -1021 of a request signed with `generation`: reads again at once and waits, unless a read
   * started since (a burst of refusals makes one read). Never throws.
   */
  resync(generation: number): Promise<void>;
}

interface Slot {
  offsetMs: number;
  /** Reads started so far (successful or not). */
  generation: number;
  /** When the last read started (local clock); undefined = never. */
  attemptedAt: number | undefined;
  measured: boolean;
  reading: Promise<void> | undefined;
}

export class ExchangeClocks {
  private readonly slots = new Map<string, Slot>();
  private readonly refreshMs: number;
  private readonly retryMs: number;

  constructor(private readonly options: ExchangeClockOptions) {
    this.refreshMs = options.refreshMs ?? 5 * 60_000;
    this.retryMs = options.retryMs ?? 30_000;
  }

  for(key: ClockKey): ExchangeClock {
    const id = `${key.exchangeId}:${key.mode}:${key.marketType}`;
    let slot = this.slots.get(id);
    if (!slot) {
      slot = { offsetMs: 0, generation: 0, attemptedAt: undefined, measured: false, reading: undefined };
      this.slots.set(id, slot);
    }
    const own = slot;
    return {
      offsetMs: () => own.offsetMs,
      generation: () => own.generation,
      sync: () => this.sync(key, own),
      resync: (generation) => this.resync(key, own, generation),
    };
  }

  private async sync(key: ClockKey, slot: Slot): Promise<void> {
    if (slot.reading) {
      // Being read: wait only when there is nothing to serve yet.
      if (!slot.measured) await slot.reading;
      return;
    }
    const age = slot.attemptedAt === undefined ? Infinity : this.options.now() - slot.attemptedAt;
    if (age < (slot.measured ? this.refreshMs : this.retryMs)) return;
    const reading = this.start(key, slot);
    // A stale but known offset keeps serving while the new one is read.
    if (!slot.measured) await reading;
  }

  private async resync(key: ClockKey, slot: Slot, generation: number): Promise<void> {
    if (slot.reading) await slot.reading;
    else if (slot.generation === generation) await this.start(key, slot);
  }

  private start(key: ClockKey, slot: Slot): Promise<void> {
    // Shared: whoever waits for it (a signal's order, say) must not wait behind background reads.
    const reading = inSignalLane(() => this.read(key, slot)).finally(() => {
      slot.reading = undefined;
    });
    slot.reading = reading;
    return reading;
  }

  private async read(key: ClockKey, slot: Slot): Promise<void> {
    slot.attemptedAt = this.options.now();
    slot.generation += 1;
    try {
      const serverTime = await this.options.readServerTime(key);
      if (serverTime === undefined) {
        // No time endpoint: nothing to correct with; do not ask again.
        slot.measured = true;
        return;
      }
      // Taken when the answer arrived: the server stamped it earlier, so the corrected clock errs on
      // the side of being a little behind the exchange (accepted within recvWindow), never ahead.
      slot.offsetMs = this.options.now() - serverTime;
      slot.measured = true;
    } catch {
      // Keep the last offset; the request that needs it may still succeed, and -1021 forces a new read.
    }
  }
}
