import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { renderAccountList, renderAddResult, ACCOUNTS_PER_PAGE } from '../../../src/discord/embeds/accounts';
import { COMPACT_DESCRIPTION_CHARS, OUTCOME_STYLE, renderCompactOrders, renderNoticeEmbed, renderOrderEmbed, renderPositionEmbed, renderSummaryEmbeds } from '../../../src/discord/embeds/feed';
import { DISCORD_LIMITS, embedLength, escapeMarkdown, formatMoney, formatPrice, limitProblems } from '../../../src/discord/embeds/format';
import { packMessages } from '../../../src/discord/embeds/pack';
import { renderHelp, renderOrdersPage, renderPnl } from '../../../src/discord/embeds/views';
import type { ReasonCode } from '../../../src/domain/reasons';
import { SKIP_REASONS, FAILURE_REASONS } from '../../../src/domain/reasons';
import { tradeStats } from '../../../src/domain/tradeStats';
import type { AccountView } from '../../../src/services/accounts';
import type { OrderFeedEvent, OrderOutcome, SummaryFeedEvent } from '../../../src/domain/feedEvents';

const text = (value: unknown) => JSON.stringify(value);

const order = (over: Partial<OrderFeedEvent> = {}): OrderFeedEvent => ({
  type: 'order',
  signalId: '7b1f3c3e-0000-4000-8000-000000000001',
  accountId: '7b1f3c3e-0000-4000-8000-000000000002',
  accountName: 'main',
  ownerId: '210000000000000001',
  exchangeId: 'binance',
  symbol: 'BTC/USDT:USDT',
  side: 'long',
  outcome: 'filled',
  reason: null,
  entryType: 'market',
  price: 50_012.5,
  leverage: 10,
  leverageCapped: false,
  stopLoss: 48_000,
  takeProfits: [52_000, 54_000],
  quantity: null,
  notional: null,
  ...over,
});

/** A long account name (32 characters, the maximum) so the limits are tested at their worst. */
const longName = (i: number) => `account-${String(i).padStart(4, '0')}-${'x'.repeat(19)}`;
const ownerOf = (i: number) => `3000000000000${String(i % 250).padStart(5, '0')}`;
const reasons: ReasonCode[] = [...SKIP_REASONS, ...FAILURE_REASONS];

