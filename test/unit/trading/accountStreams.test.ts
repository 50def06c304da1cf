import { describe, expect, it } from 'vitest';
import type { AccountChange, AccountStream, StreamedOrder } from '../../../src/exchange/gateway';
import { createLogger } from '../../../src/logger';
import { AccountStreams, type StreamHint } from '../../../src/trading/positions/accountStreams';
import { acceleratedClock } from '../../support/clock';

/** A stream the test drives: `open()` a connection, `push()` an event, `lose()` the connection. */
class FakeStream implements AccountStream {
  connects = 0;
  closed = false;
  private listeners: (() => void)[] = [];
  private pending: { resolve: (c: AccountChange) => void; reject: (e: Error) => void } | null = null;
  private connected = false;

  constructor(private readonly failConnects = 0) {}

  onOpen(listener: () => void): void {
    this.listeners.push(listener);
  }
  private balanceListeners: (() => void)[] = [];
  onBalanceChange(listener: () => void): void {
    this.balanceListeners.push(listener);
  }
  /** The exchange reports a balance change. */
  balanceChanged(): void {
    for (const listener of this.balanceListeners) listener();
  }
  next(): Promise<AccountChange> {
    return new Promise((resolve, reject) => {
      if (!this.connected) {
        this.connects += 1;
        if (this.connects <= this.failConnects) return reject(new Error('refused'));
        this.connected = true;
        for (const listener of this.listeners) listener();
      }
      this.pending = { resolve, reject };
    });
  }
  push(...orders: StreamedOrder[]): void {
    this.pending?.resolve({ orders });
    this.pending = null;
  }
  /** An order event the stream could not show (it came before anyone waited for it). */
  missed(): void {
    this.pending?.resolve({ orders: [], missed: true });
    this.pending = null;
  }
  lose(): void {
    this.connected = false;
    this.pending?.reject(new Error('socket closed'));
    this.pending = null;
  }
  async close(): Promise<void> {
    this.closed = true;
    this.lose();
  }
}

const log = createLogger({ level: 'silent' });

function harness(options: { connectEveryMs?: number; connectBurst?: number; failConnects?: number; noKey?: Set<string> } = {}) {
  // 20×: timers fire to the real millisecond, 20 ms of this clock.
  const clock = acceleratedClock(20);
  const streams = new Map<string, FakeStream>();
  const hints: [string, StreamHint][] = [];
  const connectTimes: number[] = [];
  const warnings: string[] = [];
  const made: string[] = [];
  const manager = new AccountStreams<{ id: string; streamable: boolean; key?: string }>({
    streamFor: (account) => {
      if (options.noKey?.has(account.id)) throw new Error(`account ${account.id} has no API key stored`);
      if (!account.streamable) return null;
      made.push(`${account.id}:${account.key ?? ''}`);
      const stream = new FakeStream(options.failConnects ?? 0);
      const next = stream.next.bind(stream);
      stream.next = () => {
        connectTimes.push(clock.now());
        return next();
      };
      streams.set(account.id, stream);
      return stream;
    },
    onHint: (account, hint) => hints.push([account.id, hint]),
    versionOf: (account) => account.key ?? '',
    clock,
    log: Object.assign(Object.create(log) as typeof log, { warn: (_obj: object, msg: string) => warnings.push(msg) }),
    connectEveryMs: options.connectEveryMs ?? 1_200,
    ...(options.connectBurst === undefined ? {} : { connectBurst: options.connectBurst }),
  });
  return { clock, streams, hints, connectTimes, manager, warnings, made };
}

