import { describe, expect, it } from 'vitest';
import { Leadership, type HeldLock } from '../../src/leadership';
import { createLogger } from '../../src/logger';

/** One lock shared by "processes": at most one holder; `lose()` is its connection closing. */
class FakeLockServer {
  holder: FakeLock | null = null;
  acquire(onLost: () => void): FakeLock | null {
    if (this.holder) return null;
    this.holder = new FakeLock(this, onLost);
    return this.holder;
  }
}
class FakeLock implements HeldLock {
  lost = false;
  sessionDropped = false;
  constructor(
    private readonly server: FakeLockServer,
    private readonly onLost: () => void,
  ) {}
  async verify() {
    return !this.lost && !this.sessionDropped;
  }
  async release() {
    if (this.server.holder === this) this.server.holder = null;
  }
  /** The connection closed: the server frees the lock and the holder is told. */
  lose() {
    this.lost = true;
    if (this.server.holder === this) this.server.holder = null;
    this.onLost();
  }
  /** The server dropped the session but this side's socket stays open: only verify() can tell. */
  dropSession() {
    this.sessionDropped = true;
    if (this.server.holder === this) this.server.holder = null;
  }
}

const log = createLogger({ level: 'silent' });
const until = async (check: () => boolean, ms = 2_000) => {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
};

function process(server: FakeLockServer, name: string, events: string[], options: { failLead?: () => boolean } = {}) {
  return new Leadership<string>({
    acquire: async (onLost) => server.acquire(onLost),
    lead: async () => {
      if (options.failLead?.()) throw new Error('Discord refused');
      events.push(`${name} leads`);
      return name;
    },
    stopLeading: async (led) => void events.push(`${led} stops`),
    log,
    retryEveryMs: 20,
    verifyEveryMs: 20,
  });
}

describe('leadership of the Discord connection', () => {
  it('one leads; when its lock connection closes it stops at once, and one of them leads again', async () => {
    const server = new FakeLockServer();
    const events: string[] = [];
    const a = process(server, 'a', events);
    const b = process(server, 'b', events);
    await a.start();
    await b.start();
    expect([a.leading, b.leading]).toEqual([true, false]);
    expect(b.current).toBeNull();

    (server.holder as FakeLock).lose();
    await until(() => events.length >= 3);
    // a stopped before anyone started again: never two gateways at once.
    expect(events.slice(0, 2)).toEqual(['a leads', 'a stops']);
    expect(events[2]).toMatch(/^[ab] leads$/);
    expect([a.leading, b.leading].filter(Boolean)).toHaveLength(1);
    // The one that leads stops when it stops; the other never started.
    const leader = a.leading ? 'a' : 'b';
    await a.stop();
    await b.stop();
    expect(events.at(-1)).toBe(`${leader} stops`);
  });

  it('a session the server dropped while the socket stayed open is found by the check, and the leader steps down', async () => {
    const server = new FakeLockServer();
    const events: string[] = [];
    const a = process(server, 'a', events);
    await a.start();
    (server.holder as FakeLock).dropSession();
    await until(() => events.includes('a stops'));
    // Free again: a (the only process) leads again on its next try.
    await until(() => a.leading);
    expect(events).toEqual(['a leads', 'a stops', 'a leads']);
    await a.stop();
  });

  it("the first try's failure fails the start and frees the lock; a later one is tried again", async () => {
    const server = new FakeLockServer();
    const events: string[] = [];
    await expect(process(server, 'a', events, { failLead: () => true }).start()).rejects.toThrow('Discord refused');
    expect(server.holder).toBeNull();

    // b's second election (after a loss) cannot connect: it frees the lock and tries again.
    let elections = 0;
    const b = process(server, 'b', events, { failLead: () => ++elections === 2 });
    await b.start();
    expect(b.leading).toBe(true);
    (server.holder as FakeLock).lose();
    await until(() => b.leading, 3_000);
    expect(elections).toBe(3);
    expect(server.holder).not.toBeNull();
    await b.stop();
    expect(server.holder).toBeNull();
  });
});

describe('a start that hangs (a gateway that cannot be reached)', () => {
  it('is aborted when its lock is lost, and stop() does not wait for it', async () => {
    const server = new FakeLockServer();
    const events: string[] = [];
    let verifies = 0;
    const leadership = new Leadership<string>({
      acquire: async (onLost) => {
        const lock = server.acquire(onLost);
        if (!lock) return null;
        const verify = lock.verify.bind(lock);
        lock.verify = async () => {
          verifies += 1;
          return verify();
        };
        return lock;
      },
      // Never connects on its own: only the abort ends it.
      lead: (signal) =>
        new Promise<string>((_resolve, reject) => {
          events.push('connecting');
          signal.addEventListener('abort', () => {
            events.push('aborted');
            reject(signal.reason as Error);
          });
        }),
      stopLeading: async () => void events.push('stopped'),
      log,
      retryEveryMs: 20,
      verifyEveryMs: 20,
    });
    // Another process holds it at first: this one wins it later, in a takeover (not the first try).
    const other = server.acquire(() => {})!;
    await leadership.start();
    await other.release();
    await until(() => events.includes('connecting'));
    server.holder!.lose();
    await until(() => events.includes('aborted'));
    expect(leadership.leading).toBe(false);
    // The chain is free again: it tries for the lock again (and connects again), and stop() ends that too.
    await until(() => events.filter((e) => e === 'connecting').length >= 2);
    await leadership.stop();
    expect(events.filter((e) => e === 'aborted').length).toBeGreaterThanOrEqual(2);
    expect(events).not.toContain('stopped');
    expect(verifies).toBe(0);
  });
});
