import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { connectGatewayShard, processIdentifyThrottle } from '../../src/discord/gatewayShard';
import { createLogger } from '../../src/logger';
import type { BotServices } from '../../src/services';
import { systemClock } from '../../src/clock';
import { startDiscordSim } from '../sim/discord';

/**
 * A shard's connect always ends (src/discord/gatewayShard.ts): a gateway that cannot be reached (REST
 * answers, the socket never opens; discord.js would retry it forever) ends at the ready timeout, and
 * an abort (the shard's lock lost meanwhile) ends it at once; a refusal is one error, not also an
 * unhandled rejection.
 */
const log = createLogger({ level: 'silent' });
const services = {} as BotServices;
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

/** Discord's REST, answering GET /gateway/bot with a gateway address nobody listens on. */
async function restWithDeadGateway(): Promise<string> {
  const server = createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ url: 'ws://127.0.0.1:1', shards: 1, session_start_limit: { total: 1000, remaining: 1000, reset_after: 0, max_concurrency: 1 } }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => new Promise((resolve) => server.close(() => resolve())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/api`;
}

describe('a gateway shard connect', () => {
  it('to a gateway that cannot be reached ends at the ready timeout', { timeout: 30_000 }, async () => {
    const api = await restWithDeadGateway();
    const started = Date.now();
    await expect(
      connectGatewayShard({ token: 'x.y.z', restApi: api, shard: { id: 0, count: 1 }, services, log, clock: systemClock, commands: new Map(), readyTimeoutMs: 1_000 }),
    ).rejects.toThrow(/did not become ready in time/);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('is given up at once when aborted (its lock lost while connecting)', { timeout: 30_000 }, async () => {
    const api = await restWithDeadGateway();
    const abort = new AbortController();
    const connecting = connectGatewayShard({ token: 'x.y.z', restApi: api, shard: { id: 0, count: 1 }, services, log, clock: systemClock, commands: new Map(), signal: abort.signal });
    setTimeout(() => abort.abort(new Error('the leadership lock was lost while connecting')), 200);
    await expect(connecting).rejects.toThrow(/lock was lost/);
  });

  it('refused by the gateway (4014) fails once, with no unhandled rejection besides', { timeout: 30_000 }, async () => {
    const discord = await startDiscordSim({ specPath: null, privilegedIntents: { messageContent: false } });
    closers.push(() => discord.close());
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    closers.push(async () => void process.off('unhandledRejection', onUnhandled));
    await expect(
      connectGatewayShard({ token: discord.token, restApi: discord.restApiUrl, shard: { id: 0, count: 1 }, services, log, clock: systemClock, commands: new Map(), readyTimeoutMs: 2_000 }),
    ).rejects.toThrow(/4014/);
    // Past the ready timeout too: nothing left over fires.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(unhandled).toEqual([]);
  });

  it("one process's shards identify one at a time (5 s apart) and the wait in that queue is not counted against the ready timeout", { timeout: 60_000 }, async () => {
    const discord = await startDiscordSim({ specPath: null, privilegedIntents: { messageContent: true } });
    closers.push(() => discord.close());
    const identifyThrottle = processIdentifyThrottle();
    const started = Date.now();
    const shards = await Promise.all(
      [0, 1, 2].map((id) =>
        connectGatewayShard({ token: discord.token, restApi: discord.restApiUrl, shard: { id, count: 3 }, services, log, clock: systemClock, commands: new Map(), identifyThrottle, readyTimeoutMs: 4_000 }),
      ),
    );
    closers.push(async () => void (await Promise.all(shards.map((shard) => shard.stop()))));
    // The third waited two turns (about 10 s), beyond its 4 s ready timeout, and still connected.
    expect(Date.now() - started).toBeGreaterThanOrEqual(9_000);
    expect(discord.connectedShards).toEqual(['0/3', '1/3', '2/3']);
    expect(discord.stats.identifies).toBe(3);
  });
});
