import { describe, expect, it } from 'vitest';
import type { TradeSignal } from '../../../src/domain/signal';
import type { ParseInvalidReason, ParseResult } from '../../../src/signals/parseSignalMessage';
import { parseSignalMessage } from '../../../src/signals/parseSignalMessage';

type Case = readonly [title: string, text: string, expected: ParseResult];

const signal = (
  side: TradeSignal['side'],
  symbol: string,
  entries: number[] | 'market',
  stopLoss: number,
  takeProfits: number[],
  leverage: number | null = null,
): ParseResult => ({
  ok: true,
  signal: {
    symbol,
    side,
    entryType: entries === 'market' ? 'market' : 'limit',
    entries: entries === 'market' ? [] : entries,
    stopLoss,
    takeProfits,
    leverage,
  },
});
type Sided = (
  symbol: string,
  entries: number[] | 'market',
  stop: number,
  tps: number[],
  lev?: number | null,
) => ParseResult;
const long: Sided = (...args) => signal('long', ...args);
const short: Sided = (...args) => signal('short', ...args);
const ignored: ParseResult = { ok: false, kind: 'ignored' };
const invalid = (reason: ParseInvalidReason): ParseResult => ({ ok: false, kind: 'invalid', reason });

const BASE = '\nEntry 64000\nSL 63000\nTP 65000';
const btc = long('BTC/USDT', [64000], 63000, [65000]);

const check = (cases: readonly Case[]) =>
  it.each(cases)('%s', (_title, text, expected) => {
    expect(parseSignalMessage(text)).toEqual(expected);
  });

describe('pairs', () => {
  check([
    ['BTC/USDT', `BTC/USDT LONG${BASE}`, btc],
    ['BTCUSDT', `BTCUSDT LONG${BASE}`, btc],
    ['#BTC (no quote means USDT)', `#BTC LONG${BASE}`, btc],
    ['$BTC', `$BTC LONG${BASE}`, btc],
    ['#BTC/USDT', `#BTC/USDT LONG${BASE}`, btc],
    ['$BTC/USDT', `$BTC/USDT long${BASE}`, btc],
    ['#BTCUSDT', `#BTCUSDT long${BASE}`, btc],
    ['Pair: label', `Pair: BTC/USDT\nSide: Long${BASE}`, btc],
    ['Coin: label with a bare coin', `Coin: btc\nLong${BASE}`, btc],
    ['Symbol: label with a joined pair', `Symbol: BTCUSDT\nDirection: Long${BASE}`, btc],
    ['lower-case pair', `btc/usdt long${BASE}`, btc],
    ['hyphenated pair', `BTC-USDT LONG${BASE}`, btc],
    ['TradingView perpetual suffix', `BTCUSDT.P LONG${BASE}`, btc],
    ['PERP quote is the USDT pair', `BTCPERP LONG${BASE}`, btc],
    [
      'another quote is kept',
      'ETH/BTC LONG\nEntry 0.052\nSL 0.05\nTP 0.055',
      long('ETH/BTC', [0.052], 0.05, [0.055]),
    ],
    ['USDC pair', `BTCUSDC LONG${BASE}`, long('BTC/USDC', [64000], 63000, [65000])],
    [
      'bare coin after the side',
      'long btc 64,500 sl 63,000 tp 66,000',
      long('BTC/USDT', [64500], 63000, [66000]),
    ],
    ['bare coin before the side', `BTC LONG${BASE}`, btc],
    [
      'coin alone on a bold line',
      `**SOL**\nLONG\nEntry 142\nSL 138\nTP 150`,
      long('SOL/USDT', [142], 138, [150]),
    ],
    [
      'coin opening the message',
      'BTC at market\nSL 63000\nTP 65000',
      long('BTC/USDT', 'market', 63000, [65000]),
    ],
    ['base with digits', 'ARB1/USDT LONG\nEntry 1.1\nSL 1\nTP 1.2', long('ARB1/USDT', [1.1], 1, [1.2])],
    ['a hashtag that is not a coin is decoration', `#Crypto #Signals\nBTC/USDT LONG${BASE}`, btc],
    // Two coins named (#SOL beside BTC/USDT): which one is traded is a guess, so none is.
    ['another coin as a hashtag: refused', `#Crypto #SOL\nBTC/USDT LONG${BASE}`, invalid('several-symbols')],
    ['signal hashtags are not coins', `#signal #VIP #BTC LONG${BASE}`, btc],
  ]);
});

