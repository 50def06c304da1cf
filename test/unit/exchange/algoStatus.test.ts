import { describe, expect, it } from 'vitest';
import { algoStatusOf } from '../../../src/exchange/ccxt/venues/binance';

describe('Binance algo order statuses', () => {
  it.each([
    ['NEW', 'open'],
    // Triggered but its order not read (or not placed) yet: still working, never "filled" with nothing.
    ['TRIGGERING', 'open'],
    ['TRIGGERED', 'open'],
    ['FINISHED', 'open'],
    ['CANCELED', 'cancelled'],
    // The stop did not protect: the matching engine refused it, or the system cancelled it.
    ['REJECTED', 'rejected'],
    ['EXPIRED', 'expired'],
  ] as const)('%s reads as %s', (algoStatus, status) => {
    expect(algoStatusOf(algoStatus)).toBe(status);
  });

  it('is undefined for what is not an algo order', () => {
    expect(algoStatusOf(undefined)).toBeUndefined();
    expect(algoStatusOf('FILLED')).toBeUndefined();
  });
});
