import type { Config } from '../config';
import type { CopyPositions } from '../copy/copyPositions';
import { createMasterships } from '../copy/mastership';
import type { Store } from '../db/store';
import type { Logger } from '../logger';
import type { Clock } from '../clock';
import type { PositionSync } from '../trading/positionSync';
import type { SignalIntake } from '../trading/signalIntake';
import type { Vault } from '../vault/envelope';
import { createMemberService } from './members';
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
  store: Store;
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
  const { store, vault, gateways, intake, clock, log } = deps;
  const accounts = store.accounts;
  const guilds = store.guilds;
  const reads = store.reads;
  const exchanges = deps.settings?.exchanges ?? ccxtExchangeCatalog();
  const serviceLog = log.child({ component: 'services' });
  const masterships = createMasterships({ store, clock, log: serviceLog, wake: intake.wake });
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
    members: createMemberService({ users: store.users }),
    guilds: createGuildSettingsService({
      guilds,
      reads,
      log: serviceLog,
      masterships,
      ...(deps.config ? { strategyAllowed: deps.config.STRATEGY_ENABLED } : {}),
    }),
    signals: createSignalService({ intake, signals: store.signals, guilds, log: serviceLog }),
    channelSignals: createChannelSignalService({ intake, guilds, log: serviceLog }),
    copy: createCopyService({
      copies: store.copy,
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
    feed: createFeedService({ outbox: store.outbox, guilds, reads }),
    pnlChart: createPnlChartService({ positions: store.positions, clock }),
    panic: createPanicService({
      accounts,
      positions: store.positions,
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
