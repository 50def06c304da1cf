/**
 * Issue #15: the defects a review found on real channel messages, one case per class. The rule
 * under test: when unsure, refuse with a reason; a signal is returned only when every field is what
 * the message says.
 */
import { describe, expect, it } from 'vitest';
import type { TradeSignal } from '../../../src/domain/signal';
import { parseSignalMessage, type ParseInvalidReason } from '../../../src/signals/parseSignalMessage';

const invalid = (reason: ParseInvalidReason) => ({ ok: false, kind: 'invalid', reason });
const ignored = { ok: false, kind: 'ignored' };
const signal = (s: Partial<TradeSignal> & Pick<TradeSignal, 'symbol' | 'side' | 'stopLoss'>) => ({
  ok: true,
  signal: {
    symbol: s.symbol,
    side: s.side,
    entryType: s.entryType ?? ((s.entries ?? []).length === 0 ? 'market' : 'limit'),
    entries: s.entries ?? [],
    stopLoss: s.stopLoss,
    takeProfits: s.takeProfits ?? [],
    leverage: s.leverage ?? null,
  },
});

describe('the symbol is what the message names', () => {
  it.each([
    [
      'a BTC-quoted pair with spaces around the slash stays BTC-quoted',
      'ETH / BTC\nBuy: 0.027\nSL: 0.025\nTP: 0.029 0.031',
      signal({ symbol: 'ETH/BTC', side: 'long', entries: [0.027], stopLoss: 0.025, takeProfits: [0.029, 0.031] }),
    ],
    [
      'a digit-led coin keeps its multiplier',
      '#1000FLOKI/USDT LONG\nEntry 0.00012\nSL 0.00011\nTP 0.00013',
      signal({ symbol: '1000FLOKI/USDT', side: 'long', entries: [0.00012], stopLoss: 0.00011, takeProfits: [0.00013] }),
    ],
    [
      'a zero-width space inside a name joins it (XAI, never AI)',
      '#X\u200BAI/USDT LONG\nEntry 0.25\nSL 0.22\nTP 0.3',
      signal({ symbol: 'XAI/USDT', side: 'long', entries: [0.25], stopLoss: 0.22, takeProfits: [0.3] }),
    ],
    [
      'a lower-case digit-led pair',
      '1inch/usdt long\nentry 0.40\nsl 0.38\ntp 0.45',
      signal({ symbol: '1INCH/USDT', side: 'long', entries: [0.4], stopLoss: 0.38, takeProfits: [0.45] }),
    ],
    [
      'a space before the slash',
      'SOL /USDT LONG\nEntry 140\nSL 130\nTP 150',
      signal({ symbol: 'SOL/USDT', side: 'long', entries: [140], stopLoss: 130, takeProfits: [150] }),
    ],
    [
      'a BTC-quoted pair written without a slash',
      'NKNBTC\nBuy 0.00000300\nSL 0.00000280\nTP 0.0000033',
      signal({ symbol: 'NKN/BTC', side: 'long', entries: [0.000003], stopLoss: 0.0000028, takeProfits: [0.0000033] }),
    ],
    [
      'a digit-led coin with its quote glued on',
      '1000PEPEUSDT SHORT\nEntry 0.0112\nSL 0.0118\nTP 0.0105',
      signal({ symbol: '1000PEPE/USDT', side: 'short', entries: [0.0112], stopLoss: 0.0118, takeProfits: [0.0105] }),
    ],
  ])('%s', (_title, text, expected) => {
    expect(parseSignalMessage(text)).toEqual(expected);
  });

  it('money is not a coin: "$100k" names no pair', () => {
    expect(parseSignalMessage('$100k LONG\nEntry 140\nSL 130\nTP 150')).toEqual(invalid('no-symbol'));
  });
});

