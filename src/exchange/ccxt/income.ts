/**
 * A Binance futures account's income history through ccxt: GET /fapi/v1/income (what
 * `fetchFundingHistory` calls, with `incomeType` set per kind). A window holding more than a page
 * answers its first 1,000 rows oldest first, so the next page starts at the last row's time (the
 * bound is inclusive; rows already read are dropped by id). A history longer than MAX_PAGES pages is
 * read up to its last complete time, and says so (`readUntil`): the caller goes on from there.
 */
import type { Exchange } from 'ccxt';
import type { IncomeEntry, IncomeKind, IncomeQuery, IncomeRead } from '../gateway';

const PAGE = 1000;
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

export async function readIncome(exchange: Exchange, query: IncomeQuery): Promise<IncomeRead> {
  const out: IncomeEntry[] = [];
  let readUntil = query.until;
  for (const kind of query.kinds) {
    const seen = new Set<string>();
    let since = query.since;
    for (let page = 0; ; page += 1) {
      const rows = (await exchange.fetchFundingHistory(query.symbol, since, PAGE, { until: query.until, incomeType: BINANCE_TYPES[kind] })) as CcxtIncome[];
      let fresh = 0;
      for (const row of rows) {
        const entry = toEntry(row, kind);
        if (!entry || seen.has(entry.id) || entry.at > query.until) continue;
        seen.add(entry.id);
        out.push(entry);
        fresh += 1;
      }
      const last = rows.at(-1)?.timestamp;
      if (rows.length < PAGE || last === undefined) break;
      if (fresh === 0 || page + 1 >= MAX_PAGES) {
        // Not all of it: complete only before the last time seen (rows at that time may go on).
        readUntil = Math.min(readUntil, last - 1);
        break;
      }
      since = last;
    }
  }
  return { entries: out.filter((entry) => entry.at <= readUntil).sort((a, b) => a.at - b.at), readUntil };
}

function toEntry(row: CcxtIncome, kind: IncomeKind): IncomeEntry | null {
  if (row.id === undefined || row.amount === undefined || row.timestamp === undefined) return null;
  const info = typeof row.info === 'object' && row.info !== null ? (row.info as Record<string, unknown>) : {};
  const tradeId = typeof info['tradeId'] === 'string' && info['tradeId'] !== '' ? info['tradeId'] : null;
  return { id: String(row.id), kind, symbol: row.symbol ?? '', amount: row.amount, currency: row.code ?? '', at: row.timestamp, tradeId };
}
