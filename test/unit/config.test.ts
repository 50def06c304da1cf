import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config';

const TOKEN = 'test-token-value';

function problemsOf(env: NodeJS.ProcessEnv): string[] {
  try {
    parseConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('configuration', () => {
  it('accepts a token alone and fills every default', () => {
    const config = parseConfig({ DISCORD_TOKEN: TOKEN });
    expect(config).toMatchObject({
      DATA_DIR: './data',
      CYCLE_INTERVAL_SECONDS: 10,
      ENGINE_CONCURRENCY: 32,
      HEALTH_PORT: 8080,
      STRATEGY_ENABLED: false,
      operatorAccounts: [],
    });
    expect(config.DATABASE_URL).toBeUndefined();
  });

  it('names every invalid variable in one error that points at .env.example', () => {
    const env = {
      CYCLE_INTERVAL_SECONDS: 'soon',
      ENGINE_CONCURRENCY: '0',
      LOG_LEVEL: 'loud',
      DATABASE_URL: 'mysql://x',
      HEALTH_PORT: '99999',
      DISCORD_GUILD_ID: 'abc',
      KELLY_FRACTION: '2',
      STRATEGY_ENABLED: 'maybe',
    };
    let message = '';
    try {
      parseConfig(env);
    } catch (error) {
      message = (error as Error).message;
    }
    for (const name of ['DISCORD_TOKEN', ...Object.keys(env)]) expect(message).toContain(name);
    expect(message).toContain('.env.example');
  });

  it('a variable left blank is unset: HEALTH_PORT= keeps the health endpoint on its default port, not off', () => {
    const config = parseConfig({ DISCORD_TOKEN: TOKEN, HEALTH_PORT: '', ENGINE_CONCURRENCY: ' ', STRATEGY_ENABLED: '', DATA_DIR: '' });
    expect(config.HEALTH_PORT).toBe(8080);
    expect(config.ENGINE_CONCURRENCY).toBe(32);
    expect(config.STRATEGY_ENABLED).toBe(false);
    expect(config.DATA_DIR).toBe('./data');
    expect(parseConfig({ DISCORD_TOKEN: TOKEN, HEALTH_PORT: '0' }).HEALTH_PORT).toBe(0);
    expect(problemsOf({ DISCORD_TOKEN: '' })).toEqual([expect.stringContaining('DISCORD_TOKEN')]);
  });

  it('takes over a silent process after 15 s by default (TAKEOVER_AFTER_SECONDS, 5 to 30)', () => {
    expect(parseConfig({ DISCORD_TOKEN: TOKEN }).TAKEOVER_AFTER_SECONDS).toBe(15);
    expect(parseConfig({ DISCORD_TOKEN: TOKEN, TAKEOVER_AFTER_SECONDS: '10' }).TAKEOVER_AFTER_SECONDS).toBe(10);
    for (const bad of ['4', '31', 'soon']) {
      expect(problemsOf({ DISCORD_TOKEN: TOKEN, TAKEOVER_AFTER_SECONDS: bad })).toEqual([expect.stringContaining('TAKEOVER_AFTER_SECONDS')]);
    }
  });

  it('follows user-data streams by default, paced to 50 connects a minute (USER_STREAMS, USER_STREAM_CONNECTS_PER_MINUTE)', () => {
    expect(parseConfig({ DISCORD_TOKEN: TOKEN })).toMatchObject({ USER_STREAMS: true, USER_STREAM_CONNECTS_PER_MINUTE: 50 });
    expect(parseConfig({ DISCORD_TOKEN: TOKEN, USER_STREAMS: 'false' }).USER_STREAMS).toBe(false);
    for (const bad of ['0', '61', 'fast']) {
      expect(problemsOf({ DISCORD_TOKEN: TOKEN, USER_STREAM_CONNECTS_PER_MINUTE: bad })).toEqual([
        expect.stringContaining('USER_STREAM_CONNECTS_PER_MINUTE'),
      ]);
    }
  });

  it('requires VAULT_KEYS with an external database', () => {
    expect(problemsOf({ DISCORD_TOKEN: TOKEN, DATABASE_URL: 'postgres://localhost/db' })).toEqual([
      expect.stringContaining('VAULT_KEYS'),
    ]);
  });

  it('reads operator accounts and names the bad ones', () => {
    const config = parseConfig({
      DISCORD_TOKEN: TOKEN,
      OWNER_DISCORD_ID: '200000000000000001',
      OWNER_GUILD_ID: '100000000000000001',
      ACCOUNT_1_EXCHANGE: 'binance',
      ACCOUNT_1_TYPE: 'futures',
      ACCOUNT_1_API_KEY: 'k',
      ACCOUNT_1_SECRET: 's',
      ACCOUNT_2_EXCHANGE: 'bybit',
      ACCOUNT_2_MODE: 'paper',
    });
    expect(config.operatorAccounts.map((a) => [a.slot, a.name, a.marketType, a.mode])).toEqual([
      [1, 'binance-1', 'futures', 'live'],
      [2, 'bybit-2', 'spot', 'paper'],
    ]);
    const problems = problemsOf({
      DISCORD_TOKEN: TOKEN,
      ACCOUNT_3_EXCHANGE: 'Bin Ance',
      ACCOUNT_4_EXCHANGE: 'okx',
      ACCOUNT_4_MODE: 'live',
    });
    expect(problems.join('\n')).toMatch(/ACCOUNT_3_EXCHANGE/);
    expect(problems.join('\n')).toMatch(/ACCOUNT_4_API_KEY/);
    expect(problems.join('\n')).toMatch(/OWNER_DISCORD_ID/);
  });

  it('npm start without a token exits 1 at once, saying what to set', () => {
    const env = Object.fromEntries(
      Object.entries(process.env).filter(([key]) => !['DISCORD_TOKEN', 'DATABASE_URL', 'VAULT_KEYS'].includes(key)),
    );
    const started = Date.now();
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      env: { ...env, DATA_DIR: '/nonexistent-never-created' },
      encoding: 'utf8',
      cwd: process.cwd(),
      timeout: 20_000,
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('DISCORD_TOKEN');
    expect(result.stderr).toContain('.env.example');
    expect(Date.now() - started).toBeLessThan(20_000);
  });
});