describe('sides', () => {
  check([
    ['LONG word', `BTC/USDT LONG${BASE}`, btc],
    ['Buy word before the pair', `Buy BTC/USDT${BASE}`, btc],
    ['SHORT word', 'ETH/USDT SHORT\nEntry 3450\nSL 3525\nTP 3400', short('ETH/USDT', [3450], 3525, [3400])],
    [
      'lone SELL is the side',
      'SELL\nETH/USDT\nEntry 3450\nSL 3525\nTP 3400',
      short('ETH/USDT', [3450], 3525, [3400]),
    ],
    [
      'Side: Sell',
      'ETH/USDT\nSide: Sell\nEntry 3450\nSL 3525\nTP 3400',
      short('ETH/USDT', [3450], 3525, [3400]),
    ],
    ['Type: Buy', `BTC/USDT\nType: Buy${BASE}`, btc],
    [
      'Position: Short',
      'ETH/USDT\nPosition: Short\nEntry 3450\nSL 3525\nTP 3400',
      short('ETH/USDT', [3450], 3525, [3400]),
    ],
    ['Direction: Long', `BTC/USDT\nDirection: Long${BASE}`, btc],
    [
      'Signal Type: Regular (Short)',
      'ETH/USDT\nSignal Type: Regular (Short)\nEntry 3450\nSL 3525\nTP 3400',
      short('ETH/USDT', [3450], 3525, [3400]),
    ],
    ['inferred long from the stop', `BTC/USDT${BASE}`, btc],
    [
      'inferred short from the stop',
      'ETH/USDT\nEntry 3450\nSL 3525\nTP 3400',
      short('ETH/USDT', [3450], 3525, [3400]),
    ],
    [
      'inferred market long from the targets',
      'SOL/USDT at market\nSL 138\nTP 150 155',
      long('SOL/USDT', 'market', 138, [150, 155]),
    ],
    [
      'Buy ... Sell prices: Sell is take-profit',
      'Buy SOL/USDT\nBuy 142\nSell 150 155\nStop 138',
      long('SOL/USDT', [142], 138, [150, 155]),
    ],
    [
      'Sell: price with TP labels and no buy opens a short',
      'SHORT BTC\nSell: 64000\nTP 63000\nSL 65000',
      short('BTC/USDT', [64000], 65000, [63000]),
    ],
    ['#long hashtag', `#BTC #long${BASE}`, btc],
    [
      'side label wins over a later side word',
      `BTC/USDT\nSide: Long\nEntry 64000\nSL 63000\nTP 65000 (short term)`,
      btc,
    ],
  ]);
});

