import type { Config } from '../config';
import type { CopyPositions } from '../copy/copyPositions';
import { createMasterships } from '../copy/mastership';
import type { Database } from '../db/client';
import { accountsRepository } from '../db/repositories/accounts';
import { copyRepository } from '../db/repositories/copy';
import { guildsRepository } from '../db/repositories/guilds';
import { outboxRepository } from '../db/repositories/outbox';
import { positionsRepository } from '../db/repositories/positions';
import { readModels } from '../db/repositories/readModels';
import { signalsRepository } from '../db/repositories/signals';
import type { Logger } from '../logger';
import type { Clock } from '../clock';
import type { PositionSync } from '../trading/positionSync';
import type { SignalIntake } from '../trading/signalIntake';
import type { Vault } from '../vault/envelope';
import { createMemberService } from './members';
import { usersRepository } from '../db/repositories/users';
import { createAccountService } from './accounts';
import { createChannelSignalService } from './channelSignals';
import { createCopyService } from './copy';
import { ccxtExchangeCatalog, type ExchangeCatalog } from './exchangeCatalog';
import { createFeedService } from './feed';
import { createGuildSettingsService } from './guildSettings';
import { createOrdersService } from './orders';
import { createPanicService } from './panic';
import { createPnlService } from './pnl';
import { createReconcileService } from './reconcile';
import { createPnlChartService } from './pnlChart';
import type { GatewayFactoryPort } from './ports';
import { createSignalService } from './signals';

export interface BotServicesDeps {
  db: Database;
  vault: Vault;
  gateways: GatewayFactoryPort;
  intake: SignalIntake;
  clock: Clock;
  log: Logger;
  /**
   * The app's position followers (app.ts builds them once), whose /panic runs under the accounts'
   * leases when several processes share the database.
   */
  positions: { sync: Pick<PositionSync, 'panicAccount'>; copies: Pick<CopyPositions, 'panicAccount'> };
  /** The settings some services read (accounts per member); their defaults without it. */
  config?: Config;
  settings?: BotServicesSettings;
}

export interface BotServicesSettings {
  /** Exchange list and capabilities; ccxt's description by default. */
  exchanges?: ExchangeCatalog;
}

/**
 * The application services the Discord layer calls (no discord.js here, no drizzle either: the
 * repositories do the queries). Every personal method takes the caller's Discord user id.
 */
export function createBotServices(deps: BotServicesDeps) {
  const { db, vault, gateways, intake, clock, log } = deps;
  const accounts = accountsRepository(db);
  const guilds = guildsRepository(db);
  const reads = readModels(db);
  const exchanges = deps.settings?.exchanges ?? ccxtExchangeCatalog();
  const serviceLog = log.child({ component: 'services' });
  const masterships = createMasterships({ db, clock, log: serviceLog, wake: intake.wake });
  return {
    exchanges,
    accounts: createAccountService({
      accounts,
      vault,
      gateways,
      exchanges,
      clock,
      log: serviceLog,
      masterships,
      ...(deps.config ? { maxAccountsPerMember: deps.config.MAX_ACCOUNTS_PER_MEMBER } : {}),
    }),
    members: createMemberService({ users: usersRepository(db) }),
    guilds: createGuildSettingsService({
      guilds,
      reads,
      log: serviceLog,
      masterships,
      ...(deps.config ? { strategyAllowed: deps.config.STRATEGY_ENABLED } : {}),
    }),
    signals: createSignalService({ intake, signals: signalsRepository(db), guilds, log: serviceLog }),
    channelSignals: createChannelSignalService({ intake, guilds, log: serviceLog }),
    copy: createCopyService({
      copies: copyRepository(db),
      accounts,
      guilds,
      log: serviceLog,
      intake,
      clock,
      masterships,
    }),
    masterships,
    orders: createOrdersService({ reads, accounts }),
    pnl: createPnlService({ reads, accounts, gateways, clock, log: serviceLog }),
    reconcile: createReconcileService({ reads, accounts, gateways, now: () => clock.now() }),
    feed: createFeedService({ outbox: outboxRepository(db), guilds, reads }),
    pnlChart: createPnlChartService({ positions: positionsRepository(db), clock }),
    panic: createPanicService({
      accounts,
      positions: positionsRepository(db),
      sync: deps.positions.sync,
      copies: deps.positions.copies,
      log: serviceLog,
    }),
  };
}

export type BotServices = ReturnType<typeof createBotServices>;

export { UserError, isUserError } from './errors';
export type { AccountView, AddAccountResult, VerifyResult, SettingsInput } from './accounts';
export type { ExchangeCatalog, ExchangeInfo } from './exchangeCatalog';
export type { GatewayFactoryPort, ProbeRequest } from './ports';
