import pLimit from 'p-limit';
import type { AccountsRepository } from '../db/repositories/accounts';
import type { TradingRepository } from '../db/repositories/trading';
import { utcDayKey } from '../domain/risk';
import { isExchangeError } from '../exchange/errors';
import type { ExchangeGateway } from '../exchange/gateway';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';
import type { Clock } from '../clock';
import type { Account } from '../domain/records';

/** The routine looks at this many stale balances per read it may make (confirmations cost no weight). */
const CONFIRMS_PER_READ = 25;

/**
 * Balances for sizing come from the cycle's sync, never from a call per account per signal: the
 * routine refresh keeps them fresh off the signal's path (the stalest first, a bounded number per
 * cycle, within the exchange's weight budget); right before a fan-out only balances too old to size
 * with are read.
 *
 * An account whose user-data stream has been open since this process last read its balance, and has
 * reported no balance change since, still has that balance (but for unrealized PnL): it is confirmed
 * as of now without a read (no weight), for up to `streamedBalanceMaxAgeMs` after the read. At a
 * thousand accounts the reads would otherwise be most of the IP's weight.
 */
export class BalanceRefresh {
  /** When this process last began a balance read that succeeded, per account. */
  private readonly readAt = new Map<string, number>();
  private quietSince: (accountId: string) => number | null = () => null;

  constructor(
    private readonly deps: {
      accounts: AccountsRepository;
      trading: TradingRepository;
      gatewayFor: (account: Account) => ExchangeGateway;
      clock: Clock;
      log: Logger;
      metrics: Metrics | undefined;
      onAuthFailure: (account: Account) => Promise<void>;
    },
    private readonly settings: { balanceMaxAgeMs: number; balanceRefreshPerCycle: number; concurrency: number; streamedBalanceMaxAgeMs: number },
  ) {}

  /** Where the streams say since when an account's balances are unchanged (the position sync's follow loop). */
  confirmWith(quietSince: (accountId: string) => number | null): void {
    this.quietSince = quietSince;
  }

  /** Before a batch: balances of its accounts older than 90% of the sizing age limit. */
  async beforeFanOut(accountIds: string[]): Promise<void> {
    const ids = [...new Set(accountIds)];
    await this.refresh(await this.deps.accounts.byIds(ids), this.settings.balanceMaxAgeMs * 0.9);
  }

  /**
   * Each cycle: the stalest balances (older than half the limit) first; those the streams vouch for
   * are confirmed, and a bounded number of the others read.
   */
  async routine(): Promise<void> {
    const olderThan = new Date(this.deps.clock.now() - this.settings.balanceMaxAgeMs / 2);
    const stale = await this.deps.accounts.listStaleBalances(olderThan, this.settings.balanceRefreshPerCycle * CONFIRMS_PER_READ);
    const toRead = await this.confirmUnchanged(stale);
    await this.refresh(toRead.slice(0, this.settings.balanceRefreshPerCycle), 0);
  }

  /** Confirms as of now the balances the streams say are unchanged since this process read them; returns the others. */
  private async confirmUnchanged(rows: Account[]): Promise<Account[]> {
    const now = this.deps.clock.now();
    const unchanged = (id: string): boolean => {
      const quiet = this.quietSince(id);
      const read = this.readAt.get(id);
      return quiet !== null && read !== undefined && read >= quiet && now - read < this.settings.streamedBalanceMaxAgeMs;
    };
    const confirmed = rows.filter((row) => unchanged(row.id)).map((row) => row.id);
    if (confirmed.length > 0) {
      try {
        await this.deps.accounts.confirmBalances(confirmed, new Date(now));
      } catch (error) {
        // Not confirmed: read as any other (weight, but never a stale balance taken for fresh).
        this.deps.log.warn({ err: error }, 'balances could not be confirmed; reading them');
        return rows;
      }
    }
    const done = new Set(confirmed);
    return rows.filter((row) => !done.has(row.id));
  }

  private async refresh(rows: Account[], olderThanMs: number): Promise<void> {
    const { accounts, trading, clock, log, metrics } = this.deps;
    const now = clock.now();
    const due = rows.filter((account) => (account.balanceAt ? now - account.balanceAt.getTime() : Infinity) >= olderThanMs);
    const limit = pLimit(this.settings.concurrency);
    await Promise.all(
      (await this.confirmUnchanged(due)).map((account) =>
        limit(async () => {
          const id = account.id;
          const startedAt = clock.now();
          try {
            const gateway = this.deps.gatewayFor(account);
            // A definite rejection (-1021) of a read is safe to repeat once at once.
            const balance = await gateway.balance().catch((error: unknown) => {
              if (isExchangeError(error, 'retryable')) return gateway.balance();
              throw error;
            });
            await accounts.recordBalance(id, balance.free, balance.equity, new Date(balance.asOf));
            await trading.recordStartEquity(id, utcDayKey(now), balance.equity);
            // From its start: a change reported while the read was under way may not be in it.
            this.readAt.set(id, startedAt);
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
