import type { AccountsRepository } from '../db/repositories/accounts';
import type { OrderStatus, OwnedOrderRow, ReadModels } from '../db/repositories/readModels';
import { invalid, notFound } from './errors';

/** The status filter /orders offers, each a group of stored order states. */
export const ORDER_FILTERS = {
  open: ['intent', 'unknown', 'open', 'partially-filled'],
  filled: ['filled'],
  cancelled: ['cancelled', 'expired'],
  failed: ['rejected', 'not-placed'],
} as const satisfies Record<string, readonly OrderStatus[]>;
export type OrderFilter = keyof typeof ORDER_FILTERS;
export const ORDER_FILTER_NAMES = Object.keys(ORDER_FILTERS) as OrderFilter[];

export const MAX_PAGE_SIZE = 25;
export const DEFAULT_PAGE_SIZE = 10;

export interface OrdersQuery {
  ownerId: string;
  guildId: string;
  accountId?: string | null;
  status?: string | null;
  limit?: number | null;
  /** 0-based page. */
  page?: number | null;
}

export interface OrdersPage {
  rows: OwnedOrderRow[];
  total: number;
  page: number;
  pages: number;
  limit: number;
  accountId: string | null;
  accountName: string | null;
  status: OrderFilter | null;
}

export function createOrdersService(deps: { reads: ReadModels; accounts: AccountsRepository }) {
  const { reads, accounts } = deps;
  return {
    /** The caller's own orders, newest first, paged. Another member's account id → "not found". */
    async page(query: OrdersQuery): Promise<OrdersPage> {
      const limit = query.limit ?? DEFAULT_PAGE_SIZE;
      if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) {
        throw invalid(`Limit must be a whole number between 1 and ${MAX_PAGE_SIZE}.`);
      }
      let status: OrderFilter | null = null;
      if (query.status) {
        const wanted = query.status.trim().toLowerCase();
        const found = ORDER_FILTER_NAMES.find((name) => name === wanted);
        if (!found) throw invalid(`Status must be one of: ${ORDER_FILTER_NAMES.join(', ')}.`);
        status = found;
      }
      let accountName: string | null = null;
      const accountId = query.accountId ?? null;
      if (accountId !== null) {
        const account = await accounts.findOwned(query, accountId);
        if (!account) throw notFound();
        accountName = account.name;
      }
      const requested = Math.max(0, query.page ?? 0);
      const fetch = (page: number) =>
        reads.ordersOfOwner(query.ownerId, {
          guildId: query.guildId,
          ...(accountId !== null ? { accountId } : {}),
          ...(status ? { statuses: ORDER_FILTERS[status] } : {}),
          limit,
          offset: page * limit,
        });
      let result = await fetch(requested);
      const pages = Math.max(1, Math.ceil(result.total / limit));
      let page = requested;
      if (page >= pages) {
        page = pages - 1;
        result = await fetch(page);
      }
      return { rows: result.rows, total: result.total, page, pages, limit, accountId, accountName, status };
    },
  };
}

export type OrdersService = ReturnType<typeof createOrdersService>;
