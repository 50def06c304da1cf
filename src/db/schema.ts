/**
 * The database schema, one file: drizzle-kit reads it to write the migrations in drizzle/, and
 * its relations need the tables side by side. Enumerations and jsonb types come from src/domain.
 */
import { MARGIN_MODES, MARKET_TYPES, MIN_NOTIONAL_POLICIES, SIZING_MODES, TRADING_MODES } from '../domain/account';
import { ACCOUNT_SOURCES, CLOSE_REASONS, EXECUTION_STATUSES, ORDER_SIDES, ORDER_STATUSES, ORDER_TYPES, POSITION_MODES, POSITION_STATUSES, SIGNAL_STATUSES } from '../domain/records';
import { ENTRY_TYPES, SIDES, SIGNAL_SOURCES } from '../domain/signal';
import { sql } from 'drizzle-orm';
import type { FeeCharge } from '../domain/fees';
import type { StoredKeyAudit } from '../domain/account';
import type { CopyInstructions, MasterSnapshot } from '../domain/copy';
import type { FeedEvent } from '../domain/feedEvents';
import type { TradeSignal } from '../domain/signal';
import type { PaperState } from '../exchange/factory';
import {
  bigint,
  bigserial,
  boolean,
  check,
  date,
  doublePrecision,
  index,
  integer,
  jsonb,
  numeric,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';

/**
 * THE schema. Ids of accounts, signals, executions and orders are UUIDs made by the application,
 * so a row's id exists before it is written (the vault binds ciphertexts to it; client order ids
 * derive from it). Money that reaches an exchange is `numeric`; settings are doubles.
 */

const createdAt = () => timestamp('created_at', { withTimezone: true }).notNull().defaultNow();
const updatedAt = () => timestamp('updated_at', { withTimezone: true }).notNull().defaultNow();
const money = (name: string) => numeric(name, { mode: 'number' });

export const guildSettings = pgTable('guild_settings', {
  guildId: text('guild_id').primaryKey(),
  feedChannelId: text('feed_channel_id'),
  signalChannelId: text('signal_channel_id'),
  callerRoleId: text('caller_role_id'),
  paused: boolean('paused').notNull().default(false),
  /** Who may make an account a copy-trading master: nobody, admins' choice per member, or everyone. */
  copyMasters: text('copy_masters', { enum: ['off', 'listed', 'all'] })
    .notNull()
    .default('off'),
  copyMasterMembers: text('copy_master_members').array().notNull().default(sql`'{}'::text[]`),
  strategyEnabled: boolean('strategy_enabled').notNull().default(false),
  strategyWatchlist: text('strategy_watchlist').array().notNull().default(sql`'{}'::text[]`),
  strategyTimeframe: text('strategy_timeframe').notNull().default('1h'),
  strategyLastCandleAt: bigint('strategy_last_candle_at', { mode: 'number' }),
  updatedAt: updatedAt(),
});

export const users = pgTable('users', {
  discordId: text('discord_id').primaryKey(),
  /** Member-wide cap on exposure (notional USD) per symbol across all their accounts; null = off. */
  exposureCapUsd: doublePrecision('exposure_cap_usd'),
  createdAt: createdAt(),
});

export const exchangeAccounts = pgTable(
  'exchange_accounts',
  {
    id: uuid('id').primaryKey(),
    ownerId: text('owner_id')
      .notNull()
      .references(() => users.discordId),
    /** The server the account was added in; it trades that server's signals and no other's. */
    guildId: text('guild_id').notNull(),
    name: text('name').notNull(),
    exchangeId: text('exchange_id').notNull(),
    marketType: text('market_type', { enum: MARKET_TYPES }).notNull(),
    mode: text('mode', { enum: TRADING_MODES }).notNull(),
    enabled: boolean('enabled').notNull().default(false),
    verified: boolean('verified').notNull().default(false),
    verifiedAt: timestamp('verified_at', { withTimezone: true }),
    source: text('source', { enum: ACCOUNT_SOURCES })
      .notNull()
      .default('discord'),

    sizingMode: text('sizing_mode', { enum: SIZING_MODES })
      .notNull()
      .default('fixed'),
    sizingValue: doublePrecision('sizing_value').notNull().default(100),
    maxPositionUsd: doublePrecision('max_position_usd').notNull().default(1000),
    leverage: integer('leverage').notNull().default(10),
    maxDailyTrades: integer('max_daily_trades').notNull().default(5),
    riskPerTradePct: doublePrecision('risk_per_trade_pct').notNull().default(2),
    maxDailyLossPct: doublePrecision('max_daily_loss_pct').notNull().default(5),
    stopOnLoss: boolean('stop_on_loss').notNull().default(true),
    minNotionalPolicy: text('min_notional_policy', { enum: MIN_NOTIONAL_POLICIES })
      .notNull()
      .default('skip'),
    symbolAllow: text('symbol_allow').array().notNull().default(sql`'{}'::text[]`),
    symbolBlock: text('symbol_block').array().notNull().default(sql`'{}'::text[]`),
    shareAmounts: boolean('share_amounts').notNull().default(false),
    strategyOptIn: boolean('strategy_opt_in').notNull().default(false),
    /** Weights of the take-profit split; null = equal parts. */
    takeProfitSplit: doublePrecision('take_profit_split').array(),
    breakEvenAfterTp1: boolean('break_even_after_tp1').notNull().default(true),
    /** Set when the owner confirmed a key whose permissions the exchange cannot report. */
    withdrawalsConfirmedOff: boolean('withdrawals_confirmed_off').notNull().default(false),

    apiKeyEnc: text('api_key_enc'),
    secretEnc: text('secret_enc'),
    passphraseEnc: text('passphrase_enc'),
    vaultKeyId: integer('vault_key_id'),
    /** First and last four characters of the API key, taken when it was added; never decrypted. */
    apiKeyHint: text('api_key_hint'),

    /** Last permission audit, as reported (no secrets). */
    audit: jsonb('audit').$type<Partial<StoredKeyAudit>>(),
    auditedAt: timestamp('audited_at', { withTimezone: true }),
    /** When the key loses its trading permission (Binance: keys without an IP restriction); null: never. */
    tradingExpiresAt: timestamp('trading_expires_at', { withTimezone: true }),
    /** Reminders sent for that date (1: a week before, 2: a day before); reset when the date changes. */
    expiryNotices: integer('expiry_notices').notNull().default(0),
    positionMode: text('position_mode', { enum: POSITION_MODES }),
    marginMode: text('margin_mode', { enum: MARGIN_MODES }),
    exchangeMaxLeverage: integer('exchange_max_leverage'),

    pausedUntil: timestamp('paused_until', { withTimezone: true }),
    disabledReason: text('disabled_reason'),
    lastBalanceUsd: doublePrecision('last_balance_usd'),
    lastEquityUsd: doublePrecision('last_equity_usd'),
    balanceAt: timestamp('balance_at', { withTimezone: true }),
    /** Exchange time (ms) up to which the futures funding history has been read and booked. */
    fundingReadUntil: bigint('funding_read_until', { mode: 'number' }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (table) => [
    uniqueIndex('exchange_accounts_guild_owner_name').on(table.guildId, table.ownerId, table.name),
    index('exchange_accounts_guild_enabled').on(table.guildId, table.enabled),
    check('leverage_range', sql`${table.leverage} between 1 and 125`),
    check('max_position_range', sql`${table.maxPositionUsd} between 10 and 100000`),
    check('max_daily_trades_range', sql`${table.maxDailyTrades} between 1 and 50`),
    check('risk_range', sql`${table.riskPerTradePct} between 0.1 and 10`),
    check('daily_loss_range', sql`${table.maxDailyLossPct} between 1 and 20`),
  ],
);

export const signals = pgTable(
  'signals',
  {
    id: uuid('id').primaryKey(),
    guildId: text('guild_id').notNull(),
    source: text('source', { enum: SIGNAL_SOURCES }).notNull(),
    /** Idempotency key within the source: message id, interaction id, master fill id, candle. */
    sourceRef: text('source_ref').notNull(),
    authorId: text('author_id'),
    channelId: text('channel_id'),
    symbol: text('symbol').notNull(),
    side: text('side', { enum: SIDES }).notNull(),
    entryType: text('entry_type', { enum: ENTRY_TYPES }).notNull(),
    entries: jsonb('entries').$type<number[]>().notNull(),
    stopLoss: money('stop_loss').notNull(),
    takeProfits: jsonb('take_profits').$type<number[]>().notNull(),
    leverage: integer('leverage'),
    /** Copy trading: per-follower instructions (quantity, reduce-only, target account). */
    copy: jsonb('copy').$type<CopyInstructions>(),
    status: text('status', { enum: SIGNAL_STATUSES })
      .notNull()
      .default('pending'),
    claimedBy: text('claimed_by'),
    claimedAt: timestamp('claimed_at', { withTimezone: true }),
    completedAt: timestamp('completed_at', { withTimezone: true }),
    createdAt: createdAt(),
  },
  (table) => [
    uniqueIndex('signals_source_ref').on(table.source, table.sourceRef),
    index('signals_status').on(table.status, table.createdAt),
    // Copy trading asks for a master's copies (of one order, still pending, held by followers).
    index('signals_copy_master')
      .on(sql`(${table.copy}->>'masterAccountId')`, sql`(${table.copy}->>'orderId')`)
      .where(sql`${table.source} = 'copy'`),
  ],
);

/** One row per (signal, account): the account's outcome for the signal. */
export const executions = pgTable(
  'executions',
  {
    id: uuid('id').primaryKey(),
    signalId: uuid('signal_id')
      .notNull()
      .references(() => signals.id),
    accountId: uuid('account_id')
      .notNull()
      .references(() => exchangeAccounts.id, { onDelete: 'cascade' }),
    ownerId: text('owner_id').notNull(),
    status: text('status', {
      enum: EXECUTION_STATUSES,
    })
      .notNull()
      .default('pending'),
    reason: text('reason'),
    symbol: text('symbol'),
    leverage: integer('leverage'),
    leverageCapped: boolean('leverage_capped').notNull().default(false),
    quantity: money('quantity'),
    notional: money('notional'),
    margin: money('margin'),
    notes: text('notes').array().notNull().default(sql`'{}'::text[]`),
    /**
     * The UTC day whose trade count this execution reserved (atomically, within the account's max
     * daily trades) before its entry was sent; the reservation is released when nothing was placed.
     */
    tradeDay: date('trade_day', { mode: 'string' }),
    claimedBy: text('claimed_by'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (table) => [
    uniqueIndex('executions_signal_account').on(table.signalId, table.accountId),
    index('executions_status').on(table.status),
    index('executions_owner').on(table.ownerId, table.createdAt),
  ],
);

export const orderStatuses = ORDER_STATUSES;

/** One row per (signal, account, leg). Written as an intent BEFORE it is sent (DESIGN.md). */
export const orders = pgTable(
  'orders',
  {
    id: uuid('id').primaryKey(),
    executionId: uuid('execution_id')
      .notNull()
      .references(() => executions.id, { onDelete: 'cascade' }),
    signalId: uuid('signal_id').notNull(),
    accountId: uuid('account_id').notNull(),
    ownerId: text('owner_id').notNull(),
    positionId: uuid('position_id'),
    leg: text('leg').notNull(),
    clientOrderId: text('client_order_id').notNull(),
    exchangeOrderId: text('exchange_order_id'),
    /** The exchange order carrying the fills when not this one (a triggered algo order's placed order). */
    fillOrderId: text('fill_order_id'),
    symbol: text('symbol').notNull(),
    side: text('side', { enum: ORDER_SIDES }).notNull(),
    type: text('type', { enum: ORDER_TYPES }).notNull(),
    reduceOnly: boolean('reduce_only').notNull().default(false),
    quantity: money('quantity').notNull(),
    price: money('price'),
    triggerPrice: money('trigger_price'),
    status: text('status', { enum: orderStatuses }).notNull().default('intent'),
    filledQuantity: money('filled_quantity').notNull().default(0),
    averagePrice: money('average_price'),
    /** Fees per currency, each with its quote value at fill time (see domain/fees.ts). */
    fees: jsonb('fees').$type<readonly FeeCharge[]>().notNull().default([]),
    /** Some fee has no quote value yet (kept by the database: the fee corrections find these by index). */
    feesUnvalued: boolean('fees_unvalued')
      .notNull()
      .generatedAlwaysAs(sql`jsonb_path_exists(fees, '$[*] ? (@.quoteValue == null)')`),
    /** When the fee corrections may look this order up again. */
    feesRetryAt: timestamp('fees_retry_at', { withTimezone: true }),
    reason: text('reason'),
    /** Exchange-clock time of the last send, for the recvWindow rule of the safety protocol. */
    sentAt: bigint('sent_at', { mode: 'number' }),
    attempts: integer('attempts').notNull().default(0),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (table) => [
    uniqueIndex('orders_signal_account_leg').on(table.signalId, table.accountId, table.leg),
    uniqueIndex('orders_client_order_id').on(table.clientOrderId),
    index('orders_owner_created').on(table.ownerId, table.createdAt),
    index('orders_status').on(table.status),
    index('orders_position').on(table.positionId),
    index('orders_unvalued_fees').on(table.feesRetryAt).where(sql`fees_unvalued`),
  ],
);

export const positions = pgTable(
  'positions',
  {
    id: uuid('id').primaryKey(),
    accountId: uuid('account_id')
      .notNull()
      .references(() => exchangeAccounts.id, { onDelete: 'cascade' }),
    ownerId: text('owner_id').notNull(),
    signalId: uuid('signal_id').notNull(),
    symbol: text('symbol').notNull(),
    side: text('side', { enum: SIDES }).notNull(),
    status: text('status', { enum: POSITION_STATUSES })
      .notNull()
      .default('open'),
    leverage: integer('leverage').notNull().default(1),
    /** Quantity currently held (entries filled minus exits filled). */
    quantity: money('quantity').notNull().default(0),
    entryQuantity: money('entry_quantity').notNull().default(0),
    averageEntryPrice: money('average_entry_price'),
    exitQuantity: money('exit_quantity').notNull().default(0),
    averageExitPrice: money('average_exit_price'),
    stopLoss: money('stop_loss'),
    takeProfits: jsonb('take_profits').$type<number[]>().notNull().default([]),
    takeProfitsHit: integer('take_profits_hit').notNull().default(0),
    stopVersion: integer('stop_version').notNull().default(0),
    realizedPnl: money('realized_pnl').notNull().default(0),
    fees: money('fees').notNull().default(0),
    /** Futures funding received (+) or paid (−) while the position was open; included in realizedPnl. */
    funding: money('funding').notNull().default(0),
    /** 'copy': a copied position closed by following its master out (text column: no migration needed). */
    closeReason: text('close_reason', {
      enum: CLOSE_REASONS,
    }),
    openedAt: timestamp('opened_at', { withTimezone: true }).notNull().defaultNow(),
    closedAt: timestamp('closed_at', { withTimezone: true }),
    updatedAt: updatedAt(),
  },
  (table) => [
    index('positions_account_status').on(table.accountId, table.status),
    index('positions_owner').on(table.ownerId, table.closedAt),
    uniqueIndex('positions_signal_account').on(table.signalId, table.accountId),
  ],
);

export const dailyStats = pgTable(
  'daily_stats',
  {
    accountId: uuid('account_id')
      .notNull()
      .references(() => exchangeAccounts.id, { onDelete: 'cascade' }),
    day: date('day', { mode: 'string' }).notNull(),
    trades: integer('trades').notNull().default(0),
    realizedPnl: money('realized_pnl').notNull().default(0),
    startEquity: money('start_equity'),
    pausedNotified: boolean('paused_notified').notNull().default(false),
  },
  (table) => [primaryKey({ columns: [table.accountId, table.day] })],
);

/**
 * Futures funding payments read from the exchange's income history, each booked once: to the bot's
 * position that held the symbol when it was paid (null when none did: a position the bot does not
 * manage), and to that day's realised PnL.
 */
export const fundingPayments = pgTable(
  'funding_payments',
  {
    accountId: uuid('account_id')
      .notNull()
      .references(() => exchangeAccounts.id, { onDelete: 'cascade' }),
    /** The exchange's id of the payment (Binance tranId, unique per income type of a user). */
    paymentId: text('payment_id').notNull(),
    symbol: text('symbol').notNull(),
    /** Received (+) or paid (−), in `currency`. */
    amount: money('amount').notNull(),
    currency: text('currency').notNull(),
    paidAt: timestamp('paid_at', { withTimezone: true }).notNull(),
    positionId: uuid('position_id'),
  },
  (table) => [primaryKey({ columns: [table.accountId, table.paymentId] }), index('funding_payments_position').on(table.positionId)],
);

/** Everything the bot posts to Discord goes through here, in the transaction of its cause. */
export const feedOutbox = pgTable(
  'feed_outbox',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    guildId: text('guild_id').notNull(),
    kind: text('kind', { enum: ['order', 'summary', 'event', 'dm'] }).notNull(),
    signalId: uuid('signal_id'),
    accountId: uuid('account_id'),
    /** For direct messages: the member to write to. */
    recipientId: text('recipient_id'),
    payload: jsonb('payload').$type<FeedEvent>().notNull(),
    status: text('status', { enum: ['pending', 'posted', 'dropped'] })
      .notNull()
      .default('pending'),
    attempts: integer('attempts').notNull().default(0),
    channelId: text('channel_id'),
    messageId: text('message_id'),
    lastError: text('last_error'),
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true }).notNull().defaultNow(),
    postedAt: timestamp('posted_at', { withTimezone: true }),
    createdAt: createdAt(),
  },
  (table) => [index('feed_outbox_pending').on(table.status, table.nextAttemptAt, table.id)],
);

export const copyLinks = pgTable(
  'copy_links',
  {
    id: uuid('id').primaryKey(),
    guildId: text('guild_id').notNull(),
    masterAccountId: uuid('master_account_id')
      .notNull()
      .references(() => exchangeAccounts.id, { onDelete: 'cascade' }),
    followerAccountId: uuid('follower_account_id')
      .notNull()
      .references(() => exchangeAccounts.id, { onDelete: 'cascade' }),
    followerOwnerId: text('follower_owner_id').notNull(),
    mode: text('mode', { enum: ['mirror', 'multiplier', 'fixed', 'proportional'] }).notNull(),
    value: doublePrecision('value').notNull().default(1),
    symbolAllow: text('symbol_allow').array().notNull().default(sql`'{}'::text[]`),
    symbolBlock: text('symbol_block').array().notNull().default(sql`'{}'::text[]`),
    orderTypes: text('order_types').array().notNull().default(sql`'{market,limit,stop}'::text[]`),
    dryRun: boolean('dry_run').notNull().default(false),
    confirm: boolean('confirm').notNull().default(false),
    active: boolean('active').notNull().default(true),
    copied: integer('copied').notNull().default(0),
    skipped: integer('skipped').notNull().default(0),
    failed: integer('failed').notNull().default(0),
    createdAt: createdAt(),
  },
  (table) => [uniqueIndex('copy_links_master_follower').on(table.masterAccountId, table.followerAccountId)],
);

export const copyMasters = pgTable('copy_masters', {
  accountId: uuid('account_id')
    .primaryKey()
    .references(() => exchangeAccounts.id, { onDelete: 'cascade' }),
  guildId: text('guild_id').notNull(),
  /**
   * Who granted the mastership: an admin making their own account a master keeps it whatever
   * `/setup copy-masters` says; a member's lasts only while the setting allows them.
   */
  grantedBy: text('granted_by', { enum: ['admin', 'member'] })
    .notNull()
    .default('member'),
  /** Last seen positions and balances, to fetch trades only for symbols that changed. */
  snapshot: jsonb('snapshot').$type<MasterSnapshot>(),
  equityUsd: doublePrecision('equity_usd'),
  createdAt: createdAt(),
});

/**
 * A mastership that ended, until its followers hold nothing copied from it: each round (a cycle
 * step, src/copy/endedMasterships.ts) closes what they still hold once no copy of it is pending,
 * and tries again with a growing wait when a close did not take them out.
 */
export const copyEndedMasterships = pgTable(
  'copy_ended_masterships',
  {
    // No foreign key: the master's account may be removed while its followers are still closed out.
    masterAccountId: uuid('master_account_id').notNull(),
    /** The mastership's start (its master row's creation, epoch ms); copies carry it. */
    mastershipSince: bigint('mastership_since', { mode: 'number' }).notNull(),
    guildId: text('guild_id').notNull(),
    /** The master's owner, the author of the close signals. */
    authorId: text('author_id'),
    reason: text('reason').notNull(),
    endedAt: timestamp('ended_at', { withTimezone: true }).notNull(),
    rounds: integer('rounds').notNull().default(0),
    nextRoundAt: timestamp('next_round_at', { withTimezone: true }).notNull(),
    settledAt: timestamp('settled_at', { withTimezone: true }),
  },
  (table) => [
    primaryKey({ columns: [table.masterAccountId, table.mastershipSince] }),
    index('copy_ended_masterships_due').on(table.nextRoundAt).where(sql`${table.settledAt} is null`),
  ],
);

/** Per (master, symbol) trade cursor, so no fill is missed or copied twice across restarts. */
export const copyCursors = pgTable(
  'copy_cursors',
  {
    masterAccountId: uuid('master_account_id')
      .notNull()
      .references(() => exchangeAccounts.id, { onDelete: 'cascade' }),
    symbol: text('symbol').notNull(),
    lastTradeId: text('last_trade_id'),
    lastTradeAt: bigint('last_trade_at', { mode: 'number' }).notNull().default(0),
  },
  (table) => [primaryKey({ columns: [table.masterAccountId, table.symbol] })],
);

/** Copy signals waiting for a follower who asked to confirm each copy (Copy / Skip buttons in a DM). */
export const copyConfirmations = pgTable(
  'copy_confirmations',
  {
    id: uuid('id').primaryKey(),
    guildId: text('guild_id').notNull(),
    linkId: uuid('link_id')
      .notNull()
      .references(() => copyLinks.id, { onDelete: 'cascade' }),
    followerAccountId: uuid('follower_account_id')
      .notNull()
      .references(() => exchangeAccounts.id, { onDelete: 'cascade' }),
    followerOwnerId: text('follower_owner_id').notNull(),
    /** The master fill's signal key (master account + trade id); the follower's own signal adds its account. */
    sourceRef: text('source_ref').notNull(),
    signal: jsonb('signal').$type<TradeSignal>().notNull(),
    copy: jsonb('copy').$type<CopyInstructions>().notNull(),
    status: text('status', { enum: ['pending', 'sent', 'accepted', 'skipped', 'expired'] })
      .notNull()
      .default('pending'),
    messageId: text('message_id'),
    /** No answer by then means skip (the signal's max lag). */
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    createdAt: createdAt(),
  },
  (table) => [
    uniqueIndex('copy_confirmations_ref_follower').on(table.sourceRef, table.followerAccountId),
    index('copy_confirmations_status').on(table.status),
  ],
);

/** Paper accounts keep their simulated wallet here so it survives restarts. */
export const paperState = pgTable('paper_state', {
  accountId: uuid('account_id')
    .primaryKey()
    .references(() => exchangeAccounts.id, { onDelete: 'cascade' }),
  state: jsonb('state').$type<PaperState>().notNull(),
  updatedAt: updatedAt(),
});

/**
 * One row per running engine process (DESIGN.md, "Scaling past one process"). Its id is random per
 * start; the heartbeat (written from the engine's injected clock) keeps its claims alive: an in-flight
 * execution or an account lease whose holder's heartbeat is older than the takeover threshold, or whose
 * holder has no row any more (a clean stop deletes it), may be taken over by another process.
 * On PostgreSQL `liveness_key` names the session advisory lock the process holds on a connection of
 * its own: when the process dies its connection closes, the lock is free, and the others delete the
 * row at once instead of waiting out the heartbeat (null on PGlite, one process only).
 */
/**
 * This deployment's identity: one row, made with the database (random). Discord's enforce_nonce is
 * per author for a few minutes across channels: the feed's nonces carry this id, so a bot reinstalled
 * on a new database (its outbox ids starting over) never gets an earlier message back for a new one.
 */
export const installation = pgTable('installation', {
  id: text('id').primaryKey(),
  createdAt: createdAt(),
});

export const engineInstances = pgTable('engine_instances', {
  id: text('id').primaryKey(),
  startedAt: timestamp('started_at', { withTimezone: true }).notNull(),
  heartbeatAt: timestamp('heartbeat_at', { withTimezone: true }).notNull(),
  livenessKey: integer('liveness_key'),
});

/**
 * Background work claimed per (task, account): position sync, copied-position sync and copy polling
 * work an account only in the process holding its lease. A lease lives as long as its holder's
 * heartbeat (no expiry of its own): it moves only when the holder released it (holder null) or died.
 * `changed_at` (injected clock) is when it was last taken or released.
 */
export const accountLeases = pgTable(
  'account_leases',
  {
    task: text('task', { enum: ['positions', 'copy-positions', 'copy-poll', 'funding'] }).notNull(),
    accountId: uuid('account_id')
      .notNull()
      .references(() => exchangeAccounts.id, { onDelete: 'cascade' }),
    holder: text('holder'),
    changedAt: timestamp('changed_at', { withTimezone: true }).notNull(),
  },
  (table) => [primaryKey({ columns: [table.task, table.accountId] }), index('account_leases_holder').on(table.holder)],
);

/**
 * Which process posts a server's feed (scope `g:<guild id>`) or a member's direct messages (`u:<user
 * id>`) for now: every process posts, each scope by one at a time (its messages stay in order), the
 * claim renewed on each pass and free once `until` passes (a process that died) or released on stop.
 */
export const feedClaims = pgTable('feed_claims', {
  scope: text('scope').primaryKey(),
  holder: text('holder').notNull(),
  until: timestamp('until', { withTimezone: true }).notNull(),
});
