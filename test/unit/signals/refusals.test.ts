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
