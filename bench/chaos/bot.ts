/**
 * One bot process of the chaos benchmark: the REAL startBot (the code path of `npm start`), its
 * configuration from the environment the orchestrator gives it, the simulators and the shared
 * accelerated clock wired in code (DESIGN.md rule 9: nothing in configuration redirects signed
 * exchange traffic). Prints one JSON line when started; SIGTERM stops it cleanly, SIGKILL is a crash.
 *   node --import tsx bench/chaos/bot.ts '{"simUrl":…,"discordRestApi":…,"clock":{…},"name":"bot-1"}'
 */
import { createWriteStream } from 'node:fs';
import { startBot } from '../../src/app';
import { parseConfig } from '../../src/config';
import { makeFetchImplementation } from '../../test/sim/binance/fetch';
import { socketAgentFor } from '../../test/sim/binance/socketAgent';
import { sharedClock, type SharedClockSpec } from '../../test/support/sharedClock';

export interface BotProcessSpec {
  simUrl: string;
  discordRestApi: string;
  clock: SharedClockSpec;
  name: string;
  /** Where the process's log lines go (warn and above by default). */
  logFile?: string;
}

const spec = JSON.parse(process.argv[2] ?? '{}') as BotProcessSpec;
const config = parseConfig(process.env);
const bot = await startBot(config, {
  discordRestApi: spec.discordRestApi,
  exchangeFetch: makeFetchImplementation(spec.simUrl),
  exchangeSocketAgent: socketAgentFor(spec.simUrl),
  clock: sharedClock(spec.clock),
  instanceName: spec.name,
  // Real delays count `factor` times on the accelerated clock: Binance's widest window.
  recvWindowMs: 60_000,
  ...(spec.logFile ? { logDestination: createWriteStream(spec.logFile, { flags: 'a' }) } : {}),
});
process.stdout.write(`${JSON.stringify({ started: true, instanceId: bot.engine.instance.id, pid: process.pid, leading: bot.leadership.shards.some((shard) => shard.leading) })}\n`);

let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  void bot.stop().finally(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
