import type { Agent, Server } from 'node:http';
import type { DestinationStream } from 'pino';
import { importOperatorAccounts } from './accounts/operatorImport';
import type { Config } from './config';
import { createCopyPositions, createCopyTrading } from './copy';
import { createEndedMastershipSweeper } from './copy/endedMasterships';
import type { DatabaseHandle } from './db/client';
import { openConfiguredDatabase } from './db/open';
import { keyExpiryReminders } from './trading/keyExpiryReminders';
import { createStore } from './db/store';
import { startFeedRunner } from './discord/feedRunner';
import { connectGatewayShard, processIdentifyThrottle, type GatewayShard } from './discord/gatewayShard';
import { resolveShardCount } from './discord/shardCount';
import type { LeaderRole } from './db/leaderLock';
import { createGatewayFactory, RateLimiterRegistry, type FetchImplementation } from './exchange/factory';
import { createHealth, startHealthServer, type Health } from './health';
import { createLogger, type Logger } from './logger';
import { createMetrics } from './metrics';
import { createScheduler, type Scheduler } from './scheduler';
import { createBotServices } from './services';
import { createStrategy } from './strategy';
import { systemClock, type Clock } from './clock';
import { defaultEngineSettings, TradingEngine } from './trading/engine';
import { accountLeases } from './trading/accountLeases';
import { peerBackOffs } from './trading/peerBackOff';
import { inBackground } from './trading/backgroundStep';
import { createFeeCorrections } from './trading/feeCorrections';
import { createFundingBook } from './trading/funding';
import { createPositionSync } from './trading/positionSync';
import { createSignalIntake } from './trading/signalIntake';
import { serverSymbolListing } from './trading/symbolListing';
import { signalWakes } from './trading/signalWake';
import { openVault } from './vault/envelope';
import { checkVaultReadsStoredKeys } from './accounts/storedKeys';
import { checkDiscordToken } from './discord/tokenCheck';
import { Leadership } from './leadership';
import { watchCluster } from './clusterHealth';
import { databaseAddress, networkCode, StartupProblem } from './startupProblem';
import { resolveKeyring } from './vault/keyFile';

/**
 * What tests and the demo change, in code and never through the environment (DESIGN.md rule 9):
 * where discord.js and ccxt send their requests, the clock, and where logs go.
 */
export interface BotWiring {
  discordRestApi?: string;
  exchangeFetch?: FetchImplementation;
  /** Carries user-data stream sockets (default: TLS to the exchange); tests wire the simulator's. */
  exchangeSocketAgent?: Agent;
  clock?: Clock;
  logDestination?: DestinationStream;
  database?: DatabaseHandle;
  /** A readable prefix of the instance id (default host:pid); the id always gets a random part. */
  instanceName?: string;
  /** Off in tests that drive cycles themselves. */
  schedule?: boolean;
  /** Override the unknown-order lookup window (the protocol's 60 s) for demos on a real clock. */
  lookupWindowMs?: number;
  /** How long a signed request stays valid (Binance allows up to 60 s); accelerated clocks need more. */
  recvWindowMs?: number;
  /** Off in tests that never reach Discord: the token is checked over REST before anything else. */
  checkToken?: boolean;
  /** How often a follower tries for the leadership and the leader checks it (tests shorten them). */
  leadership?: { retryEveryMs?: number; verifyEveryMs?: number };
}

/** What this process leads of the Discord side, for tests and tools. */
export interface DiscordSide {
  /** Shard 0's client while this process leads it (null otherwise). */
  client: GatewayShard['client'] | null;
  /** A pass of this process's feed poster (the scopes it holds or can claim). */
  feedPoster: { flush(): Promise<number> };
  /** Copy masters' owners checked on shard 0's servers. */
  checkMasters(): Promise<number>;
}

export interface RunningBot {
  log: Logger;
  database: DatabaseHandle;
  engine: TradingEngine;
  scheduler: Scheduler;
  health: Health;
  /** Shard 0's client while this process leads it, and this process's feed poster. */
  readonly discord: DiscordSide;
  /** One election per gateway shard. */
  leadership: { shards: readonly Leadership<GatewayShard>[] };
  services: ReturnType<typeof createBotServices>;
  stop(): Promise<void>;
}

/** The configured database, or a StartupProblem saying why it could not be reached. */
async function openDatabaseOrExplain(config: Config): Promise<DatabaseHandle> {
  try {
    return await openConfiguredDatabase(config);
  } catch (error) {
    const code = networkCode(error);
    if (code && config.DATABASE_URL) {
      throw new StartupProblem(
        `cannot reach the database at ${databaseAddress(config.DATABASE_URL)} (${code}): start PostgreSQL or correct DATABASE_URL (unset, the bot uses its embedded database)`,
        { cause: error },
      );
    }
    throw error;
  }
}

