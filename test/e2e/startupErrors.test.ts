import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { addTradersGuild } from '../support/tradersGuild';
import { startDiscordSim } from '../sim/discord';
import { generateKeyEntry } from '../../src/vault';

/**
 * Each way a start fails after the configuration check ends with ONE line on stderr saying what is
 * wrong and what to do, exit code 1, and no stack trace (LOG_LEVEL is not debug): an unreachable
 * Discord, a token Discord refuses, the Message Content intent turned off, a database that cannot be
 * reached, a malformed VAULT_KEYS, the health port in use. The real process, as `npm start` runs it.
 */

interface Outcome {
  code: number | null;
  stderr: string;
  stdout: string;
}

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

/** A start in a DATA_DIR of its own (reported in `dataDir`). */
async function start(env: Record<string, string>, restApi: string): Promise<Outcome & { dataDir: string }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'startup-errors-'));
  dirs.push(dataDir);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/startEntry.ts', restApi], {
      env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn', HEALTH_PORT: '0', DATA_DIR: dataDir, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout, stderr, dataDir }));
  });
}

/** Stderr is the one explanation: one line, no trace, no log lines. */
function expectOneLine(outcome: Outcome, pattern: RegExp) {
  expect(outcome.code, outcome.stderr).toBe(1);
  const lines = outcome.stderr.trim().split('\n');
  expect(lines, outcome.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
  expect(outcome.stderr).not.toMatch(/\n\s+at /);
  expect(outcome.stdout).not.toContain('started');
}

const closedPort = async (): Promise<number> => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
};

describe('start-up failures, each in one line', () => {
  it('Discord cannot be reached: said, and nothing is created in DATA_DIR', { timeout: 60_000 }, async () => {
    const port = await closedPort();
    const outcome = await start({ DISCORD_TOKEN: 'MTAw.abc.def' }, `http://127.0.0.1:${port}/api`);
    expectOneLine(outcome, /^cannot reach Discord \(ECONNREFUSED\): check this machine's network/);
    expect(await readdir(outcome.dataDir)).toEqual([]);
  });

  it('a token Discord refuses: which variable, and where to get a new one', { timeout: 60_000 }, async () => {
    const discord = await startDiscordSim({ specPath: null });
    try {
      const outcome = await start({ DISCORD_TOKEN: `${discord.token}x` }, discord.restApiUrl);
      expectOneLine(outcome, /^Discord refused DISCORD_TOKEN \(401 Unauthorized\): copy the bot token again/);
      // Checked before the embedded database and the vault key are made.
      expect(await readdir(outcome.dataDir)).toEqual([]);
    } finally {
      await discord.close();
    }
  });

  it('the Message Content intent turned off in the portal: where to turn it on', { timeout: 90_000 }, async () => {
    const discord = await startDiscordSim({ specPath: null, privilegedIntents: { messageContent: false } });
    try {
      const outcome = await start({ DISCORD_TOKEN: discord.token }, discord.restApiUrl);
      expectOneLine(outcome, /^Discord refused the Message Content intent \(4014 disallowed intents\): turn on Bot → Privileged Gateway Intents/);
    } finally {
      await discord.close();
    }
  });

  it('too many servers for the shard count set (Discord closes with 4011): which variable to change', { timeout: 90_000 }, async () => {
    const discord = await startDiscordSim({ specPath: null, privilegedIntents: { messageContent: true }, maxGuildsPerShard: 1 });
    try {
      addTradersGuild(discord);
      addTradersGuild(discord);
      const outcome = await start({ DISCORD_TOKEN: discord.token, DISCORD_SHARDS: '1' }, discord.restApiUrl);
      expectOneLine(outcome, /^Discord requires sharding for this bot \(4011: too many servers for its shard count\): set DISCORD_SHARDS=auto/);
    } finally {
      await discord.close();
    }
  });

  it('a database that cannot be reached: its address (never the password), and what to do', { timeout: 60_000 }, async () => {
    const discord = await startDiscordSim({ specPath: null });
    try {
      const port = await closedPort();
      const outcome = await start(
        { DISCORD_TOKEN: discord.token, DATABASE_URL: `postgres://bot:s3cret@127.0.0.1:${port}/trading`, VAULT_KEYS: generateKeyEntry(1) },
        discord.restApiUrl,
      );
      expectOneLine(outcome, new RegExp(`^cannot reach the database at 127\\.0\\.0\\.1:${port}/trading \\(ECONNREFUSED\\): start PostgreSQL or correct DATABASE_URL`));
      expect(outcome.stderr).not.toContain('s3cret');
    } finally {
      await discord.close();
    }
  });

  it('a malformed VAULT_KEYS: what is wrong with it and how to make a key', { timeout: 60_000 }, async () => {
    const discord = await startDiscordSim({ specPath: null });
    try {
      const outcome = await start({ DISCORD_TOKEN: discord.token, VAULT_KEYS: '1:not-a-key' }, discord.restApiUrl);
      expectOneLine(outcome, /VAULT_KEYS is invalid.*npm run vault:keygen/);
      expect(outcome.stderr).not.toContain('not-a-key');
    } finally {
      await discord.close();
    }
  });

  it('the health port in use: which port, and how to change it', { timeout: 60_000 }, async () => {
    const discord = await startDiscordSim({ specPath: null });
    const holder: Server = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const port = (holder.address() as { port: number }).port;
    try {
      const outcome = await start({ DISCORD_TOKEN: discord.token, HEALTH_PORT: String(port) }, discord.restApiUrl);
      expectOneLine(outcome, new RegExp(`^HEALTH_PORT ${port} is already in use by another program: set another port, or HEALTH_PORT=0`));
    } finally {
      await new Promise<void>((resolve) => holder.close(() => resolve()));
      await discord.close();
    }
  });
});