describe('AccountStreams', () => {
  it('asks for a visit on each report worth one; accounts without a stream are polled only', async () => {
    const { streams, hints, manager } = harness({ connectEveryMs: 0 });
    manager.follow([
      { id: 'a', streamable: true },
      { id: 'paper', streamable: false },
    ]);
    await expect.poll(() => manager.open).toBe(1);
    expect(streams.has('paper')).toBe(false);
    // The bot's own order resting as placed is not news; its fill is.
    const own = { symbol: 'LINK/USDT:USDT', clientOrderId: `mb${'A'.repeat(22)}`, status: 'open' as const, filled: 0 };
    streams.get('a')!.push(own);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(hints).toEqual([]);
    streams.get('a')!.push({ ...own, status: 'closed', filled: 2 });
    await expect.poll(() => hints).toEqual([['a', 'event']]);
    await manager.stop();
    expect(streams.get('a')!.closed).toBe(true);
    expect(manager.open).toBe(0);
  });

  it('a missed order event asks for a visit, though it shows no order', async () => {
    const { streams, hints, manager } = harness({ connectEveryMs: 0 });
    manager.follow([{ id: 'a', streamable: true }]);
    await expect.poll(() => manager.open).toBe(1);
    streams.get('a')!.push();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(hints).toEqual([]);
    streams.get('a')!.missed();
    await expect.poll(() => hints).toEqual([['a', 'event']]);
    await manager.stop();
  });

  it('paces connects process-wide: a burst at once, then one per gap (Binance counts attempts per IP)', async () => {
    const { clock, connectTimes, manager } = harness({ connectEveryMs: 1_200, connectBurst: 2 });
    const startedAt = clock.now();
    manager.follow(['a', 'b', 'c', 'd', 'e'].map((id) => ({ id, streamable: true })));
    await expect.poll(() => manager.open, { timeout: 10_000 }).toBe(5);
    const times = [...connectTimes].sort((x, y) => x - y).map((t) => t - startedAt);
    // Two at once (the burst), then the i-th waits (i - 1) gaps (a busy machine only delays them).
    times.forEach((t, i) => expect(t).toBeGreaterThanOrEqual(Math.max(0, i - 1) * 1_200 - 50));
    await manager.stop();
  });

  it('connects a burst at once and holds the rest for their tokens', async () => {
    // A clock that barely moves: what is not in the burst waits (for 10 real minutes here).
    const frozen = acceleratedClock(0.002);
    const opened: string[] = [];
    const manager = new AccountStreams<{ id: string }>({
      streamFor: (account) => {
        const stream = new FakeStream();
        stream.onOpen(() => opened.push(account.id));
        return stream;
      },
      onHint: () => undefined,
      clock: frozen,
      log,
      connectEveryMs: 1_200,
      connectBurst: 3,
    });
    manager.follow(['a', 'b', 'c', 'd', 'e'].map((id) => ({ id })));
    await expect.poll(() => opened).toEqual(['a', 'b', 'c']);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(opened).toEqual(['a', 'b', 'c']);
    await manager.stop();
  });

  it('says since when balances are unchanged: from the open, then from the last balance change reported; unknown while down', async () => {
    const { clock, streams, manager } = harness({ connectEveryMs: 0 });
    expect(manager.balanceQuietSince('a')).toBeNull();
    manager.follow([{ id: 'a', streamable: true }]);
    await expect.poll(() => manager.open).toBe(1);
    const openedAt = manager.listeningSince('a')!;
    expect(manager.balanceQuietSince('a')).toBe(openedAt);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const before = clock.now();
    streams.get('a')!.balanceChanged();
    expect(manager.balanceQuietSince('a')).toBeGreaterThanOrEqual(before);
    streams.get('a')!.lose();
    await expect.poll(() => manager.balanceQuietSince('a')).toBeNull();
    await manager.stop();
  });

  it('reconnects after a loss with a growing back-off, and the reconnect (not the first connect) asks for a visit', async () => {
    const { clock, streams, hints, connectTimes, manager } = harness({ connectEveryMs: 0 });
    manager.follow([{ id: 'a', streamable: true }]);
    await expect.poll(() => manager.open).toBe(1);
    expect(manager.listeningSince('a')).not.toBeNull();
    const lostAt = clock.now();
    streams.get('a')!.lose();
    expect(hints).toEqual([]);
    // Not listening while it is down: its routine turns come as often as any polled account's.
    await expect.poll(() => manager.listeningSince('a')).toBeNull();
    await expect.poll(() => hints, { timeout: 10_000 }).toEqual([['a', 'reconnected']]);
    // Open again since the reconnect (what came before it was not heard on this connection).
    expect(manager.listeningSince('a')).toBeGreaterThanOrEqual(connectTimes.at(-1)! - 50);
    // The first retry waits between half and all of a second.
    const reconnectAt = connectTimes.at(-1)!;
    expect(reconnectAt - lostAt).toBeGreaterThanOrEqual(500 - 50);
    await manager.stop();
    expect(manager.listeningSince('a')).toBeNull();
  });

  it('waits longer after each refused connect, and stopping ends the wait at once', async () => {
    const { connectTimes, manager } = harness({ connectEveryMs: 0, failConnects: 4 });
    manager.follow([{ id: 'a', streamable: true }]);
    await expect.poll(() => connectTimes.length, { timeout: 20_000 }).toBe(5);
    const gaps = connectTimes.slice(1).map((t, i) => t - connectTimes[i]!);
    // 1 s, 2 s, 4 s, 8 s, each with jitter down to half (a loaded machine only adds to them).
    gaps.forEach((gap, i) => expect(gap).toBeGreaterThanOrEqual(1_000 * 2 ** i * 0.5 - 50));
    await expect.poll(() => manager.open).toBe(1);
    manager.follow([], { linger: false });
    await expect.poll(() => manager.open).toBe(0);
    await manager.stop();
  });

  it('closes the stream of an account no longer followed once it has lingered', async () => {
    const { clock, streams, manager } = harness({ connectEveryMs: 0 });
    manager.follow([{ id: 'a', streamable: true }, { id: 'b', streamable: true }]);
    await expect.poll(() => manager.open).toBe(2);
    // Not followed for a while: kept (its next signal is usually near).
    manager.follow([{ id: 'b', streamable: true }]);
    expect(streams.get('a')!.closed).toBe(false);
    clock.advance(10 * 60_000);
    manager.follow([{ id: 'b', streamable: true }]);
    await expect.poll(() => streams.get('a')!.closed).toBe(true);
    expect(streams.get('b')!.closed).toBe(false);
    expect(manager.open).toBe(1);
    await manager.stop();
  });

  it('an account whose stream cannot be made (no key stored) is polled only; the others get theirs, and it is told once', async () => {
    const { manager, warnings } = harness({ connectEveryMs: 0, noKey: new Set(['keyless']) });
    const accounts = [
      { id: 'keyless', streamable: true },
      { id: 'b', streamable: true },
    ];
    expect(() => manager.follow(accounts)).not.toThrow();
    manager.follow(accounts);
    await expect.poll(() => manager.open).toBe(1);
    expect(warnings).toEqual(['no user-data stream for this account; polling follows it']);
    await manager.stop();
  });

  it('a new key (another version of the account) gets a new stream; the old one is closed', async () => {
    const { streams, made, manager } = harness({ connectEveryMs: 0 });
    manager.follow([{ id: 'a', streamable: true, key: 'old' }]);
    await expect.poll(() => manager.open).toBe(1);
    const old = streams.get('a')!;
    manager.follow([{ id: 'a', streamable: true, key: 'new' }]);
    await expect.poll(() => old.closed).toBe(true);
    await expect.poll(() => manager.open).toBe(1);
    expect(made).toEqual(['a:old', 'a:new']);
    await manager.stop();
  });

  it('stop() also waits for streams closed before it, and never longer than a few seconds', async () => {
    const { clock, manager } = harness({ connectEveryMs: 0 });
    let releaseClose!: () => void;
    const hung = new Promise<void>((resolve) => (releaseClose = resolve));
    const stuck: AccountStream = {
      onOpen: () => undefined,
      onBalanceChange: () => undefined,
      next: () => new Promise(() => undefined),
      close: () => hung,
    };
    const other = new AccountStreams<{ id: string }>({ streamFor: () => stuck, onHint: () => undefined, clock, log });
    other.follow([{ id: 'x' }]);
    const startedAt = clock.now();
    await other.stop();
    // Bounded: a close that never ends does not hold the shutdown past 5 s (of this clock).
    expect(clock.now() - startedAt).toBeGreaterThanOrEqual(5_000 - 50);
    releaseClose();
    await manager.stop();
  });
});