describe('order embed', () => {
  it('shows the account, owner, symbol, side, price, leverage, stop, targets and status, coloured by outcome', () => {
    const embed = renderOrderEmbed(order({ leverageCapped: true }));
    const t = text(embed);
    for (const part of ['BTC/USDT · perp', 'LONG', 'main', '<@210000000000000001>', '50,012.5', '10x (capped)', '48,000', '52,000 / 54,000', 'filled']) {
      expect(t).toContain(part);
    }
    expect(embed.color).toBe(OUTCOME_STYLE.filled.color);
    const colors = new Set((Object.keys(OUTCOME_STYLE) as OrderOutcome[]).map((outcome) => renderOrderEmbed(order({ outcome })).color));
    expect(colors.size).toBe(Object.keys(OUTCOME_STYLE).length);
  });

  it('shows amounts only when the owner shares them, never a balance, and reasons in plain words', () => {
    expect(text(renderOrderEmbed(order()))).not.toMatch(/Quantity|Notional/);
    const shared = text(renderOrderEmbed(order({ quantity: 0.012, notional: 600.15 })));
    expect(shared).toContain('0.012');
    expect(shared).toContain('600.15 USDT');
    const skipped = text(renderOrderEmbed(order({ outcome: 'skipped', reason: 'below-min-notional', price: null })));
    expect(skipped).toContain('below the exchange minimum');
    expect(skipped).not.toMatch(/balance/i);
  });

  it('says the mode and market on every line; paper and demo never read as live money (issue #17)', () => {
    const live = renderOrderEmbed(order({ mode: 'live', marketType: 'futures' }));
    expect(live.title).toBe('🟢 BTC/USDT · perp 📈 LONG · filled');
    expect(live.description).toContain('💵 Live · Futures · binance');
    for (const mode of ['paper', 'demo'] as const) {
      const embed = renderOrderEmbed(order({ mode, marketType: 'spot', symbol: 'BTC/USDT', leverage: 1 }));
      expect(embed.title).toBe(`[${mode.toUpperCase()}] 🟢 BTC/USDT · spot 📈 LONG · filled`);
      expect(embed.footer?.text).toMatch(/no real money/);
      // Spot has no leverage to show.
      expect(text(embed)).not.toContain('Leverage');
    }
    expect(live.footer?.text).not.toMatch(/money/);
  });

  it('says its status once and shows no filler fields', () => {
    const skipped = renderOrderEmbed(order({ outcome: 'skipped', reason: 'below-min-notional', price: null, leverage: null }));
    expect(text(skipped).match(/skipped/g)).toHaveLength(1);
    expect(skipped.fields?.map((f) => f.name)).toEqual(['Stop', 'Take-profits']);
    expect(text(skipped)).not.toContain('—');
    const placed = renderOrderEmbed(order({ outcome: 'placed', entryType: 'limit', price: 49_000 }));
    expect(placed.fields?.find((f) => f.name === 'Entry')?.value).toBe('limit at 49,000');
    expect(placed.fields?.map((f) => f.name)).not.toContain('Fill price');
    expect(renderOrderEmbed(order()).fields?.map((f) => f.name)).not.toContain('Status');
  });

  it("links to the signal: the caller's message, or who sent the /signal; the summary's id in the footer", () => {
    const url = 'https://discord.com/channels/1/2/3';
    const fromChannel = renderOrderEmbed(order({ origin: { source: 'channel', authorId: '42', url } }));
    expect(fromChannel.description).toContain(`From [a message](${url}) by <@42> in the signal channel`);
    expect(fromChannel.footer?.text).toBe('signal 7b1f3c3e');
    const fromCommand = renderOrderEmbed(order({ origin: { source: 'command', authorId: '42', url: null } }));
    expect(fromCommand.description).toContain('From a /signal by <@42>');
    // Posted once the summary is: a link to it.
    expect(renderOrderEmbed(order(), { summary: 'https://discord.com/channels/1/2/9' }).description).toContain("[The signal's summary](https://discord.com/channels/1/2/9)");
  });

  it('escapes Markdown in names members chose', () => {
    expect(escapeMarkdown('a*b_c~d`e|f')).toBe('a\\*b\\_c\\~d\\`e\\|f');
    expect(escapeMarkdown('@everyone')).toBe('@\u200beveryone');
    expect(text(renderOrderEmbed(order({ accountName: '**bold**' })))).toContain('\\\\*\\\\*bold');
  });

  it('a take-profit hit says the target, its fill, the quantity closed and the gain on that part', () => {
    const hit = renderPositionEmbed({
      type: 'position', kind: 'take-profit-hit', accountId: 'a', accountName: 'main', ownerId: '1', symbol: 'LINK/USDT:USDT', side: 'long',
      mode: 'live', marketType: 'futures', signalId: '7b1f3c3e-0000', target: 1, price: 105, fillPrice: 105.02, quantity: 1, returnPct: null, pnl: 7.02, reason: null,
    });
    expect(hit.title).toBe('🎯 LINK/USDT · perp 📈 LONG · take-profit 1 hit');
    for (const part of ['TP1 at 105 · filled at 105.02', 'Closed: 1', 'Gain on this part: +7.02 USDT']) expect(hit.description).toContain(part);
    const moved = renderPositionEmbed({
      type: 'position', kind: 'stop-moved-to-break-even', accountId: 'a', accountName: 'main', ownerId: '1', symbol: 'LINK/USDT:USDT', side: 'long',
      mode: 'paper', marketType: 'futures', price: 98, target: null, returnPct: null, pnl: null, reason: null,
    });
    expect(moved.title?.startsWith('[PAPER] ')).toBe(true);
    expect(moved.description).toContain('New stop: 98 (the entry price)');
  });

  it('a close says its cause, exit price, return and time in trade', () => {
    const closed = renderPositionEmbed({
      type: 'position', kind: 'position-closed', accountId: 'a', accountName: 'main', ownerId: '1', symbol: 'LINK/USDT:USDT', side: 'long',
      mode: 'live', marketType: 'futures', cause: 'break-even', price: 98.01, heldMs: 11_520_000, target: null, returnPct: 3.5, pnl: 6.99, reason: null,
    });
    for (const part of ['Cause: stop at break-even', 'Exit price: 98.01', 'Return on margin: +3.50 %', 'PnL: +6.99 USDT', 'Time in trade: 3 h 12 min'])
      expect(closed.description).toContain(part);
  });

  it('renders position events and owner notices', () => {
    const closed = renderPositionEmbed({ type: 'position', kind: 'position-closed', accountId: 'a', accountName: 'main', ownerId: '1', symbol: 'BTC/USDT', side: 'short', target: null, returnPct: 12.345, pnl: null, reason: null });
    expect(text(closed)).toContain('+12.35 %');
    const notice = renderNoticeEmbed({ type: 'notice', kind: 'account-disabled', accountName: 'main', reason: 'key-revoked', detail: null });
    expect(text(notice)).toContain('key revoked');
    expect(text(notice)).toContain('/account verify');
    const expiring = renderNoticeEmbed({ type: 'notice', kind: 'key-expiring', accountName: 'main', reason: null, detail: 'The exchange ends … <t:1775376000:F>' });
    expect(expiring.title).toBe('⌛ main');
    expect(text(expiring)).toContain('trading permission ends soon');
    expect(text(expiring)).toContain('<t:1775376000:F>');
  });
});