describe('stops and targets that cannot be read as prices are refused', () => {
  it.each([
    ['a percentage range after the stop label', 'ETH/USDT LONG\nEntry 1770\nSL - 25-30%\nTP 1850', 'percent-stop'],
    [
      'Stop Targets as a percentage range',
      '#ETH/USDT\nSignal Type: Regular (Long)\nEntry Targets: 1770\nTake-Profit Targets: 1850\nStop Targets: 5-10%',
      'percent-stop',
    ],
    ['a label glued to a price no reading of which fits', 'BTC/USDT LONG\nEntry 10\nSL 9\nTP41.3100', 'unclear-number'],
    ['targets announced but unreadable', 'BTC/USDT LONG\nEntry 64000\nSL 63000\nTargets: to the moon', 'unreadable-targets'],
    ['a stop on a candle close', 'NKNBTC\nBuy 0.00000300\nSL: H4 candle close below 0.00000280\nTP 0.0000033', 'conditional-stop'],
    ['a closing stop in brackets', 'SOL/USDT LONG\nEntry 140\nSL 130 (daily close)\nTP 150', 'conditional-stop'],
    ['a stop at a tenth of the entry (a misread number)', 'ETH/USDT LONG\nEntry 1770\nSL 25\nTP 1850', 'prices-out-of-scale'],
    ['entries far apart', 'ETH/USDT LONG\nEntry 1770, 25\nSL 20\nTP 1850', 'prices-out-of-scale'],
    ['a breakout entry on a long', 'Enter above 0.25\n#INJ/USDT\nSL 0.22\nTP 0.3', 'breakout-entry'],
    ['a breakdown entry on a short', '#INJ/USDT SHORT\nEntry below 0.25\nSL 0.28\nTP 0.2', 'breakout-entry'],
  ] as const)('%s', (_title, text, reason) => {
    expect(parseSignalMessage(text)).toEqual(invalid(reason));
  });

  it('a label glued to its price is read when exactly one reading fits the prices (TP4 at 1.31, not 3100)', () => {
    expect(parseSignalMessage('Buy: TOMO/USDT\nENTRY  1.1950-1.2100\nTP1 1.2350\nTP2 1.2550\nTP3 1.2800\nTP41.3100\nSTOP 1.1785')).toEqual(
      signal({ symbol: 'TOMO/USDT', side: 'long', entries: [1.195, 1.21], stopLoss: 1.1785, takeProfits: [1.235, 1.255, 1.28, 1.31] }),
    );
  });

  it('list numbers 1, 2, 3... after the labels are not prices, even near 1', () => {
    expect(parseSignalMessage('ALICE/USDT\nLONG\nEntry : 0.946 - 0.929\nTarget 1 - 0.961\nTarget 2 - 1.042\nStop Loss: 0.918')).toEqual(
      signal({ symbol: 'ALICE/USDT', side: 'long', entries: [0.929, 0.946], stopLoss: 0.918, takeProfits: [0.961, 1.042] }),
    );
  });

  it('a market entry with averaging orders beside it is refused', () => {
    expect(parseSignalMessage('APT/USDT LONG\nEntry: market\nDCA: 4.9355\nTargets: 5.2852 5.4307\nStop: 4.6215')).toEqual(
      invalid('mixed-entry'),
    );
  });

  it('a percentage after a price is its gain, not the price', () => {
    expect(parseSignalMessage('DOT/USDT LONG\nEntry 4.10\nTP1 - 4.30 - 5%\nSL 3.9')).toEqual(
      signal({ symbol: 'DOT/USDT', side: 'long', entries: [4.1], stopLoss: 3.9, takeProfits: [4.3] }),
    );
  });
});

