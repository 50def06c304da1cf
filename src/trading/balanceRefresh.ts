import pLimit from 'p-limit';
import type { AccountRow, AccountsRepository } from '../db/repositories/accounts';
import type { TradingRepository } from '../db/repositories/trading';
import { utcDayKey } from '../domain/risk';
import { isExchangeError } from '../exchange/errors';
import type { ExchangeGateway } from '../exchange/gateway';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';
import type { Clock } from './clock';

/**
 * Balances for sizing come from the cycle's sync, never from a call per account per signal: the
 * routine refresh keeps them fresh off the signal's path (the stalest first, a bounded number per
 * cycle, within the exchange's weight budget); right before a fan-out only balances too old to size
 * with are read.
 */
export class BalanceRefresh {
  constructor(
    private readonly deps: {
      accounts: AccountsRepository;
      trading: TradingRepository;
      gatewayFor: (account: AccountRow) => ExchangeGateway;
      clock: Clock;
      log: Logger;
      metrics: Metrics | undefined;
      onAuthFailure: (account: AccountRow) => Promise<void>;
    },
    private readonly settings: { balanceMaxAgeMs: number; balanceRefreshPerCycle: number; concurrency: number },
  ) {}

  /** Before a batch: balances of its accounts older than 90% of the sizing age limit. */
  async beforeFanOut(accountIds: string[]): Promise<void> {
    const ids = [...new Set(accountIds)];
    await this.refresh(await this.deps.accounts.byIds(ids), this.settings.balanceMaxAgeMs * 0.9);
  }

  /** Each cycle: the stalest balances (older than half the limit) first, a bounded number. */
  async routine(): Promise<void> {
    const olderThan = new Date(this.deps.clock.now() - this.settings.balanceMaxAgeMs / 2);
    await this.refresh(await this.deps.accounts.listStaleBalances(olderThan, this.settings.balanceRefreshPerCycle), 0);
  }

  private async refresh(rows: AccountRow[], olderThanMs: number): Promise<void> {
    const { accounts, trading, clock, log, metrics } = this.deps;
    const now = clock.now();
    const limit = pLimit(this.settings.concurrency);
    await Promise.all(
      rows.map((account) =>
        limit(async () => {
          const id = account.id;
          const age = account.balanceAt ? now - account.balanceAt.getTime() : Infinity;
          if (age < olderThanMs) return;
          try {
            const gateway = this.deps.gatewayFor(account);
            // A definite rejection (-1021) of a read is safe to repeat once at once.
            const balance = await gateway.balance().catch((error: unknown) => {
              if (isExchangeError(error, 'retryable')) return gateway.balance();
              throw error;
            });
            await accounts.recordBalance(id, balance.free, balance.equity, new Date(balance.asOf));
            await trading.recordStartEquity(id, utcDayKey(now), balance.equity);
          } catch (error) {
            if (isExchangeError(error, 'auth-failed')) await this.deps.onAuthFailure(account);
            metrics?.exchangeErrors.inc({
              exchange: account.exchangeId,
              kind: isExchangeError(error) ? error.kind : 'unexpected',
            });
            log.warn({ err: error, accountId: id }, 'balance sync failed');
          }
        }),
      ),
    );
  }
}