describe('entries', () => {
  check([
    ['Entry:', `BTC/USDT LONG\nEntry: 64000\nSL 63000\nTP 65000`, btc],
    ['Entry Price', `BTC/USDT LONG\nEntry Price: 64000\nSL 63000\nTP 65000`, btc],
    [
      'Entry zone range',
      `BTC/USDT LONG\nEntry zone: 63800-64250\nSL 63000\nTP 65000`,
      long('BTC/USDT', [63800, 64250], 63000, [65000]),
    ],
    ['Enter', `BTC/USDT LONG\nEnter 64000\nSL 63000\nTP 65000`, btc],
    ['Buy:', `BTC/USDT\nBuy: 64000\nSL 63000\nTP 65000`, btc],
    [
      'Buy zone',
      `BTC/USDT\nBuy zone 63800 - 64250\nSL 63000\nTP 65000`,
      long('BTC/USDT', [63800, 64250], 63000, [65000]),
    ],
    [
      'straight after the side',
      'long btc 64,500\nsl 63000\ntp 66000',
      long('BTC/USDT', [64500], 63000, [66000]),
    ],
    [
      'straight after the pair',
      'ETH/USDT 3450 SHORT\nSL 3525\nTP 3400',
      short('ETH/USDT', [3450], 3525, [3400]),
    ],
    [
      'after the pair with @',
      'ETH/USDT @ 3450 short\nSL 3525\nTP 3400',
      short('ETH/USDT', [3450], 3525, [3400]),
    ],
    [
      'several, comma separated',
      'BTC/USDT LONG\nEntry: 64000, 63500, 63000\nSL 62000\nTP 65000',
      long('BTC/USDT', [63000, 63500, 64000], 62000, [65000]),
    ],
    [
      'descending range is sorted',
      'BTC/USDT LONG\nEntry: 64250 - 63800\nSL 63000\nTP 65000',
      long('BTC/USDT', [63800, 64250], 63000, [65000]),
    ],
    [
      'en dash range',
      'BTC/USDT LONG\nEntry: 63800 – 64250\nSL 63000\nTP 65000',
      long('BTC/USDT', [63800, 64250], 63000, [65000]),
    ],
    [
      'em dash range',
      'BTC/USDT LONG\nEntry: 63800—64250\nSL 63000\nTP 65000',
      long('BTC/USDT', [63800, 64250], 63000, [65000]),
    ],
    [
      'between ... and ...',
      'BTC/USDT LONG\nEntry between 63800 and 64250\nSL 63000\nTP 65000',
      long('BTC/USDT', [63800, 64250], 63000, [65000]),
    ],
    [
      'numbered entry lines',
      'BTC/USDT LONG\nEntry Targets:\n1) 64000\n2) 63500\nSL 63000\nTP 65000',
      long('BTC/USDT', [63500, 64000], 63000, [65000]),
    ],
    [
      'Entry 1 / Entry 2 labels',
      'BTC/USDT LONG\nEntry 1: 64000\nEntry 2: 63500\nSL 63000\nTP 65000',
      long('BTC/USDT', [63500, 64000], 63000, [65000]),
    ],
    ['on the next line', 'BTC/USDT LONG\nEntry:\n64000\nSL 63000\nTP 65000', btc],
    [
      'market word',
      'BTC/USDT LONG\nEntry: market\nSL 63000\nTP 65000',
      long('BTC/USDT', 'market', 63000, [65000]),
    ],
    ['CMP', 'BTC/USDT LONG\nEntry: CMP\nSL 63000\nTP 65000', long('BTC/USDT', 'market', 63000, [65000])],
    [
      'at market after the pair',
      'LONG #BTCUSDT at market\nSL 63000\nTP 65000',
      long('BTC/USDT', 'market', 63000, [65000]),
    ],
    [
      'Buy at market',
      'Buy BTC/USDT at market\nSL 63000\nTP 65000',
      long('BTC/USDT', 'market', 63000, [65000]),
    ],
    [
      'CMP with a reference price',
      'BTC/USDT LONG\nEntry: CMP (64000)\nSL 63000\nTP 65000',
      long('BTC/USDT', 'market', 63000, [65000]),
    ],
    ['duplicate entries collapse', 'BTC/USDT LONG\nEntry 64000 - 64000\nSL 63000\nTP 65000', btc],
    ['price with a dollar sign', 'BTC/USDT LONG\nEntry: $64,000\nSL: $63,000\nTP: $65,000', btc],
    ['price followed by USDT', 'BTC/USDT LONG\nEntry: 64000 USDT\nSL: 63000 USDT\nTP: 65000 USDT', btc],
    [
      'leading-dot price',
      'DOGE/USDT LONG\nEntry .16\nSL .15\nTP .17',
      long('DOGE/USDT', [0.16], 0.15, [0.17]),
    ],
    ['k suffix', 'BTC long entry 64.5k sl 63k tp 66k', long('BTC/USDT', [64500], 63000, [66000])],
  ]);
});

