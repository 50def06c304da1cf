/**
 * Direct messages before an exchange ends a key's trading permission (issue #19 item 4): the rule is
 * src/domain/keyExpiry.ts; this applies it to the accounts whose date is near, each reminder recorded
 * together with its message under a compare-and-set, so several processes send it once.
 */
import type { AccountsRepository } from '../db/repositories/accounts';
import { EXPIRY_LOOKAHEAD_MS, EXPIRY_REMINDERS, expiryReminderDue } from '../domain/keyExpiry';
import type { Logger } from '../logger';
import type { Clock } from '../clock';
import { accountFeedRow } from './dailyLossPause';
import type { NoticeEvent } from '../domain/feedEvents';
import type { Account } from '../domain/records';

const LAST_STAGE = EXPIRY_REMINDERS[EXPIRY_REMINDERS.length - 1]!.stage;

export interface KeyExpiryRemindersDeps {
  accounts: AccountsRepository;
  clock: Clock;
  log: Logger;
  /** How often the accounts are looked at (default 10 minutes; the reminders are a day apart at least). */
  everyMs?: number;
}

export function keyExpiryReminders(deps: KeyExpiryRemindersDeps) {
  const everyMs = deps.everyMs ?? 10 * 60_000;
  let lastRunAt = Number.NEGATIVE_INFINITY;

  function notice(account: Account, expiresAt: number, now: number): NoticeEvent {
    const when = `<t:${Math.floor(expiresAt / 1000)}:F> (<t:${Math.floor(expiresAt / 1000)}:R>)`;
    const detail =
      expiresAt > now
        ? `The exchange ends this key's trading permission on ${when}, because the key is not restricted to trusted IPs. After that the account cannot trade. Restrict the key to this server's IP on the exchange (or create a new one and add it with /account add), then run /account verify.`
        : `The exchange ended this key's trading permission on ${when}: the account cannot trade with it. Restrict the key to this server's IP on the exchange (or add a new key with /account add), then run /account verify.`;
    return { type: 'notice', kind: 'key-expiring', accountName: account.name, reason: null, detail };
  }

  /** Sends the reminders due now; returns how many were sent. Runs at most once per `everyMs`. */
  async function run(): Promise<number> {
    const now = deps.clock.now();
    if (now - lastRunAt < everyMs) return 0;
    lastRunAt = now;
    let sent = 0;
    for (const account of await deps.accounts.expiringKeys(new Date(now + EXPIRY_LOOKAHEAD_MS), LAST_STAGE)) {
      const expiresAt = account.tradingExpiresAt?.getTime();
      if (expiresAt === undefined) continue;
      const stage = expiryReminderDue(expiresAt, account.expiryNotices, now);
      if (stage === null) continue;
      const row = accountFeedRow(account, null, notice(account, expiresAt, now), 'dm');
      if (await deps.accounts.recordExpiryReminder(account.id, new Date(expiresAt), account.expiryNotices, stage, [row])) {
        sent += 1;
        deps.log.info({ accountId: account.id, stage }, 'key expiry reminder queued');
      }
    }
    return sent;
  }

  return { run };
}
