// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Import boundaries from DESIGN.md: each foreign library is reachable from one place only. */
// Package names as anchored regular expressions, so our own folders (./ccxt/...) never match.
const discord = ['discord\\.js', '@discordjs/[^/]+'];
const ccxt = ['ccxt'];
const database = ['drizzle-orm', 'postgres', '@electric-sql/[^/]+'];
const nodeIo = ['node:.*', 'fs', 'path', 'http', 'https', 'net', 'child_process', 'os', 'crypto'];

const restrict = (packages, message, more = []) => ({
  'no-restricted-imports': ['error', { patterns: [{ regex: `^(${packages.join('|')})(/.*)?$`, message }, ...more] }],
});

/**
 * The exchange adapters' insides: everything outside src/exchange reaches exchanges through its
 * public face (gateway.ts, the port; factory.ts, the adapters' constructors and catalog; errors.ts).
 */
const exchangeAdapters = [
  {
    regex: '^(\\.\\.?/)+(src/)?exchange/(ccxt|paper)(/.*)?$',
    message: 'Reach exchanges through src/exchange/gateway.ts and src/exchange/factory.ts, never an adapter inside (#18).',
  },
];

/** Repositories are built once per process, by the store the composition root makes (src/db/store.ts). */
const repositoryBuilders = [
  {
    regex: '^(\\.\\.?/)+(src/)?db/repositories/',
    importNamePattern: '^(\\w+Repository|readModels)$',
    allowTypeImports: true,
    message: "Take repositories from the process's store (src/db/store.ts), never build them from a handle (#18).",
  },
  {
    // Rows are the domain's records (src/db/conforms.ts): above src/db they go by the domain's names.
    regex: '^(\\.\\.?/)+(src/)?db/repositories/',
    importNamePattern: '^(Account|Signal|Execution|Order|Position|User)Row$',
    message: 'Name the domain record (src/domain/records.ts), not the database row (#18).',
  },
];

/** Our own folders a layer may not reach, as relative-import patterns. */
const folders = (names, message, allowTypeImports = false) => [
  { regex: `^(\\.\\./)+(${names.join('|')})(/.*)?$`, message, ...(allowTypeImports ? { allowTypeImports } : {}) },
];

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'data/', 'drizzle/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/exchange/**', 'src/db/**', 'src/discord/**'],
    rules: restrict(
      [...discord, ...ccxt, ...database],
      'ccxt lives in src/exchange/ccxt, drizzle and drivers in src/db, discord.js in commands/ and src/discord (DESIGN.md).',
      [...exchangeAdapters, ...repositoryBuilders],
    ),
  },
  {
    files: ['src/exchange/**/*.ts'],
    ignores: ['src/exchange/ccxt/**'],
    rules: restrict([...discord, ...ccxt, ...database], 'ccxt lives in src/exchange/ccxt; the exchange layer knows no database or Discord (DESIGN.md).'),
  },
  {
    files: ['src/exchange/ccxt/**/*.ts'],
    rules: restrict([...discord, ...database], 'The ccxt gateway talks to exchanges only.'),
  },
  {
    files: ['src/db/**/*.ts'],
    rules: restrict([...discord, ...ccxt], 'The database layer knows nothing of Discord or exchanges.', exchangeAdapters),
  },
  {
    files: ['src/discord/**/*.ts', 'commands/**/*.ts'],
    rules: restrict(
      [...ccxt, ...database],
      'Commands call services; they never touch ccxt or the database.',
      // The trading engine is reached through services (types may be named, e.g. a panic's result).
      [
        ...folders(['trading', 'src/trading', 'db', 'src/db'], 'Commands and the Discord layer reach trading and the database through src/services (#18).', true),
        ...exchangeAdapters,
        ...repositoryBuilders,
      ],
    ),
  },
  {
    // The vault is below the database and the configuration: its command-line tools live in src/cli.
    files: ['src/vault/**/*.ts'],
    rules: restrict([...discord, ...ccxt, ...database], 'The vault encrypts; it knows no database, exchange or Discord.', folders(['db', 'config', 'services', 'trading', 'discord'], 'The vault depends on nothing above it; its tools live in src/cli (#18).')),
  },
  {
    files: ['src/domain/**/*.ts', 'src/signals/**/*.ts'],
    rules: {
      ...restrict(
        [...discord, ...ccxt, ...database, ...nodeIo, 'pino', 'bree', 'libsodium-wrappers'],
        'src/domain and src/signals are pure: no I/O (DESIGN.md).',
        folders(['trading', 'services', 'db', 'discord', 'exchange', 'scheduler'], 'src/domain and src/signals depend on nothing but themselves (#18).'),
      ),
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: 'Time comes in as an argument.' },
        { object: 'Math', property: 'random', message: 'Ids and randomness come in as arguments.' },
      ],
      'no-restricted-syntax': [
        'error',
        { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: 'Time comes in as an argument.' },
      ],
    },
  },
);
