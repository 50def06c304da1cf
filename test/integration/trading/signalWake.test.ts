import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, type DatabaseHandle } from '../../../src/db/client';
import { createLogger } from '../../../src/logger';
import { signalWakes } from '../../../src/trading/signalWake';
import { databaseKinds, freshDatabase } from '../../support/db';

const log = createLogger({ level: 'silent', name: 'test' });
const handles: DatabaseHandle[] = [];
afterEach(async () => {
  for (const handle of handles.splice(0).reverse()) await handle.close();
});

describe.skipIf(!databaseKinds.includes('postgres'))('a signal queued in one process', () => {
  it('wakes the cycle of another process on the same PostgreSQL at once', { timeout: 30_000 }, async () => {
    const first = await freshDatabase('postgres');
    handles.push(first);
    const second = await openDatabase({ url: first.url!, maxConnections: 2 });
    handles.push(second);
    let woken = 0;
    const stop = await signalWakes(second.peers, log).listen(() => (woken += 1));
    signalWakes(first.peers, log).announce();
    await expect.poll(() => woken, { timeout: 10_000, interval: 10 }).toBe(1);
    await stop();
    signalWakes(first.peers, log).announce();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(woken).toBe(1);
  });
});
