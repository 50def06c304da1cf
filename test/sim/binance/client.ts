/**
 * Drives a simulator over its /__sim/ admin routes, typically one started in a child process by
 * spawnBinanceSim(). Same control surface as the in-process BinanceSim, but every call is async.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createInterface } from 'node:readline';
import type { AccountRules, AccountSpec, AlgoTriggerDelay, Position, PositionSide, Restrictions } from './engine';
import type { ActiveFault, FaultSpec } from './faults';
import { makeFetchImplementation } from './fetch';
import type { FetchImplementation } from './fetch';
import type { Agent } from 'node:http';
import { socketAgentFor } from './socketAgent';
import type { UserStreamStats } from './userStream';
import type { BinanceSimControl, BinanceSimOptions, RequestLogEntry, SimBalances, SimOrders, SimTrades } from './sim';
import type { SpecViolation } from './spec';
import type { ProtectionReport } from './protection';

export class BinanceSimClient implements BinanceSimControl {
  readonly fetchImplementation: FetchImplementation;
  readonly socketAgent: Agent;

  constructor(readonly url: string) {
    this.fetchImplementation = makeFetchImplementation(url);
    this.socketAgent = socketAgentFor(url);
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.url}/__sim${path}`, {
      method,
      headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`binance sim admin ${method} ${path}: ${res.status} ${text}`);
    return JSON.parse(text) as T;
  }

  private static q(params: Record<string, string | number>): string {
    return `?${new URLSearchParams(Object.entries(params).map(([k, v]): [string, string] => [k, String(v)])).toString()}`;
  }

  async streamFault(kind: 'disconnect' | 'drop' | 'expire', options: { apiKey?: string; count?: number } = {}): Promise<number> {
    return (await this.call<{ count: number }>('POST', '/stream-faults', { kind, ...options })).count;
  }
  async streamStats(): Promise<UserStreamStats> {
    return this.call<UserStreamStats>('GET', '/stream-stats');
  }

  async addAccount(spec: AccountSpec): Promise<void> {
    await this.call('POST', '/accounts', spec);
  }
  async setRestrictions(apiKey: string, restrictions: Partial<Restrictions>): Promise<void> {
    await this.call('POST', '/restrictions', { apiKey, restrictions });
  }
  async setAlgoTriggerDelay(delay: AlgoTriggerDelay): Promise<void> {
    await this.call('POST', '/algo-trigger-delay', delay);
  }
  async setAccountRules(apiKey: string, rules: Partial<AccountRules>): Promise<void> {
    await this.call('POST', '/account-rules', { apiKey, rules });
  }
  async fund(apiKey: string, wallet: 'spot' | 'futures', asset: string, amount: number): Promise<void> {
    await this.call('POST', '/fund', { apiKey, wallet, asset, amount });
  }
  async setPrice(symbol: string, price: number, which: 'spot' | 'futures' | 'both' = 'both'): Promise<void> {
    await this.call('POST', '/prices', { symbol, price, which });
  }
  async setPrices(prices: Readonly<Record<string, number>>, which: 'spot' | 'futures' | 'both' = 'both'): Promise<void> {
    await this.call('POST', '/prices', { prices, which });
  }
  async price(symbol: string, which: 'spot' | 'futures' = 'futures'): Promise<number> {
    return (await this.call<{ price: number }>('GET', `/prices${BinanceSimClient.q({ symbol, which })}`)).price;
  }
  async inject(fault: FaultSpec): Promise<number> {
    return (await this.call<{ id: number }>('POST', '/faults', fault)).id;
  }
  async faults(): Promise<ActiveFault[]> {
    return this.call('GET', '/faults');
  }
  async clearFaults(): Promise<void> {
    await this.call('DELETE', '/faults');
  }
  /** Log entries with seq greater than `since`. */
  async requestLog(since = 0): Promise<RequestLogEntry[]> {
    return this.call('GET', `/log${BinanceSimClient.q({ since })}`);
  }
  async clearLog(): Promise<void> {
    await this.call('DELETE', '/log');
  }
  async specViolations(): Promise<SpecViolation[]> {
    return this.call('GET', '/spec-violations');
  }
  async orders(apiKey: string): Promise<SimOrders> {
    return this.call('GET', `/orders${BinanceSimClient.q({ apiKey })}`);
  }
  async trades(apiKey: string): Promise<SimTrades> {
    return this.call('GET', `/trades${BinanceSimClient.q({ apiKey })}`);
  }
  async positions(apiKey: string): Promise<Position[]> {
    return this.call('GET', `/positions${BinanceSimClient.q({ apiKey })}`);
  }
  async balances(apiKey: string): Promise<SimBalances> {
    return this.call('GET', `/balances${BinanceSimClient.q({ apiKey })}`);
  }
  async closePositionExternally(apiKey: string, symbol: string, positionSide?: PositionSide): Promise<void> {
    await this.call('POST', '/close-position', { apiKey, symbol, ...(positionSide ? { positionSide } : {}) });
  }
  async now(): Promise<number> {
    return (await this.call<{ now: number }>('GET', '/clock')).now;
  }
  /** Manual clock only (start the sim with manualClock). */
  async advanceClock(ms: number): Promise<number> {
    return (await this.call<{ now: number }>('POST', '/clock', { advanceMs: ms })).now;
  }
  async setClock(t: number): Promise<number> {
    return (await this.call<{ now: number }>('POST', '/clock', { set: t })).now;
  }
  /** The protection monitor's report (started with watchProtection). */
  async protection(): Promise<ProtectionReport | null> {
    return this.call('GET', '/protection');
  }
  /** Every account's orders, positions and balances. */
  async books(): Promise<{ apiKey: string; orders: SimOrders; positions: Position[]; balances: SimBalances }[]> {
    return this.call('GET', '/books');
  }
  /** The current minute's weight per family, and the totals since the simulator started. */
  async usedWeight(): Promise<{
    spot: number;
    futures: number;
    sapi: number;
    totals: { spot: number; futures: number; sapi: number };
    byRoute: Record<string, number>;
    rateLimited: { http429: number; http418: number };
  }> {
    return this.call('GET', '/weights');
  }
}

export interface SpawnedBinanceSim extends BinanceSimClient {
  readonly port: number;
  readonly child: ChildProcess;
  close(): Promise<void>;
}

/** Starts the simulator in a child process (node + tsx) and resolves once it listens. */
export const spawnBinanceSim = async (opts: Omit<BinanceSimOptions, 'now'> = {}): Promise<SpawnedBinanceSim> => {
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  const childFile = fileURLToPath(new URL('./child.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', tsx, childFile, JSON.stringify(opts)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout ?? process.stdin });
  const first = await new Promise<string>((resolve, reject) => {
    const onExit = (code: number | null): void => reject(new Error(`binance sim child exited with ${code} before listening`));
    child.once('exit', onExit);
    child.once('error', reject);
    lines.once('line', (line) => {
      child.off('exit', onExit);
      resolve(line);
    });
  });
  lines.close();
  child.stdout?.resume();
  const { port, url } = JSON.parse(first) as { port: number; url: string };
  const client = new BinanceSimClient(url) as SpawnedBinanceSim;
  return Object.assign(client, {
    port,
    child,
    close: async (): Promise<void> => {
      if (child.exitCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      await exited;
    },
  });
};
