/**
 * `/pnl account:… check:true`: the owner's latest closed positions of one futures account, the bot's
 * book against the exchange's own income records (src/domain/reconcile.ts). Records are matched to a
 * position by symbol and time: realised PnL and commission from a minute before it opened to a
 * minute after it closed (trade times), funding from its open to its close.
 */
import type { AccountsRepository } from '../db/repositories/accounts';
import type { ClosedPositionFees, ReadModels } from '../db/repositories/readModels';
import { LRUCache } from 'lru-cache';
import { HELD_MARGIN_MS } from '../domain/funding';
import { parsePair } from '../domain/symbols';
import { reconcile, type Reconciliation } from '../domain/reconcile';
import type { IncomeEntry } from '../exchange/gateway';
import { isExchangeError } from '../exchange/errors';
import { invalid, notFound, UserError } from './errors';
import type { GatewayFactoryPort } from './ports';

/** Around a position's life: its entry may have filled a little before the bot saw it (see HELD_MARGIN_MS). */
const MARGIN_MS = HELD_MARGIN_MS;
export const RECONCILE_POSITIONS = 5;
/** One check per account per minute: each costs at least 90 of the exchange's request weight, shared with trading. */
export const RECONCILE_COOLDOWN_MS = 60_000;

export interface ReconciledPosition {
  positionId: string;
  symbol: string;
  side: 'long' | 'short';
  openedAt: Date;
  closedAt: Date;
  check: Reconciliation;
  /** Another of the account's positions on the symbol overlapped it: the exchange's figures include both. */
  overlapped: boolean;
}

export interface ReconcileReport {
  accountName: string;
  positions: ReconciledPosition[];
}

export function createReconcileService(deps: {
  reads: ReadModels;
  accounts: AccountsRepository;
  gateways: Pick<GatewayFactoryPort, 'forAccount'>;
  now?: () => number;
}) {
  const now = deps.now ?? Date.now;
  const lastCheck = new LRUCache<string, number>({ max: 10_000 });
  return {
    async check(query: {
      ownerId: string;
      guildId: string;
      accountId: string | null;
    }): Promise<ReconcileReport> {
      if (!query.accountId) throw invalid('Pick the account to check against the exchange.');
      const account = await deps.accounts.findOwned(query, query.accountId);
      if (!account) throw notFound();
      if (account.marketType !== 'futures' || account.mode === 'paper') {
        throw invalid(
          'The check compares with the exchange’s futures income records: only live and demo futures accounts have them.',
        );
      }
      const gateway = deps.gateways.forAccount(account);
      if (!gateway.income) throw invalid(`${account.exchangeId} does not report its income history here.`);
      const last = lastCheck.get(account.id);
      if (last !== undefined && now() - last < RECONCILE_COOLDOWN_MS) {
        throw new UserError(
          'conflict',
          `This account was checked less than a minute ago; try again in ${Math.ceil((RECONCILE_COOLDOWN_MS - (now() - last)) / 1000)} s.`,
        );
      }
      lastCheck.set(account.id, now());
      const closed = await deps.reads.closedPositionsWithFees(account.id, RECONCILE_POSITIONS);
      if (closed.length === 0) return { accountName: account.name, positions: [] };
      const since = Math.min(...closed.map((p) => p.openedAt.getTime())) - MARGIN_MS;
      const until = Math.max(...closed.map((p) => p.closedAt.getTime())) + MARGIN_MS;
      let records: IncomeEntry[];
      try {
        const read = await gateway.income({ kinds: ['realized-pnl', 'commission', 'funding'], since, until });
        // A history cut short would compare part of it as if it were all.
        if (read.readUntil < until)
          throw new UserError(
            'unavailable',
            'The exchange’s records for these positions are too many to read at once; nothing was compared.',
          );
        records = read.entries;
      } catch (error) {
        if (isExchangeError(error, 'not-supported'))
          throw invalid(
            `The check reads the exchange's income history, which is read on Binance futures only.`,
          );
        if (isExchangeError(error))
          throw new UserError(
            'unavailable',
            `The exchange did not answer (${error.message}). Try again in a minute.`,
          );
        throw error;
      }
      return {
        accountName: account.name,
        positions: closed.map((position) => compare(position, closed, records)),
      };
    },
  };
}

function compare(
  position: ClosedPositionFees,
  all: readonly ClosedPositionFees[],
  records: readonly IncomeEntry[],
): ReconciledPosition {
  const opened = position.openedAt.getTime();
  const closed = position.closedAt.getTime();
  const mine = records.filter((r) => r.symbol === position.symbol);
  const trades = mine.filter((r) => r.at >= opened - MARGIN_MS && r.at <= closed + MARGIN_MS);
  const check = reconcile(
    {
      realised: position.realizedPnl,
      funding: position.funding,
      fees: position.fees,
      quote: parsePair(position.symbol)?.quote ?? 'USDT',
    },
    {
      realizedPnl: trades.filter((r) => r.kind === 'realized-pnl').map((r) => r.amount),
      commission: trades
        .filter((r) => r.kind === 'commission')
        .map((r) => ({ currency: r.currency, amount: r.amount })),
      funding: mine
        .filter((r) => r.kind === 'funding' && r.at >= opened - MARGIN_MS && r.at <= closed)
        .map((r) => r.amount),
    },
  );
  const overlapped = all.some(
    (other) =>
      other.id !== position.id &&
      other.symbol === position.symbol &&
      other.openedAt.getTime() <= closed + MARGIN_MS &&
      other.closedAt.getTime() >= opened - MARGIN_MS,
  );
  return {
    positionId: position.id,
    symbol: position.symbol,
    side: position.side,
    openedAt: position.openedAt,
    closedAt: position.closedAt,
    check,
    overlapped,
  };
}

export type ReconcileService = ReturnType<typeof createReconcileService>;
