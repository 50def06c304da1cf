import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createCopyTrading } from '../../src/copy/copyTrading';
import { createPositionSync } from '../../src/trading/positionSync';
import { createSignalIntake } from '../../src/trading/signalIntake';
import { botWorld, type BotWorld } from '../support/bot';
import { playDemoSession } from './demoSession';
import { createStore } from '../../src/db/store';

let world: BotWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

describe('demo session', () => {
  it('plays the scripted session and prints what each person sees, with no key in the output', async () => {
    world = await botWorld();
    const w = world;
    const lines: string[] = [];
    const dir = mkdtempSync(join(tmpdir(), 'demo-test-'));
    const chartFile = join(dir, 'pnl.png');
    const sync = createPositionSync({ store: createStore(w.db.db), gateways: w.gateways, clock: w.clock, log: w.log });
    const copy = createCopyTrading({ store: createStore(w.db.db), gateways: w.gateways, intake: createSignalIntake(createStore(w.db.db), w.clock, () => {}), clock: w.clock, log: w.log });
    try {
      const result = await playDemoSession({
        discord: w.discord,
        binance: w.binance,
        guild: w.guild,
        print: (line) => lines.push(line),
        // The test composition has no scheduler: copy trading's poll, a cycle, a position sync pass
        // and the feed, by hand.
        settle: async () => {
          await copy.poll();
          await w.runCycle();
          await sync.run();
          await w.flushFeed();
        },
        chartFile,
      });
      const out = lines.join('\n');
      if (process.env.DEMO_PRINT) console.log(out);
      expect(out).toContain('Account added');
      expect(out).toContain('demo…0001');
      expect(out).not.toContain('demoAliceKey0000000000000000000000000001');
      expect(out).not.toContain('demoAliceSecret');
      // Pressing Enable shows the member what changed.
      expect(out).toMatch(/alice presses \[Enable · alice-main\][^\n]*\n\s+┌ Your exchange accounts[^\n]*\n[^\n]*\n[^\n]*alice-main[^\n]*✅ enabled/);
      // The free-text signal, one account skipping it with its reason, then the position's whole life.
      expect(out).toContain('carol writes in #signals');
      expect(out).toContain('filled 2 of 3');
      expect(result.feedTitles.some((t) => t.includes('skipped'))).toBe(true);
      expect(out).toMatch(/Reason: [^\n]*block/i);
      for (const title of ['take-profit 1 hit', 'stop moved to break-even', 'position closed']) expect(result.feedTitles.some((t) => t.includes(title))).toBe(true);
      expect(out).toContain('Cause: take-profit');
      // alice-main shares amounts: its take-profit says what it closed and gained, its close its PnL.
      expect(out).toMatch(/Gain on this part: \+[\d,.]+ USDT/);
      expect(out).toMatch(/PnL: \+[\d,.]+ USDT/);
      // The copy round trip: bob's mirror of alice's ETH buy and sale by hand.
      expect(out).toContain('alice buys 0.2 ETH by hand');
      expect(result.feedTitles.filter((t) => t.includes('ETH')).length).toBeGreaterThanOrEqual(2);
      expect(out).toMatch(/Copied [12]/);
      expect(out).toContain('Your orders');
      expect(out).toContain('Your PnL');
      expect(result.chartSaved).toBe(true);
      expect(readFileSync(chartFile).subarray(1, 4).toString()).toBe('PNG');
      expect(out).toContain('@alice');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(w.discord.violations).toEqual([]);
  });
});
