import type { AccountsRepository } from '../db/repositories/accounts';
import type { ReadModels } from '../db/repositories/readModels';
import type { Logger } from '../logger';
import { TRADING_MODES } from '../domain/account';
import { tradeStats, type TradeStats } from '../domain/tradeStats';
import type { Clock } from '../clock';
import { invalid, notFound } from './errors';
import type { GatewayFactoryPort } from './ports';
import type { Account } from '../domain/records';

export const PNL_PERIODS = ['day', 'week', 'month', 'all'] as const;
export type PnlPeriod = (typeof PNL_PERIODS)[number];

const DAY_MS = 86_400_000;
const QUOTE_TIMEOUT_MS = 4_000;

export type TradingMode = Account['mode'];
/** Totals are per mode and never summed across: paper and demo money is not money. */
export const MODE_ORDER: readonly TradingMode[] = TRADING_MODES;

export interface PnlTotal {
  mode: TradingMode;
  realised: number;
  unrealised: number;
  fees: number;
  accounts: number;
}

export interface AccountPnl {
  accountId: string;
  name: string;
  exchangeId: string;
  mode: TradingMode;
  /** From closed positions (and take-profits already hit on open ones). */
  realised: number;
  /** From open positions at the current price; null when no price could be had. */
  unrealised: number | null;
  fees: number;
  openPositions: number;
  closedTrades: number;
  wins: number;
  fills: number;
  /** Of the positions closed in the period, in the order they closed. */
  stats: TradeStats;
}

export interface PnlReport {
  period: PnlPeriod;
  /** Start of the period (null for all time). */
  since: Date | null;
  accounts: AccountPnl[];
  /** One total per mode the caller has accounts in (live first), never summed across modes. */
  totals: PnlTotal[];
  /** Some open position had no current price: its unrealised PnL is left out of the total. */
  pricesMissing: boolean;
}

/** Start of a period: the UTC day, the last 7 days, the last 30 days, or all time. */
export function periodStart(period: PnlPeriod, now: number): Date | null {
  switch (period) {
    case 'day':
      return new Date(Math.floor(now / DAY_MS) * DAY_MS);
    case 'week':
      return new Date(now - 7 * DAY_MS);
    case 'month':
      return new Date(now - 30 * DAY_MS);
    default:
      return null;
  }
}

const withTimeout = <T>(promise: Promise<T>, ms: number): Promise<T | null> =>
  new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), ms);
    timer.unref?.();
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      () => {
        clearTimeout(timer);
        resolve(null);
      },
    );
  });

