import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { DatabaseHandle } from '../../../src/db/client';
import { accountsRepository } from '../../../src/db/repositories/accounts';
import { feedOutbox } from '../../../src/db/schema';
import type { NoticeEvent } from '../../../src/domain/feedEvents';
import { keyExpiryReminders } from '../../../src/trading/keyExpiryReminders';
import { createLogger } from '../../../src/logger';
import { databaseKinds, freshDatabase } from '../../support/db';

const DAY = 86_400_000;
const GUILD = '100000000000000001';
const ALICE = '200000000000000001';

describe.each(databaseKinds)('key expiry reminders on %s', (kind) => {
  let handle: DatabaseHandle | undefined;
  afterEach(async () => {
    await handle?.close();
    handle = undefined;
  });

  it('two processes looking at once: the week and the day reminders each reach the owner once', async () => {
    handle = await freshDatabase(kind);
    const accounts = accountsRepository(handle.db);
    const expiresAt = Date.UTC(2026, 3, 5, 8, 0, 0);
    const account = await accounts.create({
      id: randomUUID(),
      ownerId: ALICE,
      guildId: GUILD,
      name: 'main',
      exchangeId: 'binance',
      marketType: 'futures',
      mode: 'live',
      tradingExpiresAt: new Date(expiresAt),
    });
    // A paper account, a live one far from its date and one whose key was refused are never reminded.
    await accounts.create({ id: randomUUID(), ownerId: ALICE, guildId: GUILD, name: 'revoked', exchangeId: 'binance', marketType: 'futures', mode: 'live', enabled: false, disabledReason: 'key-revoked', tradingExpiresAt: new Date(expiresAt) });
    await accounts.create({ id: randomUUID(), ownerId: ALICE, guildId: GUILD, name: 'paper', exchangeId: 'binance', marketType: 'futures', mode: 'paper', tradingExpiresAt: new Date(expiresAt) });
    await accounts.create({ id: randomUUID(), ownerId: ALICE, guildId: GUILD, name: 'later', exchangeId: 'binance', marketType: 'futures', mode: 'live', tradingExpiresAt: new Date(expiresAt + 30 * DAY) });

    let now = expiresAt - 10 * DAY;
    const clock = { now: () => now, sleep: async () => {} };
    const log = createLogger({ level: 'silent' });
    const processes = [0, 1].map(() => keyExpiryReminders({ accounts, clock, log, everyMs: 0 }));
    const runAll = async () => (await Promise.all(processes.map((p) => p.run()))).reduce((a, b) => a + b, 0);
    const dms = async () =>
      (await handle!.db.select().from(feedOutbox)).filter((row) => row.kind === 'dm').map((row) => ({ to: row.recipientId, account: row.accountId, notice: row.payload as NoticeEvent }));

    expect(await runAll()).toBe(0);
    now = expiresAt - 6 * DAY;
    expect(await runAll()).toBe(1);
    expect(await runAll()).toBe(0);
    now = expiresAt - 12 * 3_600_000;
    expect(await runAll()).toBe(1);
    now = expiresAt + DAY;
    expect(await runAll()).toBe(0);

    const sent = await dms();
    expect(sent).toHaveLength(2);
    expect(sent.every((dm) => dm.account === account.id)).toBe(true);
    for (const dm of sent) {
      expect(dm).toMatchObject({ to: ALICE, account: account.id, notice: { kind: 'key-expiring', accountName: 'main' } });
      expect(dm.notice.detail).toContain(`<t:${expiresAt / 1000}:F>`);
      expect(dm.notice.detail).toMatch(/restrict the key to this server's IP/i);
    }
  });

  it('a reminder read before a verify brought a new date is not sent for the old one', async () => {
    handle = await freshDatabase(kind);
    const accounts = accountsRepository(handle.db);
    const oldDate = new Date(Date.UTC(2026, 3, 5, 8, 0, 0));
    const account = await accounts.create({ id: randomUUID(), ownerId: ALICE, guildId: GUILD, name: 'main', exchangeId: 'binance', marketType: 'futures', mode: 'live', tradingExpiresAt: oldDate });
    // The verify: a new date, reminders counted from 0 again.
    await accounts.update(account.id, { tradingExpiresAt: new Date(oldDate.getTime() + 90 * DAY), expiryNotices: 0 });
    expect(await accounts.recordExpiryReminder(account.id, oldDate, 0, 1, [])).toBe(false);
    expect((await accounts.byId(account.id))!.expiryNotices).toBe(0);
  });
});
