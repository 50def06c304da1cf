/** Shared setup for the simulator's own tests: a real ccxt binance client wired to a simulator. */
import ccxt from 'ccxt';
import type { FetchImplementation } from './fetch';

export type Binance = InstanceType<typeof ccxt.binance>;

/** The production configuration the gateway uses, with the simulator as transport. */
export const binanceClient = (
  fetchImplementation: FetchImplementation,
  apiKey: string,
  secret: string,
  defaultType: 'spot' | 'swap' = 'spot',
  extra: Record<string, unknown> = {},
): Binance =>
  new ccxt.binance({
    apiKey,
    secret,
    fetchImplementation,
    // ccxt's own throttle only slows the tests down; the simulator's weights are what we test.
    enableRateLimit: false,
    options: { defaultType, fetchMarkets: { types: ['spot', 'linear'] }, fetchCurrencies: false, fetchMargins: false },
    ...extra,
  });

/** Runs `fn` and returns the error it throws (fails when it does not throw). */
export const caught = async (fn: () => Promise<unknown>): Promise<Error> => {
  try {
    await fn();
  } catch (e) {
    if (e instanceof Error) return e;
    throw new Error(`threw a non-Error: ${String(e)}`);
  }
  throw new Error('expected an error');
};

/** An order's exchange id (ccxt types it as possibly undefined). */
export const idOf = (o: { readonly id?: string | undefined }): string => {
  if (o.id === undefined) throw new Error('order without id');
  return o.id;
};
