import { existsSync } from 'node:fs';
import { z } from 'zod';
import { MARKET_TYPES, TRADING_MODES } from './domain/account';

/**
 * The only reader of process.env. Every variable is documented in .env.example; a bad or missing
 * one produces ONE error naming every problem, so an operator fixes them all in one go.
 */

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);
const optionalText = z
  .string()
  .trim()
  .transform((value) => (value === '' ? undefined : value))
  .optional();
const snowflake = z
  .string()
  .trim()
  .regex(/^\d{17,20}$/, 'must be a Discord id (17 to 20 digits)');
const optionalSnowflake = z
  .string()
  .trim()
  .transform((value) => (value === '' ? undefined : value))
  .pipe(snowflake.optional())
  .optional();
const bool = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .default(fallback ? 'true' : 'false')
    .transform((value) => value === 'true' || value === '1' || value === 'yes');

const baseSchema = z.object({
  DISCORD_TOKEN: z.string({ error: 'is required: the bot token from the Discord developer portal' }).trim().min(1, {
    error: 'is required: the bot token from the Discord developer portal',
  }),
  DISCORD_APPLICATION_ID: optionalSnowflake,
  DISCORD_GUILD_ID: optionalSnowflake,
  DATABASE_URL: optionalText.pipe(
    z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must start with postgres:// or postgresql://')
      .optional(),
  ),
  DATA_DIR: z.string().trim().min(1).default('./data'),
  VAULT_KEYS: optionalText,
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  CYCLE_INTERVAL_SECONDS: positiveInt(10),
  ENGINE_CONCURRENCY: z.coerce.number().int().min(1).max(500).default(32),
  SIGNAL_MAX_LAG_SECONDS: positiveInt(120),
  BALANCE_MAX_AGE_SECONDS: positiveInt(300),
  ENTRY_TTL_HOURS: positiveInt(24),
  KELLY_LOOKBACK_TRADES: z.coerce.number().int().min(5).max(500).default(20),
  KELLY_FRACTION: z.coerce.number().gt(0).max(1).default(0.5),
  PAPER_SLIPPAGE_BPS: z.coerce.number().min(0).max(500).default(5),
  PAPER_STARTING_BALANCE_USD: z.coerce.number().positive().default(10_000),
  HEALTH_PORT: z.coerce.number().int().min(0).max(65_535).default(8080),
  // Accounts one member may have in one server (each joins every fan-out and the feed).
  MAX_ACCOUNTS_PER_MEMBER: z.coerce.number().int().min(1).max(100).default(10),
  // The address /healthz and /metrics listen on (no authentication): loopback unless a container says otherwise.
  HEALTH_HOST: z.string().trim().min(1).default('127.0.0.1'),
  FEED_COMPACT_THRESHOLD: z.coerce.number().int().min(1).max(1000).default(20),
  // Gateway shards: 'auto' asks Discord (GET /gateway/bot, about one per 1,000 servers); a number fixes it.
  DISCORD_SHARDS: z
    .string()
    .trim()
    .default('auto')
    .pipe(z.union([z.literal('auto'), z.coerce.number<string>().int().min(1).max(1024)], { error: "must be 'auto' or a number of shards from 1 to 1024" })),
  FEED_SUMMARY_TIMEOUT_SECONDS: positiveInt(60),
  // Several processes: a process silent this long is dead and its work is taken over (issue: ≤ 30 s).
  TAKEOVER_AFTER_SECONDS: z.coerce.number().int().min(5).max(30).default(15),
  STRATEGY_ENABLED: bool(false),
  // User-data streams (Binance futures and spot): a hint that speeds the position sync up; polling stays.
  USER_STREAMS: bool(true),
  // Binance allows 300 stream connection attempts per 5 minutes per IP: 50 a minute leaves room, 60 is the limit.
  USER_STREAM_CONNECTS_PER_MINUTE: z.coerce.number().int().min(1).max(60).default(50),
  OWNER_DISCORD_ID: optionalSnowflake,
  OWNER_GUILD_ID: optionalSnowflake,
});

export type BaseConfig = z.infer<typeof baseSchema>;

/** An exchange account declared in the environment for a self-hosted single owner. */
export interface OperatorAccountConfig {
  slot: number;
  name: string;
  exchange: string;
  marketType: 'spot' | 'futures';
  mode: 'live' | 'demo' | 'paper';
  apiKey: string | undefined;
  secret: string | undefined;
  password: string | undefined;
}

