/**
 * Binance refusals that are about the ACCOUNT, not its key (ccxt's PermissionDenied, a subclass of
 * AuthenticationError): a leverage above 20× on an unverified account (-4202) and an account its
 * Futures Trading Quantitative Rules restrict to reduce-only orders (-4400). Nothing was applied, the
 * key still works: the account stays enabled, its owner gets no "key revoked" message, and the
 * summary names the real reason.
 */
import { eq } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { describeReason } from '../../../src/domain/reasons';
import { exchangeAccounts, executions, feedOutbox } from '../../../src/db/schema';
import { renderSummaryEmbeds } from '../../../src/discord/embeds/feed';
import type { SummaryFeedEvent } from '../../../src/domain/feedEvents';
import { GUILD, tradingWorld, type TradingWorld } from '../../support/trading';

let world: TradingWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

describe('accounts the exchange restricts (permission refusals are not revoked keys)', () => {
  it('skips a leverage the account may not use and fails a restricted entry, keeping both accounts enabled', async () => {
    world = await tradingWorld({ accounts: 0 });
    const unverified = await world.addAccount({ name: 'unverified', leverage: 50, rules: { leverageLimit: 20 } });
    const restricted = await world.addAccount({ name: 'restricted', rules: { quantitativeRulesViolated: true } });
    const healthy = await world.addAccount({ name: 'healthy' });
    const engine = world.engine({ maxSignalLagMs: 30 * 60_000 });
    await engine.start();
    const queued = await world.intake.submit({
      guildId: GUILD,
      source: 'command',
      sourceRef: 'restricted-accounts',
      authorId: '200000000000099999',
      channelId: null,
      signal: {
        symbol: 'BTC/USDT',
        side: 'long',
        entryType: 'market',
        entries: [],
        stopLoss: 48_000,
        takeProfits: [52_000],
        leverage: 50,
      },
    });
    expect(queued.kind).toBe('queued');
    await engine.runCycle();

    // The exchange really answered with the permission codes.
    const codes = world.sim.requestLog.map((entry) => entry.code);
    expect(codes).toContain(-4202);
    expect(codes).toContain(-4400);

    const outcome = async (accountId: string) =>
      (await world!.db.db.select().from(executions).where(eq(executions.accountId, accountId)))[0];
    expect(await outcome(unverified.id)).toMatchObject({ status: 'skipped', reason: 'leverage-not-allowed' });
    expect(await outcome(restricted.id)).toMatchObject({ status: 'failed', reason: 'trading-restricted' });
    expect(await outcome(healthy.id)).toMatchObject({ status: 'placed', reason: null });

    for (const account of [unverified, restricted]) {
      const [row] = await world.db.db.select().from(exchangeAccounts).where(eq(exchangeAccounts.id, account.id));
      expect(row).toMatchObject({ enabled: true, disabledReason: null });
    }
    const feed = await world.db.db.select().from(feedOutbox);
    expect(feed.filter((row) => row.kind === 'dm')).toEqual([]);

    // The summary tells the owners why, in plain words.
    const summary = feed.find((row) => row.kind === 'summary')?.payload as SummaryFeedEvent;
    expect(summary.skipped).toEqual([expect.objectContaining({ accountName: 'unverified', reason: 'leverage-not-allowed' })]);
    expect(summary.failed).toEqual([expect.objectContaining({ accountName: 'restricted', reason: 'trading-restricted' })]);
    const text = JSON.stringify(renderSummaryEmbeds(summary));
    expect(describeReason('leverage-not-allowed')).toMatch(/leverage above 20× not allowed for this account yet/);
    expect(describeReason('trading-restricted')).toMatch(/only reduce-only orders/);
    expect(text).toContain(describeReason('leverage-not-allowed'));
    expect(text).toContain(describeReason('trading-restricted'));
    expect(text).not.toMatch(/key revoked/);
  });
});