describe('take-profits', () => {
  const tp = (title: string, text: string, values: number[]): Case => [
    title,
    `BTC/USDT LONG\nEntry 64000\nSL 63000\n${text}`,
    long('BTC/USDT', [64000], 63000, values),
  ];
  check([
    tp('TP', 'TP 65000', [65000]),
    tp('TP1..TP3 lines', 'TP1 65000\nTP2 66000\nTP3 67000', [65000, 66000, 67000]),
    tp('Target', 'Target: 65000', [65000]),
    tp('Targets, spaces', 'Targets: 65000 66000 67000', [65000, 66000, 67000]),
    tp('Target 1 / Target 2', 'Target 1: 65000\nTarget 2: 66000', [65000, 66000]),
    tp('Take Profit, commas', 'Take Profit: 65000, 66000', [65000, 66000]),
    tp(
      'Take-Profit Targets, numbered lines',
      'Take-Profit Targets:\n1) 65000\n2) 66000\n3) 67000',
      [65000, 66000, 67000],
    ),
    tp('slashes', 'TP: 65000 / 66000 / 67000', [65000, 66000, 67000]),
    tp('dashes', 'Targets: 65000 - 66000 - 67000', [65000, 66000, 67000]),
    tp('pipes', 'TP: 65000 | 66000 | 67000', [65000, 66000, 67000]),
    tp('numbered lines with dots', 'Targets:\n1. 65000\n2. 66000', [65000, 66000]),
    tp('keycap emoji numbers', 'Targets:\n1️⃣ 65000\n2️⃣ 66000', [65000, 66000]),
    tp('bulleted lines', 'Targets:\n- 65000\n- 66000', [65000, 66000]),
    tp('out of order, sorted in trade direction', 'TP: 67000, 65000, 66000', [65000, 66000, 67000]),
    tp('remarks in brackets are skipped', 'TP: 65000 (+1.5%) 66000 (close 50%)', [65000, 66000]),
    tp('comma list without spaces', 'TP 65,000,66,000', [65000, 66000]),
    tp('Target N - price', 'Target 1 - 65000\nTarget 2 - 66000', [65000, 66000]),
    tp('TP N price', 'TP 1 65000\nTP 2 66000', [65000, 66000]),
    tp('T1/T2', 'T1: 65000\nT2: 66000', [65000, 66000]),
  ]);
  check([
    [
      'Sell as take-profit label',
      'Buy SOL/USDT\nBuy zone 142.5-145\nSell 150 155 162\nStop 138',
      long('SOL/USDT', [142.5, 145], 138, [150, 155, 162]),
    ],
    [
      'comma list of small prices split by scale',
      'SOL/USDT\nBuy 142\nSell 150,155,162\nStop 138',
      long('SOL/USDT', [142], 138, [150, 155, 162]),
    ],
    ['no take-profit at all', 'Short ETH 3450\nSL 3525', short('ETH/USDT', [3450], 3525, [])],
    [
      'short targets descend',
      'ETH/USDT SHORT\nEntry 3450\nSL 3525\nTP 3280 3400 3350',
      short('ETH/USDT', [3450], 3525, [3400, 3350, 3280]),
    ],
  ]);
});