describe('formats callers use', () => {
  it.each([
    [
      'targets under a heading with horizon sub-headings',
      'FET/USDT LONG\nEntry: 0.20\nSL: 0.18\nTARGETS\nShort Term: 0.22 - 0.24\nMid Term: 0.28 - 0.30',
      signal({ symbol: 'FET/USDT', side: 'long', entries: [0.2], stopLoss: 0.18, takeProfits: [0.22, 0.24, 0.28, 0.3] }),
    ],
    [
      'emoji-numbered targets',
      'DOGE/USDT LONG\nEntry: 0.20\nTargets:\n1\uFE0F\u20E3 0.2097\n2\uFE0F\u20E3 0.22\nSL: 0.18',
      signal({ symbol: 'DOGE/USDT', side: 'long', entries: [0.2], stopLoss: 0.18, takeProfits: [0.2097, 0.22] }),
    ],
    [
      'one target per line between blank lines',
      'ADA/USDT SHORT\nEntry 0.5\nTargets:\n\n0.48\n\n0.46\n\n0.44\n\nSL 0.52',
      signal({ symbol: 'ADA/USDT', side: 'short', entries: [0.5], stopLoss: 0.52, takeProfits: [0.48, 0.46, 0.44] }),
    ],
    [
      'an EXIT list and words between the stop label and its price',
      'BTC/USDT SHORT\nEntry 6500\nEXIT: 6300, 6200\nStoploss above 6800',
      signal({ symbol: 'BTC/USDT', side: 'short', entries: [6500], stopLoss: 6800, takeProfits: [6300, 6200] }),
    ],
    [
      '"Get in"',
      'SOL/USDT\nGet in: 140\nSL 130\nTP 150',
      signal({ symbol: 'SOL/USDT', side: 'long', entries: [140], stopLoss: 130, takeProfits: [150] }),
    ],
    [
      '"Open SHORT for the price between"',
      'Open SHORT for the price between 1.40 and 1.45\n#APT/USDT\nSL 1.5\nTP 1.3 1.2',
      signal({ symbol: 'APT/USDT', side: 'short', entries: [1.4, 1.45], stopLoss: 1.5, takeProfits: [1.3, 1.2] }),
    ],
    [
      'side then price',
      'ARB/USDT\nLONG : 1.38\nSL : 1.3\nTP : 1.45',
      signal({ symbol: 'ARB/USDT', side: 'long', entries: [1.38], stopLoss: 1.3, takeProfits: [1.45] }),
    ],
    [
      '"for short term" is not a side',
      'BTC/USDT for short term\nBuy 64000\nSL 63000\nTP 65000',
      signal({ symbol: 'BTC/USDT', side: 'long', entries: [64000], stopLoss: 63000, takeProfits: [65000] }),
    ],
    [
      'a leverage range takes its lower bound',
      'SOL/USDT LONG (5-10x)\nEntry 140\nSL 130\nTP 150',
      signal({ symbol: 'SOL/USDT', side: 'long', entries: [140], stopLoss: 130, takeProfits: [150], leverage: 5 }),
    ],
    [
      'two leverages take the lower',
      '#SOL LONG X10 X25\nEntry 140\nSL 130\nTP 150',
      signal({ symbol: 'SOL/USDT', side: 'long', entries: [140], stopLoss: 130, takeProfits: [150], leverage: 10 }),
    ],
  ])('%s', (_title, text, expected) => {
    expect(parseSignalMessage(text)).toEqual(expected);
  });
});

describe('results and updates are not signals', () => {
  it.each([
    ['a ticked target with its profit', 'SOL/USDT\nEntry 5.0\nTarget 1: 5.82 \u2705\n98.2% profit'],
    ['"hit"', 'SOL/USDT LONG\nEntry 140\nSL 130\nTP1 150 hit'],
    ['all targets done', '#LINK/USDT\nEntry: 14\nAll targets done 15 16 17\nSL 13'],
    ['a percentage profit with no stop', '#LINK/USDT\nEntry: 14\nTargets: 15 16\n38% profit'],
  ])('%s', (_title, text) => {
    expect(parseSignalMessage(text)).toEqual(ignored);
  });
});

describe('bounded input', () => {
  it('a message of 4,000 "[" is read (no quadratic scan; bench:parser times it)', () => {
    expect(parseSignalMessage('['.repeat(4000))).toEqual(ignored);
  });

  it('a message with 330 targets is refused, not answered with a reply Discord cannot send', () => {
    const targets = Array.from({ length: 330 }, (_, i) => (1.01 + i * 0.01).toFixed(2)).join(' ');
    expect(parseSignalMessage(`XRP/USDT LONG\nEntry 1.00\nSL 0.95\nTP ${targets}`)).toEqual(invalid('too-many-prices'));
  });
});

