/**
 * The README's pictures, made by the code itself (`npm run docs:render` writes docs/*.png): the feed's
 * embeds through the real renderers (src/discord/embeds/feed.ts) drawn as Discord's dark theme shows
 * them (embedImage.ts), and a /pnl chart through the real chart renderer. Sample events, no network.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderPnlChart } from '../../src/charts/pnlChart';
import { renderOrderEmbed, renderPositionEmbed, renderSummaryEmbeds } from '../../src/discord/embeds/feed';
import type { OrderFeedEvent, PositionFeedEvent } from '../../src/domain/feedEvents';
import { renderEmbedsPng } from './embedImage';

const out = fileURLToPath(new URL('../../docs/', import.meta.url));
const SIGNAL = '3f2c9a1e-5b7d-4c2a-9e1f-0a1b2c3d4e5f';
const ALICE = '210000000000000001';
const BOB = '210000000000000002';
const CAROL = '210000000000000003';
const names = new Map([
  [ALICE, 'alice'],
  [BOB, 'bob'],
  [CAROL, 'carol'],
]);
const origin = { source: 'channel' as const, authorId: CAROL, url: 'https://discord.com/channels/1/2/3' };

const order = (over: Partial<OrderFeedEvent>): OrderFeedEvent => ({
  type: 'order',
  mode: 'live',
  marketType: 'futures',
  origin,
  signalId: SIGNAL,
  accountId: 'a1',
  accountName: 'binance-main',
  ownerId: ALICE,
  exchangeId: 'binance',
  symbol: 'BTC/USDT:USDT',
  side: 'long',
  outcome: 'filled',
  reason: null,
  entryType: 'market',
  price: 97_412.5,
  leverage: 5,
  leverageCapped: false,
  stopLoss: 95_000,
  takeProfits: [99_000, 101_500],
  quantity: 0.01,
  notional: 974.13,
  ...over,
});

const position = (over: Partial<PositionFeedEvent>): PositionFeedEvent => ({
  type: 'position',
  kind: 'take-profit-hit',
  mode: 'live',
  marketType: 'futures',
  signalId: SIGNAL,
  accountId: 'a1',
  accountName: 'binance-main',
  ownerId: ALICE,
  symbol: 'BTC/USDT:USDT',
  side: 'long',
  target: null,
  returnPct: null,
  pnl: null,
  reason: null,
  ...over,
});

const pictures: Record<string, Buffer> = {
  'feed-orders.png': renderEmbedsPng(
    [
      renderOrderEmbed(order({})),
      renderOrderEmbed(order({ accountId: 'a2', accountName: 'paper-test', ownerId: BOB, mode: 'paper', marketType: 'spot', symbol: 'BTC/USDT', outcome: 'placed', entryType: 'limit', price: 96_800, leverage: 1, quantity: null, notional: null })),
      renderOrderEmbed(order({ accountId: 'a3', accountName: 'bybit-alt', ownerId: BOB, exchangeId: 'bybit', outcome: 'skipped', reason: 'below-min-notional', price: null, leverage: null, quantity: null, notional: null })),
    ],
    names,
  ),
  'feed-lifecycle.png': renderEmbedsPng(
    [
      renderPositionEmbed(position({ kind: 'take-profit-hit', target: 1, price: 99_000, fillPrice: 99_004.2, quantity: 0.005, pnl: 7.96 })),
      renderPositionEmbed(position({ kind: 'stop-moved-to-break-even', price: 97_412.5 })),
      renderPositionEmbed(position({ kind: 'position-closed', cause: 'break-even', price: 97_410.1, returnPct: 4.07, pnl: 7.93, heldMs: 11_520_000 })),
    ],
    names,
  ),
  'feed-summary.png': renderEmbedsPng(
    renderSummaryEmbeds({
      type: 'summary',
      signalId: SIGNAL,
      symbol: 'BTC/USDT',
      side: 'long',
      source: 'channel',
      origin,
      total: 5,
      filled: 3,
      placed: 3,
      pending: 0,
      skipped: [
        { accountName: 'bybit-alt', ownerId: BOB, reason: 'below-min-notional' },
        { accountName: 'okx-small', ownerId: CAROL, reason: 'daily-trade-limit' },
      ],
      failed: [],
      sharedNotional: 2_911.4,
      final: true,
    }, { orders: 'https://discord.com/channels/1/4/5' }),
    names,
  ),
};

const day = (i: number) => new Date(Date.UTC(2026, 10, 3) + i * 86_400_000).toISOString().slice(0, 10);
// A month of three accounts: a steady live one, a choppy live one, a paper one (its total kept apart).
const wave = (i: number, a: number) => Math.round((Math.sin(i * 0.9 + a * 2) * 30 + (a === 1 ? -4 : 9) + ((i * 7 + a * 3) % 5) * 3) * 100) / 100;
pictures['pnl-chart.png'] = await renderPnlChart(
  [
    { label: 'binance-main', mode: 'live', days: Array.from({ length: 30 }, (_, i) => ({ day: day(i), pnl: wave(i, 0) })) },
    { label: 'bybit-alt', mode: 'live', days: Array.from({ length: 30 }, (_, i) => ({ day: day(i), pnl: wave(i, 1) })) },
    { label: 'paper-test (paper)', mode: 'paper', days: Array.from({ length: 30 }, (_, i) => ({ day: day(i), pnl: wave(i, 2) })) },
  ],
  { title: 'Realised PnL, the last 30 days (UTC): lines add up, bars are each day' },
);

mkdirSync(out, { recursive: true });
for (const [name, png] of Object.entries(pictures)) {
  writeFileSync(`${out}${name}`, png);
  console.log(`docs/${name}`);
}