describe('stops', () => {
  check([
    ['SL', `BTC/USDT LONG\nEntry 64000\nSL 63000\nTP 65000`, btc],
    ['Stop', `BTC/USDT LONG\nEntry 64000\nStop 63000\nTP 65000`, btc],
    ['Stop Loss', `BTC/USDT LONG\nEntry 64000\nStop Loss: 63000\nTP 65000`, btc],
    ['Stop-loss', `BTC/USDT LONG\nEntry 64000\nStop-loss: 63000\nTP 65000`, btc],
    ['StopLoss', `BTC/USDT LONG\nEntry 64000\nStopLoss = 63000\nTP 65000`, btc],
    ['S/L', `BTC/USDT LONG\nEntry 64000\nS/L 63000\nTP 65000`, btc],
    ['Stop Targets numbered', `BTC/USDT LONG\nEntry 64000\nStop Targets:\n1) 63000\nTP 65000`, btc],
    ['stop with a percentage remark', `BTC/USDT LONG\nEntry 64000\nSL 63000 (-1.5%)\nTP 65000`, btc],
  ]);
});

describe('leverage', () => {
  const lev = (text: string, value: number | null): Case => [
    text,
    `BTC/USDT LONG\nEntry 64000\nSL 63000\nTP 65000\n${text}`,
    long('BTC/USDT', [64000], 63000, [65000], value),
  ];
  check([
    lev('Leverage 10x', 10),
    lev('Leverage: 10', 10),
    lev('Lev: 20x', 20),
    lev('lev 10', 10),
    lev('x10', 10),
    lev('20x', 20),
    lev('Cross 10x', 10),
    lev('10x isolated', 10),
    lev('Leverage: Cross (20.0X)', 20),
    lev('Leverage: 5x isolated', 5),
    lev('Leverage 10-20x', 10),
    lev('Margin: Isolated', null),
    [
      'leverage on the side line',
      'BTCUSDT LONG 20x\nEntry 64000\nSL 63000\nTP 65000',
      long('BTC/USDT', [64000], 63000, [65000], 20),
    ],
    [
      'leverage after a list',
      'BTCUSDT LONG 64000 SL 63000 TP 65000 66000 20x',
      long('BTC/USDT', [64000], 63000, [65000, 66000], 20),
    ],
  ]);
});

