/**
 * The persistence spine: one store per process, built by the composition root (src/app.ts) over
 * the process's database handle, with one repository per aggregate, each built once. The parts of
 * the bot take the store (or the repositories they need) instead of building their own from a raw
 * handle. A transaction gets a store of its own: the same repositories, bound to it.
 */
import type { Database } from './client';
import { accountsRepository, type AccountsRepository } from './repositories/accounts';
import { copyRepository, type CopyRepository } from './repositories/copy';
import { fundingRepository, type FundingRepository } from './repositories/funding';
import { guildsRepository, type GuildsRepository } from './repositories/guilds';
import { instancesRepository, type InstancesRepository } from './repositories/instances';
import { leasesRepository, type LeasesRepository } from './repositories/leases';
import { outboxRepository, type OutboxRepository } from './repositories/outbox';
import { paperStateRepository, type PaperStateRepository } from './repositories/paperState';
import { positionsRepository, type PositionsRepository } from './repositories/positions';
import { readModels, type ReadModels } from './repositories/readModels';
import { signalsRepository, type SignalsRepository } from './repositories/signals';
import { tradingRepository, type TradingRepository } from './repositories/trading';
import { usersRepository, type UsersRepository } from './repositories/users';

export interface Store {
  readonly accounts: AccountsRepository;
  readonly users: UsersRepository;
  readonly guilds: GuildsRepository;
  readonly signals: SignalsRepository;
  /** Executions and their orders (the engine's aggregate). */
  readonly trading: TradingRepository;
  readonly positions: PositionsRepository;
  readonly copy: CopyRepository;
  readonly funding: FundingRepository;
  /** The feed outbox: the only writer of feed_outbox. */
  readonly outbox: OutboxRepository;
  readonly leases: LeasesRepository;
  readonly instances: InstancesRepository;
  readonly paperState: PaperStateRepository;
  /** Read-only views for members' commands (/orders, /pnl, the feed's lookups). */
  readonly reads: ReadModels;
  /** Runs `work` in one transaction, its store's repositories bound to it; rolled back when it throws. */
  transaction<T>(work: (tx: Store) => Promise<T>): Promise<T>;
}

/** A store over `db`: the process's database, or an open transaction. Repositories are built on first use, once. */
export function createStore(db: Database): Store {
  const built = new Map<string, unknown>();
  const once = <T>(name: string, build: (db: Database) => T): T => {
    if (!built.has(name)) built.set(name, build(db));
    return built.get(name) as T;
  };
  return {
    get accounts() {
      return once('accounts', accountsRepository);
    },
    get users() {
      return once('users', usersRepository);
    },
    get guilds() {
      return once('guilds', guildsRepository);
    },
    get signals() {
      return once('signals', signalsRepository);
    },
    get trading() {
      return once('trading', tradingRepository);
    },
    get positions() {
      return once('positions', positionsRepository);
    },
    get copy() {
      return once('copy', copyRepository);
    },
    get funding() {
      return once('funding', fundingRepository);
    },
    get outbox() {
      return once('outbox', outboxRepository);
    },
    get leases() {
      return once('leases', leasesRepository);
    },
    get instances() {
      return once('instances', instancesRepository);
    },
    get paperState() {
      return once('paperState', paperStateRepository);
    },
    get reads() {
      return once('reads', readModels);
    },
    // drizzle's transaction handle runs the same queries as the database it came from.
    transaction: (work) => db.transaction((tx) => work(createStore(tx as unknown as Database))),
  };
}