function bigSummary(total: number, over: Partial<SummaryFeedEvent> = {}): SummaryFeedEvent {
  const lines = Array.from({ length: total }, (_, i) => ({ accountName: longName(i), ownerId: ownerOf(i), reason: reasons[i % reasons.length] ?? null }));
  return {
    type: 'summary',
    signalId: '7b1f3c3e-0000-4000-8000-000000000001',
    symbol: 'BTC/USDT',
    side: 'long',
    source: 'command',
    total,
    filled: Math.floor(total / 2),
    placed: Math.floor(total / 2) + 3,
    pending: 0,
    skipped: lines.filter((_, i) => i % 4 === 1),
    failed: lines.filter((_, i) => i % 4 === 3),
    sharedNotional: 123_456.789,
    final: true,
    ...over,
  };
}

describe('summary embed', () => {
  it('says where the signal came from in words, and the footer has no internal words', () => {
    const [head] = renderSummaryEmbeds(bigSummary(2, { origin: { source: 'command', authorId: '42', url: null } }));
    expect(head!.description).toContain('From a /signal by <@42>');
    expect(head!.footer?.text).toBe('Final summary · signal 7b1f3c3e');
    expect(text(head)).not.toMatch(/source/i);
  });

  it('says filled x of y, every skip and failure reason with its count, and the shared total notional', () => {
    const embeds = renderSummaryEmbeds(bigSummary(8));
    const t = text(embeds);
    expect(t).toContain('filled 4 of 8');
    expect(t).toContain('Filled **4** of **8** accounts.');
    expect(t).toContain('3 placed, waiting for the entry price');
    expect(t).toContain('123,456.79 USDT');
    expect(t).toContain('Final summary');
    for (const line of [...bigSummary(8).skipped, ...bigSummary(8).failed]) {
      expect(t).toContain(line.accountName.replace(/-/g, '-'));
    }
    expect(limitProblems(embeds)).toEqual([]);
  });

  it('fits one message for 1,000 accounts: counts per reason complete, names as far as room allows', () => {
    const event = bigSummary(1000);
    const embeds = renderSummaryEmbeds(event);
    expect(limitProblems(embeds)).toEqual([]);
    const t = text(embeds);
    expect(t).toContain('filled 500 of 1000');
    expect(t).toContain('Skipped: 250');
    expect(t).toContain('Failed: 250');
    expect(t).toMatch(/and \d+ more/);
  });

  it('a preliminary summary says how many are still pending', () => {
    const t = text(renderSummaryEmbeds(bigSummary(10, { pending: 4, final: false })));
    expect(t).toContain('4 still pending');
    expect(t).toContain('Preliminary summary');
  });
});

