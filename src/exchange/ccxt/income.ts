/**
 * A futures account's income history through ccxt. On Binance, GET /fapi/v1/income (what
 * `fetchFundingHistory` calls, with `incomeType` set per kind): a window holding more than a page
 * answers its first 1,000 rows oldest first, so the next page starts at the last row's time (the
 * bound is inclusive; rows already read are dropped by id). Elsewhere only funding, where ccxt has
 * `fetchFundingHistory`.
 */
import type { Exchange } from 'ccxt';
import type { IncomeEntry, IncomeKind, IncomeQuery } from '../gateway';

const PAGE = 1000;
/** A guard against an answer that never advances; 20 pages is 20,000 rows of one kind. */
const MAX_PAGES = 20;

const BINANCE_TYPES: Record<IncomeKind, string> = { funding: 'FUNDING_FEE', 'realized-pnl': 'REALIZED_PNL', commission: 'COMMISSION' };

interface CcxtIncome {
  id?: string | undefined;
  symbol?: string | undefined;
  code?: string | undefined;
  amount?: number | undefined;
  timestamp?: number | undefined;
  info?: unknown;
}

export async function readIncome(exchange: Exchange, query: IncomeQuery, binance: boolean): Promise<IncomeEntry[]> {
  const out: IncomeEntry[] = [];
  for (const kind of query.kinds) {
    if (!binance && kind !== 'funding') continue;
    if (!binance && !exchange.has['fetchFundingHistory']) continue;
    const seen = new Set<string>();
    let since = query.since;
    for (let page = 0; page < MAX_PAGES; page += 1) {
      const params: Record<string, unknown> = { until: query.until, ...(binance ? { incomeType: BINANCE_TYPES[kind] } : {}) };
      const rows = (await exchange.fetchFundingHistory(query.symbol, since, PAGE, params)) as CcxtIncome[];
      let fresh = 0;
      for (const row of rows) {
        const entry = toEntry(row, kind);
        if (!entry || seen.has(entry.id) || entry.at > query.until) continue;
        seen.add(entry.id);
        out.push(entry);
        fresh += 1;
      }
      const last = rows.at(-1)?.timestamp;
      if (rows.length < PAGE || fresh === 0 || last === undefined) break;
      since = last;
    }
  }
  return out.sort((a, b) => a.at - b.at);
}

function toEntry(row: CcxtIncome, kind: IncomeKind): IncomeEntry | null {
  if (row.id === undefined || row.amount === undefined || row.timestamp === undefined) return null;
  const info = typeof row.info === 'object' && row.info !== null ? (row.info as Record<string, unknown>) : {};
  const tradeId = typeof info['tradeId'] === 'string' && info['tradeId'] !== '' ? info['tradeId'] : null;
  return { id: String(row.id), kind, symbol: row.symbol ?? '', amount: row.amount, currency: row.code ?? '', at: row.timestamp, tradeId };
}
