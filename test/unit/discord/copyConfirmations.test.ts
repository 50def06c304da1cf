import { Routes, type REST } from 'discord.js';
import { describe, expect, it } from 'vitest';
import { createCopyConfirmSender } from '../../../src/discord/copyConfirmations';
import { createLogger } from '../../../src/logger';
import type { CopyConfirmationView, CopyService } from '../../../src/services/copy';

const NOW = Date.UTC(2026, 0, 5, 12);

function world(failures: Record<string, unknown[]>) {
  let now = NOW;
  const pending = new Map<string, CopyConfirmationView>();
  const marked: [string, string | null][] = [];
  const sends: string[] = [];
  const view = (id: string, ownerId: string, expiresAt = NOW + 120_000): CopyConfirmationView => ({
    id,
    ownerId,
    accountName: 'main',
    signal: { symbol: 'BTC/USDT', side: 'long', entryType: 'market', entries: [], stopLoss: 25_000, takeProfits: [], leverage: null },
    action: 'open',
    quantity: 0.01,
    reduceFraction: null,
    price: 50_000,
    expiresAt,
  });
  const copy = {
    // As the repository pages: the oldest `limit`, leaving out those waiting to be tried again.
    pendingConfirmations: async (limit = 50, waiting: readonly string[] = []) => [...pending.values()].filter((v) => !waiting.includes(v.id)).slice(0, limit),
    markConfirmationSent: async (id: string, messageId: string | null) => {
      marked.push([id, messageId]);
      pending.delete(id);
    },
  } as unknown as CopyService;
  // Discord over REST: the DM channel opened, then the message posted to it.
  const rest = {
    post: async (route: string, options: { body: { recipient_id?: string } }) => {
      if (route === Routes.userChannels()) return { id: `dm-${options.body.recipient_id}` };
      const ownerId = route.split('/')[2]!.slice('dm-'.length);
      sends.push(ownerId);
      await new Promise((resolve) => setTimeout(resolve, 5));
      const next = failures[ownerId]?.shift();
      if (next) throw next;
      return { id: `m-${ownerId}-${sends.length}` };
    },
  } as unknown as Pick<REST, 'post'>;
  const sender = createCopyConfirmSender({ rest, copy, log: createLogger({ level: 'silent' }), now: () => now });
  return { sender, pending, marked, sends, view, advance: (ms: number) => (now += ms) };
}

describe('copy confirmation DMs (issue #13 item 11)', () => {
  it('one pass at a time: overlapping flushes send each DM once', async () => {
    const w = world({});
    w.pending.set('c1', w.view('c1', 'u1'));
    w.pending.set('c2', w.view('c2', 'u2'));
    await Promise.all([w.sender.flush(), w.sender.flush(), w.sender.flush()]);
    expect(w.sends).toEqual(['u1', 'u2']);
  });

  it('only "cannot send messages to this user" (50007) skips the copy; 40003, 429 and 5xx are tried again within the window', async () => {
    const w = world({ closed: [{ code: 50007 }], busy: [{ code: 40003 }, { status: 429 }, { status: 502 }] });
    w.pending.set('a', w.view('a', 'closed'));
    w.pending.set('b', w.view('b', 'busy'));
    await w.sender.flush();
    expect(w.marked).toEqual([['a', null]]);
    await w.sender.flush(); // too soon: not tried again yet
    expect(w.sends.filter((u) => u === 'busy')).toHaveLength(1);
    for (let i = 0; i < 3; i += 1) {
      w.advance(6_000);
      await w.sender.flush();
    }
    expect(w.marked).toEqual([
      ['a', null],
      ['b', 'm-busy-5'],
    ]);
  });

  it('a DM that never went out within the window: the copy is skipped, nothing sent late', async () => {
    const w = world({ busy: [{ status: 502 }] });
    w.pending.set('late', w.view('late', 'busy', NOW + 3_000));
    await w.sender.flush();
    w.advance(6_000);
    await w.sender.flush();
    expect(w.sends).toEqual(['busy']);
    expect(w.marked).toEqual([['late', null]]);
  });

  it('DMs waiting to be tried again never hold up newer ones, however many there are', async () => {
    const w = world(Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`busy${i}`, [{ status: 502 }]])));
    for (let i = 0; i < 60; i += 1) w.pending.set(`b${i}`, w.view(`b${i}`, `busy${i}`));
    await w.sender.flush(); // the first 50 fail and wait
    w.pending.set('fresh', w.view('fresh', 'newcomer'));
    await w.sender.flush(); // the other 10 and the newcomer go
    expect(w.marked.map(([id]) => id)).toContain('fresh');
  });
});
