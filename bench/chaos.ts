/**
 * npm run -s bench:chaos — issue #11's proof under faults, restarts and several processes: 3 bot
 * processes (the real startBot, each its own instance id) on one PostgreSQL (TEST_DATABASE_URL, or
 * the local server), the Binance simulator in a child process, 200 futures + 50 spot accounts, a
 * stream of signals with injected faults and processes SIGKILLed at random (bench/chaos/harness.ts).
 * Prints the figures and a final JSON line; exits 1 when an invariant is broken.
 *
 * CHAOS_MINUTES (simulated stream length, default 6), CHAOS_FACTOR (clock speed-up, default 1: real time),
 * CHAOS_SEED, CHAOS_PROCESSES, CHAOS_FUTURES, CHAOS_SPOT, CHAOS_LOG (a file for the bots' log lines) and
 * CHAOS_LOG_LEVEL (default warn); CHAOS_KEEP_DB=1 keeps the run's database for a post-mortem.
 * CHAOS_FAULTS=false runs without faults or kills (a quiet run, to read the IP weight the bots spend).
 */
import { runChaos } from './chaos/harness';

const num = (name: string, fallback: number) => (process.env[name] === undefined ? fallback : Number(process.env[name]));
const adminUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const processes = num('CHAOS_PROCESSES', 3);

const result = await runChaos({
  processes,
  futuresAccounts: num('CHAOS_FUTURES', 200),
  spotAccounts: num('CHAOS_SPOT', 50),
  durationMs: num('CHAOS_MINUTES', 6) * 60_000,
  signalEveryMs: 8_000,
  factor: num('CHAOS_FACTOR', 1),
  seed: num('CHAOS_SEED', 11),
  faults: process.env.CHAOS_FAULTS !== 'false',
  killEveryMs: processes > 1 && process.env.CHAOS_FAULTS !== 'false' ? 45_000 : 0,
  database: { kind: 'postgres', adminUrl },
  settleMs: 6 * 60_000,
  takeoverAfterSeconds: 15,
  log: (line) => console.error(line),
  ...(process.env.CHAOS_LOG ? { logFile: process.env.CHAOS_LOG } : {}),
  ...(process.env.CHAOS_LOG_LEVEL ? { logLevel: process.env.CHAOS_LOG_LEVEL } : {}),
  // CHAOS_USER_STREAMS=false runs the bots on polling alone (the bot's USER_STREAMS), to compare.
  userStreams: process.env.CHAOS_USER_STREAMS !== 'false',
});

const { details, ...figures } = result;
console.log(`signals ${figures.signals} (${figures.withdrawn} withdrawn) on ${figures.accounts} accounts, ${figures.processes} processes`);
console.log(`kills ${figures.kills}, faults fired ${figures.faults}, ${figures.realSeconds} s of wall time`);
console.log(`duplicate orders ${figures.duplicateOrders}, unknown exchange orders ${figures.unknownExchangeOrders}`);
console.log(`position mismatches ${figures.positionMismatches}, lost signals ${figures.lostSignals}`);
console.log(`longest unprotected futures position ${figures.unprotectedMaxMs} ms (goal ≤ 30,000)`);
console.log(`IP weight per minute while signals streamed in: futures ${figures.weightPerMin.futures}, spot ${figures.weightPerMin.spot} (Binance's limits 2,400 and 6,000)`);
console.log(`  by route: ${figures.weightPerMinByRoute.slice(0, 10).map(([route, perMin]) => `${route} ${perMin}`).join(', ')}`);
for (const [name, list] of Object.entries(details)) {
  if (Array.isArray(list) && list.length > 0) console.log(`${name}: ${JSON.stringify(list.slice(0, name === 'worstTimeline' ? 240 : 10))}`);
}
console.log(
  JSON.stringify({
    bench: 'chaos',
    processes: figures.processes,
    accounts: figures.accounts,
    signals: figures.signals,
    kills: figures.kills,
    faults: figures.faults,
    duplicateOrders: figures.duplicateOrders,
    unknownExchangeOrders: figures.unknownExchangeOrders,
    positionMismatches: figures.positionMismatches,
    lostSignals: figures.lostSignals,
    unprotectedMaxMs: figures.unprotectedMaxMs,
  }),
);
const broken =
  figures.duplicateOrders + figures.unknownExchangeOrders + figures.positionMismatches + figures.lostSignals > 0 || figures.unprotectedMaxMs > 30_000;
process.exit(broken ? 1 : 0);
