import { afterEach, describe, expect, it } from 'vitest';
import { botWorld, type BotWorld } from '../support/bot';
import { playDemoSession } from './demoSession';

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
    const result = await playDemoSession({
      discord: w.discord,
      binance: w.binance,
      guild: w.guild,
      print: (line) => lines.push(line),
      afterSignal: async () => {
        await w.runCycle();
        await w.flushFeed();
      },
    });
    const out = lines.join('\n');
    if (process.env.DEMO_PRINT) console.log(out);
    expect(result.feedMessages).toBeGreaterThan(0);
    expect(out).toContain('Account added');
    expect(out).toContain('demo…0001');
    expect(out).not.toContain('demoAliceKey0000000000000000000000000001');
    expect(out).not.toContain('demoAliceSecret');
    expect(out).toContain('filled 3 of 3');
    expect(out).toContain('Your orders');
    expect(out).toContain('Your PnL');
    expect(out).toContain('@alice');
    expect(w.discord.violations).toEqual([]);
  });
});
