import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DatabaseHandle } from '../../../src/db/client';
import { guildsRepository } from '../../../src/db/repositories/guilds';
import { readModels } from '../../../src/db/repositories/readModels';
import { createLogger } from '../../../src/logger';
import { isUserError } from '../../../src/services/errors';
import { createGuildSettingsService } from '../../../src/services/guildSettings';
import { freshDatabase } from '../../support/db';

/** STRATEGY_ENABLED is the operator's switch: off, no server turns the built-in strategy on. */
let db: DatabaseHandle;
beforeEach(async () => {
  db = await freshDatabase();
});
afterEach(async () => {
  await db.close();
});

const admin = { guildId: '100000000000000001', userId: '200000000000000001', isAdmin: true };
const service = (strategyAllowed: boolean) =>
  createGuildSettingsService({ guilds: guildsRepository(db.db), reads: readModels(db.db), log: createLogger({ level: 'silent' }), strategyAllowed });

describe('/setup strategy and the operator switch', () => {
  it('off: turning it on is refused with the reason, nothing is stored; turning it off still works', async () => {
    const off = service(false);
    const refused = await off.setStrategy(admin, { enabled: true, watchlist: 'BTC/USDT' }).catch((error: unknown) => error);
    expect(isUserError(refused)).toBe(true);
    expect((refused as Error).message).toMatch(/STRATEGY_ENABLED=false/);
    expect((await guildsRepository(db.db).get(admin.guildId))?.strategyEnabled ?? false).toBe(false);
    await expect(off.setStrategy(admin, { enabled: false })).resolves.toMatchObject({ strategy: { enabled: false } });
  });

  it('on: an admin turns it on with a watchlist', async () => {
    const on = service(true);
    await expect(on.setStrategy(admin, { enabled: true, watchlist: 'BTC/USDT' })).resolves.toMatchObject({ strategy: { enabled: true, watchlist: ['BTC/USDT'] } });
    expect((await guildsRepository(db.db).get(admin.guildId))?.strategyEnabled).toBe(true);
  });
});