describe('numbers, markdown and decoration', () => {
  check([
    [
      'thousands separators',
      'BTC/USDT LONG\nEntry 64,500\nSL 63,000\nTP 66,000, 67,500',
      long('BTC/USDT', [64500], 63000, [66000, 67500]),
    ],
    [
      'thousands with decimals',
      'BTC/USDT LONG\nEntry 64,500.5\nSL 63,000.25\nTP 66,000',
      long('BTC/USDT', [64500.5], 63000.25, [66000]),
    ],
    [
      'tiny prices',
      'PEPE/USDT LONG\nEntry 0.00001234\nSL 0.000011\nTP 0.000014',
      long('PEPE/USDT', [0.00001234], 0.000011, [0.000014]),
    ],
    ['bold and underline', '**BTC/USDT** __LONG__\n**Entry:** 64000\n**SL:** 63000\n__TP:__ 65000', btc],
    ['inline code', '`BTC/USDT` LONG\nEntry `64000`\nSL `63000`\nTP `65000`', btc],
    ['code block', '```\nBTC/USDT LONG\nEntry 64000\nSL 63000\nTP 65000\n```', btc],
    ['code block with a language', '```fix\nBTC/USDT LONG\nEntry 64000\nSL 63000\nTP 65000\n```', btc],
    ['code block opening with the pair', '```BTCUSDT\nLONG\nEntry 64000\nSL 63000\nTP 65000```', btc],
    ['heading and quote markdown', '# BTC/USDT LONG\n> Entry 64000\n> SL 63000\n> TP 65000', btc],
    ['spoilers and strike-through', '||BTC/USDT LONG||\n~~old~~\nEntry 64000\nSL 63000\nTP 65000', btc],
    [
      'emoji everywhere',
      '🟢 LONG 🟢\n🪙 Coin: #AVAX\n📍 Entry: 36.20\n🎯 Targets: 37.00 - 38.00\n🛑 Stop: 35.00\n⚡ Leverage: 15x',
      long('AVAX/USDT', [36.2], 35, [37, 38], 15),
    ],
    [
      'custom emoji and mentions',
      '<:rocket:1234567890> <@&987654321> BTC/USDT LONG\nEntry 64000\nSL 63000\nTP 65000 <t:1700000000:R>',
      btc,
    ],
    [
      'signal numbers and amounts',
      'Signal #45\nBTC/USDT LONG\nEntry 64000\nTarget 1: 65000\nSL 63000\nAmount: 100 USDT\nRisk 2%',
      btc,
    ],
    [
      'extra words',
      'New trade! BTC/USDT LONG (Binance Futures)\nEntry 64000 (DCA)\nSL 63000\nTP 65000\nUse 2% of balance, good luck',
      btc,
    ],
    ['links', 'BTC/USDT LONG https://www.tradingview.com/x/AbC123/\nEntry 64000\nSL 63000\nTP 65000', btc],
    ['fancy unicode letters', '𝐁𝐓𝐂/𝐔𝐒𝐃𝐓 𝐋𝐎𝐍𝐆\nEntry 64000\nSL 63000\nTP 65000', btc],
    [
      'one line',
      'BTC/USDT long entry 64000 sl 63000 tp1 65000 tp2 66000 lev 10',
      long('BTC/USDT', [64000], 63000, [65000, 66000], 10),
    ],
    ['Windows line ends', 'BTC/USDT LONG\r\nEntry 64000\r\nSL 63000\r\nTP 65000', btc],
    [
      'Cornix format',
      '#BTC/USDT\nExchanges: Binance Futures\nSignal Type: Regular (Long)\nLeverage: Cross (20.0X)\nEntry Targets:\n1) 64000\n2) 63500\nTake-Profit Targets:\n1) 65000\n2) 66000\n3) 67000\nStop Targets:\n1) 62000',
      long('BTC/USDT', [63500, 64000], 62000, [65000, 66000, 67000], 20),
    ],
  ]);
});

describe('chatter is ignored', () => {
  check(
    [
      'TP1 hit, move SL to entry',
      'TP2 done ✅ 66000 reached, moving stop to 64000',
      'Update: ETH/USDT TP1 3400 hit, TP2 3350 next',
      'BTC/USDT TP1 65000 reached ✅ SL moved to 64000',
      'Closed BTC/USDT long at 65000 for +5%',
      'SL hit on ETH short, 3525, -2%',
      'BTC 64000 support, 63000 next, 65000 resistance',
      'Long BTC now? stop would be 63000',
      'BTC looking bullish today, might long above 65k if volume comes in',
      'gm everyone, signals in 10 min',
      'Who is still long from 64000?',
      'Targets hit on all three calls today 🚀',
      'Stop trading on weekends, take profit often',
      '',
      '   \n\n  ',
      '🚀🚀🚀',
      '<@123456789> welcome! read #rules',
    ].map((text): Case => [JSON.stringify(text), text, ignored]),
  );
});