describe('compacted lines and packing', () => {
  const events = (n: number) =>
    Array.from({ length: n }, (_, i) => ({
      id: i + 1,
      event: order({
        accountName: longName(i),
        ownerId: ownerOf(i),
        outcome: (['filled', 'filled', 'skipped', 'failed', 'placed'] as const)[i % 5]!,
        reason: i % 5 === 2 ? 'daily-loss-limit' : i % 5 === 3 ? 'key-revoked' : null,
        price: i % 5 === 4 ? 49_000 + (i % 7) : 50_000,
        quantity: i % 3 === 0 ? 0.001 * (i + 1) : null,
      }),
    }));

  it('1,000 orders: every row in exactly one line, every message within Discord limits, a few messages', () => {
    const rows = events(1000);
    const chunks = renderCompactOrders(rows);
    const ids = chunks.flatMap((c) => c.ids).sort((a, b) => a - b);
    expect(ids).toEqual(rows.map((r) => r.id));
    for (const chunk of chunks) {
      expect(chunk.embed.description!.length).toBeLessThanOrEqual(COMPACT_DESCRIPTION_CHARS);
      expect(chunk.embed.description!.split('\n')).toHaveLength(chunk.ids.length);
    }
    const messages = packMessages(chunks.map((c) => ({ ids: c.ids, embeds: [c.embed] })));
    for (const message of messages) expect(limitProblems(message.embeds)).toEqual([]);
    expect(messages.length).toBeLessThanOrEqual(20);
    const t = text(chunks);
    expect(t).toContain('daily loss limit reached (200)');
    expect(t).toContain('key revoked (200)');
    expect(t).toContain('filled (400) @ 50,000 10x');
  });

  it('packing keeps order and rows, and never exceeds 10 embeds or 6,000 characters', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 1900 })), { minLength: 1, maxLength: 80 }),
        (specs) => {
          let id = 0;
          const units = specs.map(([count, size]) => {
            id += 1;
            return { ids: [id], embeds: Array.from({ length: count }, () => ({ title: 't', description: 'd'.repeat(size) })) };
          });
          const messages = packMessages(units);
          expect(messages.flatMap((m) => m.ids)).toEqual(units.map((u) => u.ids[0]));
          for (const m of messages) {
            expect(m.embeds.length).toBeLessThanOrEqual(DISCORD_LIMITS.embedsPerMessage);
            expect(m.embeds.reduce((s, e) => s + embedLength(e), 0)).toBeLessThanOrEqual(DISCORD_LIMITS.charsPerMessage);
          }
        },
      ),
    );
  });
});

const view = (i: number, over: Partial<AccountView> = {}): AccountView => ({
  id: `7b1f3c3e-0000-4000-8000-${String(i).padStart(12, '0')}`,
  name: longName(i),
  exchangeId: 'binance',
  marketType: 'futures',
  mode: 'live',
  enabled: i % 2 === 0,
  verified: true,
  maskedKey: 'abcd…wxyz',
  lastBalanceUsd: 1234.5,
  balanceAt: new Date(Date.UTC(2026, 0, 1)),
  disabledReason: null,
  pausedUntil: null,
  needsConfirmation: false,
  tradingExpiresAt: null,
  settings: { sizingMode: 'fixed', sizingValue: 100, maxPositionUsd: 1000, leverage: 10, maxDailyTrades: 5, riskPerTradePct: 2, maxDailyLossPct: 5, stopOnLoss: true, symbolAllow: ['BTC'], symbolBlock: Array.from({ length: 50 }, (_, k) => `COIN${k}`), shareAmounts: false },
  ...over,
});