// An independent review's attempts (issue #15) to make the parser trade what a message does not say.
describe('what a review tried', () => {
  const body = '\nBTC/USDT LONG\nEntry 64000\nSL 63000\nTP 65000';
  it.each([
    ['a cancelled call that repeats its body', `❌ SIGNAL CANCELLED ❌${body}`],
    ['"cancelled, do not enter"', `BTC/USDT LONG - cancelled, do not enter${body}`],
    ['a ticked target with its gain', `🔥 BTC/USDT TP2 ✅ +35% 🔥${body}`],
    ['a tick between a target label and its price', `TP1 ✅ 65000${body}`],
    ['closed', `BTC/USDT LONG closed at 65000${body}`],
    ['stopped out', `Stopped out on BTC${body}`],
    ['a percentage profit with the stop repeated', `TP 65000 +120% profit${body}`],
  ])('%s is ignored', (_title, text) => {
    expect(parseSignalMessage(text)).toEqual(ignored);
  });

  it.each([
    ['a variation selector inside a name', '#X\uFE0FAI/USDT LONG\nEntry 0.25\nSL 0.23\nTP 0.28', signal({ symbol: 'XAI/USDT', side: 'long', entries: [0.25], stopLoss: 0.23, takeProfits: [0.28] })],
    [
      'list numbers at the start of target lines on a short',
      'APT/USDT SHORT\nEntry 5\nSL 5.5\nTargets:\n1 - 4.5\n2 - 4\n3 - 3.5',
      signal({ symbol: 'APT/USDT', side: 'short', entries: [5], stopLoss: 5.5, takeProfits: [4.5, 4, 3.5] }),
    ],
    [
      'list numbers at the start of target lines on a long',
      'BTC/USDT LONG\nTargets:\n1 65000\n2 66000\nEntry 64000\nSL 63000',
      signal({ symbol: 'BTC/USDT', side: 'long', entries: [64000], stopLoss: 63000, takeProfits: [65000, 66000] }),
    ],
    ['a score line after the targets', 'INJ/USDT SHORT\nEntry 20\nSL 21\nTP 19 18\n⚠️ 7/10', signal({ symbol: 'INJ/USDT', side: 'short', entries: [20], stopLoss: 21, takeProfits: [19, 18] })],
    ['a count in the entry label', 'OP/USDT LONG\nEntry (3 parts): 2.8 / 2.9\nSL 2.6\nTP 3.1', signal({ symbol: 'OP/USDT', side: 'long', entries: [2.8, 2.9], stopLoss: 2.6, takeProfits: [3.1] })],
    ['a duration after the entry', 'OP/USDT LONG\nEntry around 2.8 for 3 days\nSL 2.6\nTP 3.1', signal({ symbol: 'OP/USDT', side: 'long', entries: [2.8], stopLoss: 2.6, takeProfits: [3.1] })],
    ['an hour after a target', 'INJ/USDT SHORT\nEntry 20\nSL 21\nTP 19 at 3 pm', signal({ symbol: 'INJ/USDT', side: 'short', entries: [20], stopLoss: 21, takeProfits: [19] })],
    [
      'shares written "price - share%"',
      'INJ/USDT SHORT\nEntry 27\nTargets:\n1) 26 - 25%\n2) 25 - 25%\n3) 24 - 25%\nSL 28',
      signal({ symbol: 'INJ/USDT', side: 'short', entries: [27], stopLoss: 28, takeProfits: [26, 25, 24] }),
    ],
    ['a margin after the leverage', 'SOL/USDT LONG\nLeverage 10x | Margin 5 USDT\nEntry 150\nSL 140\nTP 160', signal({ symbol: 'SOL/USDT', side: 'long', entries: [150], stopLoss: 140, takeProfits: [160], leverage: 10 })],
    ['a size multiple after the leverage', 'BTC LONG 10x\nEntry 64000\nSL 63000\nTP 65000\n2x your usual size', signal({ symbol: 'BTC/USDT', side: 'long', entries: [64000], stopLoss: 63000, takeProfits: [65000], leverage: 10 })],
    [
      'a warning naming a market entry',
      'OP/USDT LONG\nEntry 2.8\nSL 2.6\nTP 3.1\nDont enter at market, wait for 2.8',
      signal({ symbol: 'OP/USDT', side: 'long', entries: [2.8], stopLoss: 2.6, takeProfits: [3.1] }),
    ],
    [
      'zeros written as a subscript',
      'PEPE/USDT LONG\nEntry 0.0\u2084123\nSL 0.0\u2084110\nTP 0.0\u2084130',
      signal({ symbol: 'PEPE/USDT', side: 'long', entries: [0.0000123], stopLoss: 0.000011, takeProfits: [0.000013] }),
    ],
    ['a bare digit-led coin', '1000PEPE LONG\nEntry 0.012\nSL 0.011\nTP 0.013', signal({ symbol: '1000PEPE/USDT', side: 'long', entries: [0.012], stopLoss: 0.011, takeProfits: [0.013] })],
  ])('%s', (_title, text, expected) => {
    expect(parseSignalMessage(text)).toEqual(expected);
  });

  it.each([
    ['a percentage in words', 'OP/USDT SHORT\nEntry 1.8\nSL 3 percent\nTP 1.7', 'percent-stop'],
    ['a heading word beside the coin', 'SUPER SETUP 🔥\nARB\nLONG\nEntry 0.75\nSL 0.7\nTP 0.8', 'several-symbols'],
    ['another coin named in chatter', 'Long ARB\nEntry 0.75\nSL 0.7\nTP 0.8\nSimilar to OPUSDT chart', 'several-symbols'],
    ['a stop-buy entry', 'SOL/USDT LONG\nStop buy 152\nSL 140\nTP 160', 'breakout-entry'],
    ['an entry "(breakout)"', 'SOL/USDT LONG\nEntry: 150 (breakout)\nSL 140\nTP 160', 'breakout-entry'],
    ['an entry "on breakout"', 'SOL/USDT LONG\nEntry: 150 on breakout\nSL 140\nTP 160', 'breakout-entry'],
    ['a stop on a 15-minute close', 'SOL/USDT SHORT\nEntry 5\nSL: 15min close above 5.40\nTP 4.5', 'conditional-stop'],
    ['a stop "after 15m close"', 'SOL/USDT SHORT\nEntry 5\nSL 5.40 after 15m close\nTP 4.5', 'conditional-stop'],
  ] as const)('%s is refused', (_title, text, reason) => {
    expect(parseSignalMessage(text)).toEqual(invalid(reason));
  });

  it('compatibility characters that grow under normalisation are bounded ("㏂" is "a.m.")', () => {
    expect(parseSignalMessage('\u33C2'.repeat(4000))).toEqual(invalid('too-long'));
  });
});

