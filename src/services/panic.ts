import type { CopyPositions } from '../copy/copyPositions';
import type { AccountsRepository } from '../db/repositories/accounts';
import type { PositionsRepository } from '../db/repositories/positions';
import type { Logger } from '../logger';
import type { PanicResult, PositionSync } from '../trading/positionSync';
import { notFound } from './errors';
import type { Account } from '../domain/records';

export interface PanicTarget {
  accountId: string;
  name: string;
  openOrders: number;
  openPositions: number;
}

export interface PanicDeps {
  accounts: Pick<AccountsRepository, 'listOwned'>;
  positions: Pick<PositionsRepository, 'liveOrdersOf' | 'openPositionsOf' | 'openCopyPositionsOf'>;
  sync: Pick<PositionSync, 'panicAccount'>;
  /** Copied positions (src/copy/copyPositions.ts), closed after positionSync's signal positions. */
  copies?: Pick<CopyPositions, 'panicAccount'>;
  log: Logger;
}

/**
 * /panic: cancels the bot's open orders and closes the bot's positions (reduce-only market close
 * legs on futures, market sells on spot) on the CALLER's accounts in this server, all of them or the
 * one named. Every lookup is scoped by the caller's Discord user id: another member's account id
 * finds nothing. Accounts are handled one after another so one failing exchange is reported, not fatal.
 * Copied positions are the bot's too: after positionSync's part, the copy module cancels what is left
 * of the account's copy orders and closes its copied positions ('panic', realised PnL booked once).
 */
export function createPanicService(deps: PanicDeps) {
  async function targets(ownerId: string, guildId: string, accountId: string | null): Promise<Account[]> {
    const owned = await deps.accounts.listOwned(ownerId, guildId);
    if (accountId === null || accountId === 'all') return owned;
    const one = owned.filter((account) => account.id === accountId || account.name === accountId);
    if (one.length === 0) throw notFound();
    return one;
  }

  return {
    /** What a panic would touch, for the confirmation prompt. */
    async preview(ownerId: string, guildId: string, accountId: string | null): Promise<PanicTarget[]> {
      const accounts = await targets(ownerId, guildId, accountId);
      return Promise.all(
        accounts.map(async (account) => ({
          accountId: account.id,
          name: account.name,
          openOrders: (await deps.positions.liveOrdersOf(account.id)).length,
          openPositions:
            (await deps.positions.openPositionsOf(account.id)).length +
            (deps.copies ? (await deps.positions.openCopyPositionsOf(account.id)).length : 0),
        })),
      );
    },

    async run(ownerId: string, guildId: string, accountId: string | null): Promise<PanicResult[]> {
      const accounts = await targets(ownerId, guildId, accountId);
      const results: PanicResult[] = [];
      for (const account of accounts) {
        let result: PanicResult;
        try {
          result = await deps.sync.panicAccount(account);
        } catch (error) {
          deps.log.error({ err: error, accountId: account.id }, 'panic failed on one account');
          result = {
            accountId: account.id,
            accountName: account.name,
            cancelledOrders: 0,
            closedPositions: 0,
            problems: ['the exchange could not be reached; try again'],
          };
        }
        if (deps.copies) {
          try {
            const copied = await deps.copies.panicAccount(account);
            result = {
              ...result,
              cancelledOrders: result.cancelledOrders + copied.cancelledOrders,
              closedPositions: result.closedPositions + copied.closedPositions,
              problems: [...result.problems, ...copied.problems],
            };
          } catch (error) {
            deps.log.error({ err: error, accountId: account.id }, 'panic of copied positions failed on one account');
            result = { ...result, problems: [...result.problems, 'copied positions: the exchange could not be reached; try again'] };
          }
        }
        results.push(result);
      }
      deps.log.warn({ ownerId, accounts: results.length }, 'panic: orders cancelled and positions closed');
      return results;
    },
  };
}

export type PanicService = ReturnType<typeof createPanicService>;