describe('personal views', () => {
  it('account list: masked keys, a page at a time, within limits', () => {
    const accounts = Array.from({ length: 30 }, (_, i) => view(i));
    const page = renderAccountList(accounts, 7);
    expect(page.fields).toHaveLength(30 - 7 * ACCOUNTS_PER_PAGE);
    expect(page.footer?.text).toBe('Page 8 of 8');
    expect(text(page)).toContain('`abcd…wxyz`');
    expect(limitProblems([page])).toEqual([]);
    expect(text(renderAccountList([]))).toContain('/account add');
    expect(text(renderAccountList([view(1, { mode: 'paper', maskedKey: null })]))).toContain('paper (no key)');
  });

  it("account list: a key's trading expiry, as a date the member's client shows in their own time", () => {
    const expiresAt = new Date(Date.UTC(2026, 3, 5, 8, 0, 0));
    const listed = text(renderAccountList([view(2, { tradingExpiresAt: expiresAt })]));
    expect(listed).toContain(`trading permission ends <t:${expiresAt.getTime() / 1000}:D>`);
    expect(text(renderAccountList([view(2)]))).not.toContain('trading permission ends');
  });

  it('add result: masked key, balance and audit; or why nothing was stored', () => {
    const added = text(renderAddResult({ kind: 'added', account: view(1), balance: { currency: 'USDT', free: 1000, equity: 1100 }, auditNotes: ['No IP restriction'], problems: [] }));
    expect(added).toContain('abcd…wxyz');
    expect(added).toContain('1,000.00 USDT available');
    expect(added).toContain('No IP restriction');
    const refused = text(renderAddResult({ kind: 'refused', reason: 'This key can withdraw funds.', notes: [] }));
    expect(refused).toContain('nothing was stored');
  });

  it('orders page, pnl and help fit the limits', () => {
    const rows = Array.from({ length: 25 }, (_, i) => ({
      id: String(i), accountId: 'a', accountName: longName(i), exchangeId: 'binance', signalId: 's', leg: i % 2 ? 's0' : 'e0', symbol: 'BTC/USDT:USDT', side: 'buy' as const,
      type: 'market' as const, status: 'rejected' as const, quantity: 0.1, filledQuantity: 0, price: null, triggerPrice: null, averagePrice: null, reason: 'insufficient-funds', createdAt: new Date(0),
    }));
    const page = renderOrdersPage({ rows, total: 60, page: 1, pages: 3, limit: 25, accountId: null, accountName: null, status: 'failed' });
    expect(limitProblems([page])).toEqual([]);
    expect(text(page)).toContain('Page 2 of 3');
    expect(text(page)).toContain('insufficient funds on the exchange');
    const pnl = renderPnl({
      period: 'week', since: new Date(0),
      accounts: Array.from({ length: 30 }, (_, i) => ({ accountId: String(i), name: longName(i), exchangeId: 'binance', mode: 'live' as const, realised: 10, unrealised: i === 0 ? null : -5, fees: 1, openPositions: 1, closedTrades: 2, wins: 1, fills: 3, stats: tradeStats([12.5, -2.5, 30_000.25]) })),
      totals: [{ mode: 'live', realised: 300, unrealised: -145, fees: 30, accounts: 30 }], pricesMissing: true,
    });
    expect(limitProblems([pnl])).toEqual([]);
    expect(text(pnl)).toContain('+155.00 USDT');
    expect(text(pnl)).toContain('price unavailable');
    // The closed trades' figures beside the PnL.
    for (const part of ['Closed trades: 3 · win rate 67 % · profit factor 12005.10', 'Average win +15,006.38 USDT · average loss -2.50 USDT', 'Best +30,000.25 USDT · worst -2.50 USDT · max drawdown -2.50 USDT'])
      expect(text(pnl)).toContain(part);
    expect(limitProblems([renderHelp()])).toEqual([]);
    expect(formatPrice(0.000012361)).toBe('0.00001236');
    expect(formatPrice(65_000.123)).toBe('65,000.12');
    expect(formatMoney(-3.456)).toBe('-3.46 USDT');
  });
});