describe('what a second review tried', () => {
  it.each([
    ['a pair named in chatter beside a bare coin', 'long sol\nentry 145\nsl 140\ntp 150 155\nETH/BTC looks weak btw', invalid('several-symbols')],
    ['two stops', 'BTC/USDT LONG\nEntry 64000\nSL 63000 / 62500\nTP 65000', invalid('several-stops')],
    ['exchanges written as a pair', 'long btc\nExchange: Binance/Bybit\nentry 64000\nsl 63000\ntp 65000', signal({ symbol: 'BTC/USDT', side: 'long', entries: [64000], stopLoss: 63000, takeProfits: [65000] })],
    ['an exchange hashtag', 'long eth\nentry 3000\nsl 2900\ntp 3100\n#BingX #Futures', signal({ symbol: 'ETH/USDT', side: 'long', entries: [3000], stopLoss: 2900, takeProfits: [3100] })],
    ['a hyphenated perpetual', 'SOLUSDT-PERP LONG\nEntry 145\nSL 140\nTP 150 155', signal({ symbol: 'SOL/USDT', side: 'long', entries: [145], stopLoss: 140, takeProfits: [150, 155] })],
    ['targets joined by a slash', '#LINK/USDT LONG\nEntry: 14\nSL: 12\nTP: 15, 16/17', signal({ symbol: 'LINK/USDT', side: 'long', entries: [14], stopLoss: 12, takeProfits: [15, 16, 17] })],
    ['a label glued to the previous target', 'BTC/USDT LONG\nEntry 64000\nSL 63000\nTP1 65000TP2 66000', signal({ symbol: 'BTC/USDT', side: 'long', entries: [64000], stopLoss: 63000, takeProfits: [65000, 66000] })],
  ])('%s', (_title, text, expected) => {
    expect(parseSignalMessage(text)).toEqual(expected);
  });
});