export interface Config extends BaseConfig {
  operatorAccounts: OperatorAccountConfig[];
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(
      [
        `Configuration is invalid (${problems.length} problem${problems.length === 1 ? '' : 's'}):`,
        ...problems.map((problem) => `  - ${problem}`),
        'Set these variables in the environment or in .env; every variable is documented in .env.example.',
      ].join('\n'),
    );
  }
}

const operatorAccountSchema = z.object({
  EXCHANGE: z.string().trim().regex(/^[a-z0-9]+$/, 'must be a ccxt exchange id such as binance'),
  TYPE: z.enum(MARKET_TYPES).default('spot'),
  MODE: z.enum(TRADING_MODES).default('live'),
  NAME: z.string().trim().min(1).max(32).optional(),
  API_KEY: optionalText,
  SECRET: optionalText,
  PASSWORD: optionalText,
});

function parseOperatorAccounts(env: NodeJS.ProcessEnv, problems: string[]): OperatorAccountConfig[] {
  const slots = new Set<number>();
  for (const key of Object.keys(env)) {
    const match = /^ACCOUNT_(\d+)_[A-Z_]+$/.exec(key);
    if (match?.[1]) slots.add(Number(match[1]));
  }
  const accounts: OperatorAccountConfig[] = [];
  for (const slot of [...slots].sort((a, b) => a - b)) {
    const prefix = `ACCOUNT_${slot}_`;
    const raw = Object.fromEntries(
      Object.entries(env)
        .filter(([key]) => key.startsWith(prefix))
        .map(([key, value]) => [key.slice(prefix.length), value]),
    );
    const parsed = operatorAccountSchema.safeParse(raw);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) problems.push(`${prefix}${issue.path.join('.')}: ${issue.message}`);
      continue;
    }
    const account = parsed.data;
    if (account.MODE !== 'paper' && (!account.API_KEY || !account.SECRET)) {
      problems.push(`${prefix}API_KEY and ${prefix}SECRET: required unless ${prefix}MODE=paper`);
      continue;
    }
    accounts.push({
      slot,
      name: account.NAME ?? `${account.EXCHANGE}-${slot}`,
      exchange: account.EXCHANGE,
      marketType: account.TYPE,
      mode: account.MODE,
      apiKey: account.API_KEY,
      secret: account.SECRET,
      password: account.PASSWORD,
    });
  }
  return accounts;
}

/**
 * What the caller needs: the bot needs everything; tools (vault rotation, migrations) need no
 * Discord token.
 */
export type ConfigPurpose = 'bot' | 'tool';

const toolSchema = baseSchema.extend({ DISCORD_TOKEN: z.string().trim().default('') });

/** Parses the environment; throws ConfigError listing every problem. */
export function parseConfig(env: NodeJS.ProcessEnv, purpose: ConfigPurpose = 'bot'): Config {
  const problems: string[] = [];
  // A variable left blank (`HEALTH_PORT=` in a copied .env) is unset: its default applies, never 0.
  const given = Object.fromEntries(Object.entries(env).filter(([, value]) => value === undefined || value.trim() !== ''));
  const parsed = (purpose === 'bot' ? baseSchema : toolSchema).safeParse(given);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(`${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  const operatorAccounts = parseOperatorAccounts(env, problems);
  if (parsed.success) {
    const config = parsed.data;
    if (config.DATABASE_URL && !config.VAULT_KEYS) {
      problems.push(
        'VAULT_KEYS: required when DATABASE_URL is set (generate one with `npm run vault:keygen`); only the embedded database keeps a key file in DATA_DIR',
      );
    }
    const declaresAccounts = Object.keys(env).some((key) => /^ACCOUNT_\d+_/.test(key));
    if (declaresAccounts && (!config.OWNER_DISCORD_ID || !config.OWNER_GUILD_ID)) {
      problems.push('OWNER_DISCORD_ID and OWNER_GUILD_ID: required when ACCOUNT_<n>_* variables declare accounts');
    }
  }
  if (problems.length > 0 || !parsed.success) throw new ConfigError(problems);
  return { ...parsed.data, operatorAccounts };
}

/** Reads `.env` when present (the environment wins), then parses process.env. */
export function loadConfig(purpose: ConfigPurpose = 'bot', envFile = '.env'): Config {
  if (existsSync(envFile)) process.loadEnvFile(envFile);
  return parseConfig(process.env, purpose);
}
