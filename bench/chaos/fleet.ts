/**
 * The chaos run's bot processes. On PostgreSQL each bot is its own Node process (bot.ts), killed
 * with SIGKILL as a crash would, restarted with a fresh instance id. On PGlite (one process only) the
 * bot runs in this process and is never killed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startBot, type RunningBot } from '../../src/app';
import type { DatabaseHandle } from '../../src/db/client';
import { parseConfig } from '../../src/config';
import { makeFetchImplementation } from '../../test/sim/binance/fetch';
import { socketAgentFor } from '../../test/sim/binance/socketAgent';
import { sharedClock, type SharedClockSpec } from '../../test/support/sharedClock';
import type { BotProcessSpec } from './bot';

export type BotEnv = Record<string, string>;

export interface FleetOptions {
  count: number;
  database: DatabaseHandle;
  /** PostgreSQL: the database every process connects to; null: PGlite, in this process. */
  databaseUrl: string | null;
  env: BotEnv;
  simUrl: string;
  discordRestApi: string;
  clock: SharedClockSpec;
  logFile?: string;
  log: (line: string) => void;
}

type Slot = { kind: 'child'; child: ChildProcess } | { kind: 'inline'; bot: RunningBot } | null;

export class BotFleet {
  private readonly slots: Slot[];
  kills = 0;
  /** What each process said when it started (its first line), by index. */
  readonly started: ({ instanceId: string; pid: number; leading: boolean } | null)[] = [];

  constructor(private readonly options: FleetOptions) {
    if (options.databaseUrl === null && options.count !== 1) throw new Error('PGlite runs one bot process');
    this.slots = Array.from({ length: options.count }, () => null);
  }

  async startAll(): Promise<void> {
    await Promise.all(this.slots.map((_, index) => this.start(index)));
  }

  async startAllDead(): Promise<void> {
    await Promise.all(this.slots.map((slot, index) => (slot ? Promise.resolve() : this.start(index))));
  }

  aliveCount(): number {
    return this.slots.filter((slot) => slot !== null).length;
  }

  randomAlive(random: () => number): number | null {
    const alive = this.slots.flatMap((slot, index) => (slot?.kind === 'child' ? [index] : []));
    return alive.length === 0 ? null : alive[Math.floor(random() * alive.length)]!;
  }

  async start(index: number): Promise<void> {
    if (this.slots[index]) return;
    const name = `bot-${index + 1}`;
    if (this.options.databaseUrl === null) {
      const bot = await startBot(parseConfig(this.options.env), {
        database: this.options.database,
        discordRestApi: this.options.discordRestApi,
        exchangeFetch: makeFetchImplementation(this.options.simUrl),
        exchangeSocketAgent: socketAgentFor(this.options.simUrl),
        clock: sharedClock(this.options.clock),
        instanceName: name,
        recvWindowMs: 60_000,
        ...(this.options.logFile ? { logDestination: createWriteStream(this.options.logFile, { flags: 'a' }) } : {}),
      });
      this.slots[index] = { kind: 'inline', bot };
      return;
    }
    const spec: BotProcessSpec = {
      simUrl: this.options.simUrl,
      discordRestApi: this.options.discordRestApi,
      clock: this.options.clock,
      name,
      ...(this.options.logFile ? { logFile: this.options.logFile } : {}),
    };
    const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
    const entry = fileURLToPath(new URL('./bot.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', tsx, entry, JSON.stringify(spec)], {
      env: { ...process.env, ...this.options.env, DATABASE_URL: this.options.databaseUrl },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    this.slots[index] = { kind: 'child', child };
    child.once('exit', () => {
      const slot = this.slots[index];
      if (slot?.kind === 'child' && slot.child === child) this.slots[index] = null;
    });
    const lines = createInterface({ input: child.stdout! });
    await new Promise<void>((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`${name} exited with ${code} before it started`));
      child.once('exit', onExit);
      lines.once('line', (line) => {
        child.off('exit', onExit);
        try {
          this.started[index] = JSON.parse(line) as { instanceId: string; pid: number; leading: boolean };
        } catch {
          this.started[index] = null;
        }
        resolve();
      });
    });
    this.options.log(`chaos: ${name} started (pid ${child.pid})`);
  }

  /** A crash: SIGKILL, nothing cleaned up (its claims wait for the takeover threshold). */
  async kill(index: number): Promise<void> {
    const slot = this.slots[index];
    if (slot?.kind !== 'child') return;
    const exited = new Promise((resolve) => slot.child.once('exit', resolve));
    slot.child.kill('SIGKILL');
    await exited;
    this.slots[index] = null;
    this.kills += 1;
    this.options.log(`chaos: bot-${index + 1} killed`);
  }

  async stopAll(): Promise<void> {
    await Promise.all(
      this.slots.map(async (slot, index) => {
        if (!slot) return;
        this.slots[index] = null;
        if (slot.kind === 'inline') return slot.bot.stop();
        const exited = new Promise((resolve) => slot.child.once('exit', resolve));
        slot.child.kill('SIGTERM');
        const timer = setTimeout(() => slot.child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }),
    );
  }
}