export function createPnlService(deps: {
  reads: ReadModels;
  accounts: AccountsRepository;
  gateways: GatewayFactoryPort;
  clock: Clock;
  log: Logger;
}) {
  const { reads, accounts, gateways, clock, log } = deps;

  return {
    /** The caller's PnL per account and in total. Another member's account id → "not found". */
    async report(query: {
      ownerId: string;
      guildId: string;
      period?: string | null;
      accountId?: string | null;
    }): Promise<PnlReport> {
      const wanted = (query.period ?? 'day').trim().toLowerCase();
      const period = PNL_PERIODS.find((p) => p === wanted);
      if (!period) throw invalid(`Period must be one of: ${PNL_PERIODS.join(', ')}.`);
      const since = periodStart(period, clock.now());

      let owned: Account[];
      if (query.accountId) {
        const account = await accounts.findOwned(query, query.accountId);
        if (!account) throw notFound();
        owned = [account];
      } else {
        owned = await accounts.listOwned(query.ownerId, query.guildId);
      }
      const scope = {
        guildId: query.guildId,
        since,
        ...(query.accountId ? { accountId: query.accountId } : {}),
      };
      const [positions, fills] = await Promise.all([
        reads.positionsOfOwner(query.ownerId, scope),
        reads.filledEntriesOfOwner(query.ownerId, scope),
      ]);
      const byId = new Map(owned.map((account) => [account.id, account]));

      // One valuation per (exchange, market type, mode, symbol), asked once for every open position on
      // it: the mark price on futures (the exchange's own unrealised figure), else the last price, and
      // the market's contract size (quantities are in contracts on some exchanges).
      const quotes = new Map<string, Promise<{ price: number; contractSize: number } | null>>();
      const priceOf = (
        account: Account,
        symbol: string,
      ): Promise<{ price: number; contractSize: number } | null> => {
        const key = `${account.exchangeId}:${account.marketType}:${account.mode}:${symbol}`;
        let cached = quotes.get(key);
        if (!cached) {
          cached = withTimeout(
            Promise.resolve().then(async () => {
              const gateway = gateways.forAccount(account);
              const price =
                gateway.markPrice && account.marketType === 'futures'
                  ? await gateway.markPrice(symbol)
                  : (await gateway.quote(symbol)).last;
              const contractSize = (await gateway.markets()).get(symbol)?.contractSize ?? 1;
              return { price, contractSize };
            }),
            QUOTE_TIMEOUT_MS,
          ).then((valued) => {
            if (valued === null) log.debug({ symbol, exchange: account.exchangeId }, 'no price for pnl');
            return valued;
          });
          quotes.set(key, cached);
        }
        return cached;
      };

      const rows = new Map<string, AccountPnl>(
        owned.map((account) => [
          account.id,
          {
            accountId: account.id,
            name: account.name,
            exchangeId: account.exchangeId,
            mode: account.mode,
            realised: 0,
            unrealised: 0,
            fees: 0,
            openPositions: 0,
            closedTrades: 0,
            wins: 0,
            fills: 0,
            stats: tradeStats([]),
          },
        ]),
      );
      let pricesMissing = false;
      await Promise.all(
        positions.map(async (position) => {
          const row = rows.get(position.accountId);
          const account = byId.get(position.accountId);
          if (!row || !account) return;
          // Realised as booked: exits when they filled (an open position's take-profits too) and funding when paid.
          row.realised += position.realizedPnl;
          row.fees += position.fees;
          if (position.status === 'closed') {
            row.closedTrades += 1;
            if (position.realizedPnl > 0) row.wins += 1;
            return;
          }
          row.openPositions += 1;
          if (position.quantity <= 0 || position.averageEntryPrice === null) return;
          const valued = await priceOf(account, position.symbol);
          if (valued === null) {
            pricesMissing = true;
            row.unrealised = null;
            return;
          }
          const direction = position.side === 'long' ? 1 : -1;
          if (row.unrealised !== null) {
            row.unrealised +=
              (valued.price - position.averageEntryPrice) *
              position.quantity *
              valued.contractSize *
              direction;
          }
        }),
      );
      for (const fill of fills) {
        const row = rows.get(fill.accountId);
        if (row) row.fills = fill.fills;
      }
      const closedInOrder = positions
        .filter((position) => position.status === 'closed')
        .sort((a, b) => (a.closedAt?.getTime() ?? 0) - (b.closedAt?.getTime() ?? 0));
      for (const row of rows.values())
        row.stats = tradeStats(closedInOrder.filter((position) => position.accountId === row.accountId).map((position) => position.realizedPnl));
      const list = [...rows.values()];
      return {
        period,
        since,
        accounts: list,
        totals: totalsByMode(list),
        pricesMissing,
      };
    },
  };
}

export type PnlService = ReturnType<typeof createPnlService>;

/** Sums accounts per mode (live, demo, paper in that order), only modes that have accounts. */
export function totalsByMode(accounts: readonly AccountPnl[]): PnlTotal[] {
  return MODE_ORDER.flatMap((mode) => {
    const of = accounts.filter((account) => account.mode === mode);
    if (of.length === 0) return [];
    return [
      {
        mode,
        realised: of.reduce((sum, row) => sum + row.realised, 0),
        unrealised: of.reduce((sum, row) => sum + (row.unrealised ?? 0), 0),
        fees: of.reduce((sum, row) => sum + row.fees, 0),
        accounts: of.length,
      },
    ];
  });
}