/** The composition root: config → db → vault → gateways → engine → discord → scheduler. */
export async function startBot(config: Config, wiring: BotWiring = {}): Promise<RunningBot> {
  const clock = wiring.clock ?? systemClock;
  const log = createLogger({
    level: config.LOG_LEVEL,
    name: 'bot',
    ...(wiring.logDestination ? { destination: wiring.logDestination } : {}),
  });
  const metrics = createMetrics();
  // The token first: a wrong one must not leave a new database and vault key behind.
  if (wiring.checkToken !== false) await checkDiscordToken(config.DISCORD_TOKEN, wiring.discordRestApi);
  const database = wiring.database ?? (await openDatabaseOrExplain(config));
  log.info(
    { driver: database.driver },
    database.driver === 'pglite' ? `embedded database in ${config.DATA_DIR}` : 'PostgreSQL',
  );

  // The process's one store: every part below takes its repositories from here.
  const store = createStore(database.db);
  const accounts = store.accounts;
  const keyring = await resolveKeyring({
    vaultKeys: config.VAULT_KEYS,
    databaseUrl: config.DATABASE_URL,
    dataDir: config.DATA_DIR,
    log,
    createKeyFile: !(await accounts.holdsSecrets()),
  });
  const vault = await openVault(keyring);
  await checkVaultReadsStoredKeys(accounts, vault, keyring.ids, config.VAULT_KEYS?.trim() ? 'VAULT_KEYS' : `${config.DATA_DIR}/vault.key`);

  if (config.operatorAccounts.length > 0 && config.OWNER_DISCORD_ID && config.OWNER_GUILD_ID) {
    await importOperatorAccounts({
      accounts: config.operatorAccounts,
      ownerId: config.OWNER_DISCORD_ID,
      guildId: config.OWNER_GUILD_ID,
      repo: accounts,
      vault,
      log,
    });
  }

  // A back-off the exchange asks of one process holds for every process on this IP.
  const backOffs = peerBackOffs(database.peers, log);
  const rateLimiters = new RateLimiterRegistry(wiring.clock ?? undefined, {}, backOffs.publish);
  const stopListeningForBackOffs = await backOffs.listen(rateLimiters);

  const gateways = createGatewayFactory({
    vault,
    paperStore: store.paperState,
    now: () => clock.now(),
    log,
    paperSlippageBps: config.PAPER_SLIPPAGE_BPS,
    paperStartingBalanceUsd: config.PAPER_STARTING_BALANCE_USD,
    ...(wiring.exchangeFetch ? { fetchImplementation: wiring.exchangeFetch } : {}),
    ...(wiring.exchangeSocketAgent ? { socketAgent: wiring.exchangeSocketAgent } : {}),
    // An injected clock (tests, benchmarks) is the rate limiter's too: its windows are the exchange's.
    rateLimiters,
    ...(wiring.recvWindowMs === undefined ? {} : { recvWindowMs: wiring.recvWindowMs }),
  });

  const settings = {
    // The instance id is new at every start (`<name>:<random>`): see EngineSettings.instanceName.
    ...defaultEngineSettings(wiring.instanceName),
    concurrency: config.ENGINE_CONCURRENCY,
    maxSignalLagMs: config.SIGNAL_MAX_LAG_SECONDS * 1000,
    balanceMaxAgeMs: config.BALANCE_MAX_AGE_SECONDS * 1000,
    summaryTimeoutMs: config.FEED_SUMMARY_TIMEOUT_SECONDS * 1000,
    kelly: { lookbackTrades: config.KELLY_LOOKBACK_TRADES, fraction: config.KELLY_FRACTION, cap: 0.25 },
    takeoverAfterMs: config.TAKEOVER_AFTER_SECONDS * 1000,
    heartbeatEveryMs: (config.TAKEOVER_AFTER_SECONDS * 1000) / 6,
    ...(wiring.lookupWindowMs === undefined ? {} : { lookupWindowMs: wiring.lookupWindowMs }),
  };
  // PostgreSQL: a lock per process that dies with it, so the others take its work over within a second.
  const engine = new TradingEngine(store, gateways, clock, log, settings, metrics, {
    liveness: (onLost) => database.holdLiveness(onLost),
  });
  // Background work is claimed per account: every process runs every step, each account in one of them.
  const leases = accountLeases(store, engine.instance, clock);
  const positionSync = createPositionSync({
    store,
    gateways,
    clock,
    log,
    claimAccounts: leases.forTask('positions'),
    lease: leases.fenceFor('positions'),
    seize: leases.seizeFor('positions'),
    ...(config.USER_STREAMS ? { streams: gateways } : {}),
    settings: {
      streamConnectEveryMs: Math.ceil(60_000 / config.USER_STREAM_CONNECTS_PER_MINUTE),
      entryTtlMs: config.ENTRY_TTL_HOURS * 3_600_000,
    },
  });
  // Scheduled: positions are followed by their own loop, never waiting for a cycle (a large fan-out)
  // nor for the slowest account of a pass. Unscheduled (cycles driven by hand): beside each cycle.
  const followContinuously = wiring.schedule !== false;
  if (!followContinuously) engine.addCycleStep('positions', positionSync.run, { beside: true });
  // An execution whose stop was refused hands its position to the lifecycle at once.
  engine.followPositionsWith((accountId) => positionSync.followNow(accountId));
  // Rule 6: reconcile every in-flight intent before any new signal is accepted.
  await engine.start();
  // An entry whose answer was lost is looked up again each second, not when the next cycle comes round.
  engine.keepReconciling();

  const scheduler = createScheduler({
    intervalSeconds: config.CYCLE_INTERVAL_SECONDS,
    runCycle: () => engine.runCycle(),
    log,
  });
  // A signal queued here wakes this process's cycle and the other processes' (signalWake.ts).
  const signalWake = signalWakes(database.peers, log);
  const stopListeningForSignals = await signalWake.listen(() => scheduler.trigger());
  // A pair a member names must exist on the exchanges of the server's accounts (or Binance's when none).
  const symbols = serverSymbolListing(store, gateways, log);
  const intake = createSignalIntake(
    store,
    clock,
    () => {
      scheduler.trigger();
      signalWake.announce();
    },
    { symbols },
  );
  // A process found dead: a cycle now takes its in-flight work over (its positions may lack a stop).
  engine.whenPeersDie(() => scheduler.trigger());
  // The example strategy (README) reads Binance's public spot candles, keyless and shared by every server.
  const strategy = createStrategy({
    store,
    intake,
    candles: (symbol, timeframe, limit) =>
      gateways.publicCandles('binance', 'spot', symbol, timeframe, limit),
    clock,
    log,
  });
  // The operator's switch: off, no server's strategy runs (and /setup strategy cannot turn one on).
  if (config.STRATEGY_ENABLED) engine.addCycleStep('strategy', async () => void (await strategy.tick()));
  const copyTrading = createCopyTrading({
    store,
    gateways,
    intake,
    clock,
    log,
    balanceMaxAgeMs: settings.balanceMaxAgeMs,
    confirmWindowMs: settings.maxSignalLagMs,
    claimMasters: leases.forTask('copy-poll'),
  });
  engine.addCycleStep('copy', async () => void (await copyTrading.poll()));
  // Followers of ended masterships are closed out of what they still hold from them, round by round.
  const endedMasterships = createEndedMastershipSweeper({
    store,
    clock,
    log,
    wake: () => intake.wake(),
  });
  engine.addCycleStep('copy-ended', async () => void (await endedMasterships.run()));
  // Followers' copy fills → copied positions with realised PnL (positionSync leaves copies alone).
  const copyPositions = createCopyPositions({
    store,
    gateways,
    clock,
    log,
    claimAccounts: leases.forTask('copy-positions'),
    seize: leases.seizeFor('copy-positions'),
  });
  engine.addCycleStep('copy-positions', async () => void (await copyPositions.run()));
  // Futures funding read from the exchange after the funding times, booked to the positions that held it;
  // and a BNB fee whose price could not be read at a close valued later, the figures corrected. Both run
  // in the background: never holding up the signals nor the position sync's stops.
  const funding = createFundingBook({
    store,
    gateways,
    clock,
    log,
    claimAccounts: leases.forTask('funding'),
  });
  const feeCorrections = createFeeCorrections({
    store,
    gateways,
    clock,
    log,
    claimAccounts: leases.forTask('positions'),
  });
  const fundingInBackground = inBackground('funding', () => funding.run(), log);
  const feesInBackground = inBackground('fee-corrections', () => feeCorrections.run(), log);
  // Owners are told a week and a day before the exchange ends a key's trading permission.
  const expiryReminders = keyExpiryReminders({ accounts, clock, log });
  engine.addCycleStep('key-expiry', async () => void (await expiryReminders.run()));
  engine.addCycleStep('funding', () => fundingInBackground.step());
  engine.addCycleStep('fee-corrections', () => feesInBackground.step());
  const services = createBotServices({
    store,
    vault,
    gateways,
    intake,
    clock,
    log,
    config,
    positions: { sync: positionSync, copies: copyPositions },
  });

  const health = createHealth({
    now: () => clock.now(),
    lastCycleAt: () => engine.lastSuccessfulCycleAt,
    maxCycleAgeMs: config.CYCLE_INTERVAL_SECONDS * 1000 * 4 + 30_000,
  });
  let healthServer: Server | null = null;
  if (config.HEALTH_PORT > 0) healthServer = await startHealthServer(config.HEALTH_PORT, health, metrics, config.HEALTH_HOST);

  // Each gateway shard, and the feed poster, is led by one process (two sessions of a shard would
  // both get its events); the others take over within seconds when it stops or dies (src/leadership.ts).
  const shardCount = await resolveShardCount(config.DISCORD_SHARDS, config.DISCORD_TOKEN, wiring.discordRestApi);
  const identifyThrottle = processIdentifyThrottle();
  const leadershipTimes = wiring.leadership ?? {};
  const shardLeaderships = Array.from({ length: shardCount }, (_, id) => {
    const shard = { id, count: shardCount };
    let toldOtherCount = false;
    return new Leadership<GatewayShard>({
      role: shardCount > 1 ? `gateway shard ${id + 1} of ${shardCount}` : 'the Discord gateway',
      acquire: (onLost) =>
        database.acquireLeadership({ kind: 'shard', ...shard }, onLost, (other) => {
          if (toldOtherCount) return;
          toldOtherCount = true;
          log.error(
            { shards: shardCount, running: other },
            other === null
              ? 'a process of an older version holds the whole Discord gateway: this one connects no shard until it stops (stop the old processes when upgrading)'
              : `another process runs the Discord gateway with ${other} shards, this one with ${shardCount}: this one connects none until they agree (set DISCORD_SHARDS alike on every process)`,
          );
        }),
      lead: (signal) =>
        connectGatewayShard({
          token: config.DISCORD_TOKEN,
          shard,
          signal,
          services,
          log,
          clock,
          health,
          identifyThrottle,
          ...(wiring.discordRestApi ? { restApi: wiring.discordRestApi } : {}),
        }),
      stopLeading: (gateway) => gateway.stop(),
      log,
      ...leadershipTimes,
    });
  });
  // One after another: a refused token or intent fails the start at the first shard.
  for (const leadership of shardLeaderships) await leadership.start();
  // Every process posts the feed (REST only); with several processes on PostgreSQL each claims the
  // servers and members it posts for, so a channel still reads in order (src/discord/feedRunner.ts).
  const feed = startFeedRunner({
    token: config.DISCORD_TOKEN,
    services,
    log,
    clock,
    compactThreshold: config.FEED_COMPACT_THRESHOLD,
    claims: database.driver === 'postgres',
    ...(wiring.discordRestApi ? { restApi: wiring.discordRestApi } : {}),
  });
  const leaderRoles: LeaderRole[] = shardLeaderships.map((_, id) => ({ kind: 'shard' as const, id, count: shardCount }));
  const outbox = store.outbox;
  const cluster = watchCluster({
    leadershipHeld: () => database.leadershipHeld(leaderRoles),
    backlogAge: () => outbox.backlogAge(),
    health,
    metrics,
    log,
  });

  const following = followContinuously ? positionSync.start() : null;
  // A balance the account's stream vouches for is confirmed without a read (balanceRefresh.ts).
  if (following) engine.confirmBalancesWith((accountId) => following.balanceQuietSince(accountId));
  if (wiring.schedule !== false) {
    await scheduler.start();
    scheduler.trigger();
  }
  log.info({ instanceId: engine.instanceId }, 'bot started');

  return {
    log,
    database,
    engine,
    scheduler,
    health,
    get discord() {
      const gateway = shardLeaderships[0]?.current ?? null;
      return { client: gateway?.client ?? null, feedPoster: { flush: () => feed.flush() }, checkMasters: async () => (await gateway?.checkMasters()) ?? 0 };
    },
    leadership: { shards: shardLeaderships },
    services,
    async stop() {
      await scheduler.stop();
      await stopListeningForBackOffs().catch(() => undefined);
      await stopListeningForSignals().catch(() => undefined);
      await scheduler.idle();
      await following?.stop();
      // Deletes this process's heartbeat row: its claims are free for the others at once.
      await engine.stop();
      await Promise.all([fundingInBackground.idle(), feesInBackground.idle()]);
      cluster.stop();
      // The gateways first (they answer interactions), then the feed's last pass (its claims released).
      await Promise.all(shardLeaderships.map((leadership) => leadership.stop()));
      await feed.stop();
      await new Promise<void>((resolve) => (healthServer ? healthServer.close(() => resolve()) : resolve()));
      gateways.close();
      if (!wiring.database) await database.close();
    },
  };
}
