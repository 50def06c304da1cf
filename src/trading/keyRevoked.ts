import type { AccountsRepository } from '../db/repositories/accounts';
import type { TradingRepository } from '../db/repositories/trading';
import type { Logger } from '../logger';
import type { NoticeEvent } from '../domain/feedEvents';
import type { Account } from '../domain/records';

/**
 * An account whose key the exchange refused (a real authentication failure, not a permission
 * refusal) is disabled, its gateway dropped, and its owner told by DM, once.
 */
export async function disableRevokedKey(
  deps: { accounts: AccountsRepository; trading: TradingRepository; invalidateGateway: (accountId: string) => void; log: Logger },
  account: Account,
): Promise<void> {
  if (!account.enabled && account.disabledReason === 'key-revoked') return;
  await deps.accounts.disable(account.id, 'key-revoked');
  deps.invalidateGateway(account.id);
  const notice: NoticeEvent = { type: 'notice', kind: 'account-disabled', accountName: account.name, reason: 'key-revoked', detail: null };
  await deps.trading.insertFeed([
    { guildId: account.guildId, kind: 'dm', signalId: null, accountId: account.id, recipientId: account.ownerId, payload: notice },
  ]);
  deps.log.warn({ accountId: account.id }, 'account disabled: its key was refused');
}