describe('invalid signals', () => {
  check([
    ['no-symbol: labelled prices only', 'Entry: 64000\nTP: 65000\nSL: 63000', invalid('no-symbol')],
    ['no-symbol: side with prices', 'Long 64000\nSL 63000\nTP 65000', invalid('no-symbol')],
    [
      'no-symbol: digits alone are no coin',
      '1000/USDT LONG\nEntry 0.01\nSL 0.009\nTP 0.011',
      invalid('no-symbol'),
    ],
    ['no-entry: targets and stop only', 'BTC LONG\nTP 65000\nSL 63000', invalid('no-entry')],
    [
      'no-entry: short without a price',
      'ETH/USDT short\nTargets: 3400 3300\nStop: 3500',
      invalid('no-entry'),
    ],
    [
      'no-entry: market with nothing to tell the side',
      'BTC/USDT at market\nSL 63000\nLeverage 10x',
      invalid('no-entry'),
    ],
    ['no-stop: entry and targets', 'BTC/USDT LONG\nEntry 64000\nTP 65000', invalid('no-stop')],
    ['no-stop: one line', 'ETHUSDT short 3450 TP 3400 3300', invalid('no-stop')],
    [
      'percent-stop: stop given as a percentage',
      'BTC/USDT LONG\nEntry 64000\nSL 2%\nTP 65000',
      invalid('percent-stop'),
    ],
    ['stop-wrong-side: long', 'BTC/USDT LONG\nEntry 64000\nStop 64500\nTP 65000', invalid('stop-wrong-side')],
    ['stop-wrong-side: short', 'ETH/USDT SHORT\nEntry 3450\nSL 3400\nTP 3300', invalid('stop-wrong-side')],
    [
      'stop-wrong-side: inside the entry range',
      'BTC/USDT\nEntry 63000 - 65000\nSL 64000\nTP 66000',
      invalid('stop-wrong-side'),
    ],
    [
      'stop-wrong-side: market stop beyond the target',
      'LONG BTC/USDT at market\nSL 66000\nTP 65000',
      invalid('stop-wrong-side'),
    ],
    ['target-wrong-side: long', 'DOGE/USDT LONG\nEntry 0.16\nSL 0.15\nTP 0.14', invalid('target-wrong-side')],
    [
      'target-wrong-side: short',
      'ETH/USDT SHORT\nEntry 3450\nSL 3525\nTP 3400 3500',
      invalid('target-wrong-side'),
    ],
    [
      'target-wrong-side: inferred side',
      'DOGE/USDT\nEntry 0.16\nSL 0.15\nTP 0.14',
      invalid('target-wrong-side'),
    ],
    ['bad-number: malformed', 'BTC/USDT LONG\nEntry 64000\nStop 1.2.3\nTP 65000', invalid('bad-number')],
    ['bad-number: zero entry', 'BTC/USDT LONG\nEntry 0\nSL 0\nTP 65000', invalid('bad-number')],
    [
      'bad-number: leverage 500x',
      '#BTC Long\nEntry: 64000\nStop: 63000\nLeverage 500x',
      invalid('bad-number'),
    ],
    [
      'bad-number: fractional leverage',
      '#BTC Long\nEntry: 64000\nStop: 63000\nLeverage 2.5x',
      invalid('bad-number'),
    ],
    [
      'unreadable-targets: percentage targets',
      'BTC/USDT\nEntry: 64000\nSL: 63000\nTP: 5% 10%',
      invalid('unreadable-targets'),
    ],
  ]);
});

describe('parseSignalMessage: robustness', () => {
  it('refuses more than 15 targets (a misread list or not a call), and takes 15', () => {
    const message = (count: number): string =>
      `BTC/USDT LONG\nEntry 64000\nSL 63000\nTP ${Array.from({ length: count }, (_, i) => 65000 + i * 100).join(' ')}`;
    expect(parseSignalMessage(message(16))).toEqual(invalid('too-many-prices'));
    const fifteen = parseSignalMessage(message(15));
    expect(fifteen.ok && fifteen.signal.takeProfits).toEqual(Array.from({ length: 15 }, (_, i) => 65000 + i * 100));
  });

  it('refuses more than 15 entries', () => {
    const entries = Array.from({ length: 16 }, (_, i) => 64000 + i * 10).join(' ');
    expect(parseSignalMessage(`BTC/USDT LONG\nEntry ${entries}\nSL 63000\nTP 66000`)).toEqual(
      invalid('too-many-prices'),
    );
  });

  it('refuses text longer than any Discord message', () => {
    const text = `BTC/USDT LONG\nEntry 64000\nSL 63000\nTP 65000\n${'x'.repeat(4000)}`;
    expect(parseSignalMessage(text)).toEqual(invalid('too-long'));
  });
});
