import { describe, expect, it } from 'vitest';
import { normaliseText } from '../../../src/signals/normaliseText';
import { readNumericRun, thousandsOf } from '../../../src/signals/numbers';
import { markBareSymbols, pairFromWord, pickSymbol } from '../../../src/signals/symbol';
import { tokenise } from '../../../src/signals/tokenise';

describe('readNumericRun', () => {
  it.each([
    ['64500', [{ value: 64500, alternative: null }]],
    ['0.1612', [{ value: 0.1612, alternative: null }]],
    ['64,500', [{ value: 64500, alternative: [64, 500] }]],
    ['1,234,567.5', [{ value: 1234567.5, alternative: [1, 234, 567.5] }]],
    ['65,000', [{ value: 65000, alternative: null }]],
    [
      '65,000,66,000',
      [
        { value: 65000, alternative: null },
        { value: 66000, alternative: null },
      ],
    ],
    [
      '0.54,0.555',
      [
        { value: 0.54, alternative: null },
        { value: 0.555, alternative: null },
      ],
    ],
    [
      '64,50',
      [
        { value: 64, alternative: null },
        { value: 50, alternative: null },
      ],
    ],
    ['0,523', [{ value: 0.523, alternative: null }]],
  ])('%s', (run, expected) => {
    expect(readNumericRun(run)).toEqual(expected);
  });

  it('marks malformed numbers as NaN', () => {
    expect(readNumericRun('1.2.3')[0]?.value).toBeNaN();
  });

  it('reads k suffixes exactly', () => {
    expect(thousandsOf('1.1')).toBe(1100);
    expect(thousandsOf('64.5')).toBe(64500);
  });
});

describe('normaliseText', () => {
  it('drops markdown, code fences, mentions and emoji', () => {
    expect(normaliseText('**BTC** __x__ `y` ~~z~~ ||s|| 🚀 <@123> <:e:456>').replace(/ +/g, ' ')).toBe(
      'BTC x y z s ',
    );
    expect(normaliseText('```json\n{}\n```')).toBe('\n{}\n\n');
  });

  it('keeps a symbol that opens a code block', () => {
    expect(normaliseText('```BTCUSDT\nLONG```')).toBe('\nBTCUSDT\nLONG\n');
  });

  it('maps dashes, hyphenated labels and hyphenated pairs', () => {
    expect(normaliseText('1–2—3 Stop-loss Take-Profit BTC-USDT')).toBe(
      '1-2-3 Stop loss Take Profit BTC/USDT',
    );
  });

  it('turns keycap emoji into list numbers and fancy letters into ASCII', () => {
    expect(normaliseText('1️⃣ 0.46')).toBe('1)  0.46');
    expect(normaliseText('𝐁𝐓𝐂')).toBe('BTC');
  });
});

describe('symbols', () => {
  const symbolOf = (text: string) => pickSymbol(markBareSymbols(tokenise(normaliseText(text))));

  it.each([
    ['BTCUSDT', 'BTC/USDT'],
    ['ethusdc', 'ETH/USDC'],
    ['BTCPERP', 'BTC/USDT'],
    ['AUSDUSDT', 'AUSD/USDT'],
  ])('pairFromWord(%s)', (word, expected) => {
    const pair = pairFromWord(word, 'suffix');
    expect(pair && `${pair.base}/${pair.quote}`).toBe(expected);
  });

  it.each(['USDT', 'USD', 'XUSDT', 'longusdt'])('%s is not a pair', (word) => {
    expect(pairFromWord(word, 'suffix')).toBeNull();
  });

  it.each([
    ['#BTC #ETH/USDT', 'several'],
    ['#ETH #ETH/USDT', 'ETH/USDT'],
    ['#BTC #BTCUSD', 'BTC/USD'],
    ['long btc', 'BTC/USDT'],
    ['Short term idea', null],
    ['TP/SL', null],
    ['this coin will moon', null],
    ['Coin: pepe', 'PEPE/USDT'],
    ['**SOL**\nLONG', 'SOL/USDT'],
    ['ETH/BTC', 'ETH/BTC'],
    ['#signal #binance', null],
  ])('%j → %s', (text, expected) => {
    expect(symbolOf(text)).toBe(expected);
  });
});
