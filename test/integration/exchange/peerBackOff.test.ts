import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, type DatabaseHandle } from '../../../src/db/client';
import { RateLimiterRegistry } from '../../../src/exchange/ccxt/rateLimiter';
import { createLogger } from '../../../src/logger';
import { BACK_OFF_CHANNEL, peerBackOffs } from '../../../src/trading/peerBackOff';
import { databaseKinds, freshDatabase } from '../../support/db';

const log = createLogger({ level: 'silent', name: 'test' });
const tooMany = (retryAfterSec: string) => ({ get: (name: string) => (name.toLowerCase() === 'retry-after' ? retryAfterSec : null) });

describe('a back-off the exchange asked of one limiter', () => {
  it('is reported once to the peers hook, and a back-off from a peer is not reported again', () => {
    const told: [string, number][] = [];
    const registry = new RateLimiterRegistry(undefined, {}, (exchangeId, ms) => told.push([exchangeId, ms]));
    registry.get('binanceusdm').observe('fapi', 429, tooMany('3'));
    expect(told).toEqual([['binance', 3_000]]);
    registry.backOffFromPeer('binance', 5_000);
    expect(told).toHaveLength(1);
    expect(registry.get('binance').blockedForMs()).toBeGreaterThan(4_000);
  });
});

const handles: DatabaseHandle[] = [];
afterEach(async () => {
  for (const handle of handles.splice(0).reverse()) await handle.close();
});

describe.skipIf(!databaseKinds.includes('postgres'))('processes on one PostgreSQL (one IP)', () => {
  it('all stop sending when one of them is told to back off', { timeout: 30_000 }, async () => {
    const first = await freshDatabase('postgres');
    handles.push(first);
    const second = await openDatabase({ url: first.url!, maxConnections: 2 });
    handles.push(second);
    const [a, b] = [first, second].map((db) => {
      const relay = peerBackOffs(db.peers, log);
      const registry = new RateLimiterRegistry(undefined, {}, relay.publish);
      return { relay, registry };
    });
    const stops = await Promise.all([a!.relay.listen(a!.registry), b!.relay.listen(b!.registry)]);

    // Noise on the channel is ignored.
    await second.peers.publish(BACK_OFF_CHANNEL, 'not json');
    a!.registry.get('binance').observe('fapi', 429, tooMany('4'));
    await expect.poll(() => b!.registry.get('binance').blockedForMs(), { timeout: 10_000, interval: 10 }).toBeGreaterThan(3_000);
    // Another exchange on the same IP is not touched.
    expect(b!.registry.get('bybit').blockedForMs()).toBe(0);
    for (const stop of stops) await stop();
  });
});
