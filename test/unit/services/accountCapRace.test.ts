import { afterEach, describe, expect, it } from 'vitest';
import type { DatabaseHandle } from '../../../src/db/client';
import { exchangeAccounts } from '../../../src/db/schema';
import { DEFAULT_MAX_ACCOUNTS_PER_MEMBER } from '../../../src/services/accounts';
import { databaseKinds, freshDatabase } from '../../support/db';
import { servicesOn } from './fakes';

const GUILD = '110000000000000001';
const ALICE = '210000000000000001';

describe.each(databaseKinds)('the per-member account cap on %s', (kind) => {
  let db: DatabaseHandle | undefined;
  afterEach(async () => {
    await db?.close();
    db = undefined;
  });

  it('holds when several /account add forms are submitted at once (found by review: 14 of 10)', async () => {
    db = await freshDatabase(kind);
    const world = await servicesOn(db);
    const paper = (name: string) =>
      world.services.accounts.add({ ownerId: ALICE, guildId: GUILD, name, exchangeId: 'binance', marketType: 'futures', mode: 'paper' });
    for (let i = 0; i < DEFAULT_MAX_ACCOUNTS_PER_MEMBER - 1; i += 1) await paper(`p${i}`);
    const outcomes = await Promise.allSettled([paper('a'), paper('b'), paper('c'), paper('d'), paper('e')]);
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    for (const refused of outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected'))
      expect(String(refused.reason)).toMatch(/the most a member may have here/);
    expect(await db.db.select().from(exchangeAccounts)).toHaveLength(DEFAULT_MAX_ACCOUNTS_PER_MEMBER);
  });
});
