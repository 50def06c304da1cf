/**
 * npm run -s bench:steady — issue #14's steady state: N = 1,000 futures and 300 spot accounts each
 * holding a position with a stop and two take-profits, one bot process on PostgreSQL
 * (TEST_DATABASE_URL, or the local server), the simulator in a child process at 50 ms with Binance's
 * real IP limits; in the measured window, after six cycles, a take-profit fills on 20 probe accounts at
 * random moments and a signal goes to 20 other accounts (bench/steady/harness.ts). Prints the figures
 * and a final JSON line.
 *
 * STEADY_FUTURES, STEADY_SPOT, STEADY_MINUTES (the measured window, default 10; a round of the
 * streamed accounts' paced reconciliation takes about 33 minutes at 1,000 futures accounts),
 * STEADY_SETTLE_SECONDS (between the last stream opening and the window, default 180: the one-time
 * balance re-reads after the streams open, reported apart), STEADY_SEED, STEADY_LOG (a file for the bot's log lines),
 * STEADY_LOG_LEVEL (default warn), STEADY_USER_STREAMS=false (polling alone, to compare).
 */
import { runSteady } from './steady/harness';

const num = (name: string, fallback: number) => (process.env[name] === undefined ? fallback : Number(process.env[name]));
const adminUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const percentile = (values: number[], p: number) => {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!);
};

const result = await runSteady({
  futuresAccounts: num('STEADY_FUTURES', 1_000),
  spotAccounts: num('STEADY_SPOT', 300),
  fillProbes: 20,
  signalProbes: 20,
  windowMs: num('STEADY_MINUTES', 10) * 60_000,
  settleMs: num('STEADY_SETTLE_SECONDS', 180) * 1_000,
  cycleSeconds: 10,
  latencyMs: 50,
  seed: num('STEADY_SEED', 14),
  database: { kind: 'postgres', adminUrl },
  userStreams: process.env.STEADY_USER_STREAMS !== 'false',
  log: (line) => console.error(line),
  ...(process.env.STEADY_LOG ? { logFile: process.env.STEADY_LOG } : {}),
  ...(process.env.STEADY_LOG_LEVEL ? { logLevel: process.env.STEADY_LOG_LEVEL } : {}),
});

const limits = { futures: 2_400, spot: 6_000 };
console.log(
  `${result.futures} futures + ${result.spot} spot accounts; ${result.protectedPositions} positions protected after ${result.seedSeconds} s of seeding, every stream open ${result.streamsSeconds} s later; skipped ${JSON.stringify(result.seedSkipped)}`,
);
console.log(
  `IP weight per minute over ${result.windowMinutes} min: futures ${result.weightPerMinFutures} (peak minute ${result.peakMinuteFutures}), spot ${result.weightPerMinSpot} (peak minute ${result.peakMinuteSpot}); goals ≤ ${limits.futures / 4} and ≤ ${limits.spot / 4}`,
);
console.log(`  by route: ${result.weightPerMinByRoute.slice(0, 10).map(([route, perMin]) => `${route} ${perMin}`).join(', ')}`);
console.log(`fill to book (ms): ${JSON.stringify([...result.fillToBookMs].sort((a, b) => a - b).map(Math.round))}, not booked ${result.fillsNotBooked}`);
console.log(`signal acknowledged (ms): ${JSON.stringify([...result.signalAckMs].sort((a, b) => a - b).map(Math.round))}, not acknowledged ${result.signalsNotAcked}`);
console.log(`signals too old ${result.tooOld}, 429 answers ${result.http429}, 418 answers ${result.http418}`);
console.log(
  JSON.stringify({
    bench: 'steady',
    futures: result.futures,
    spot: result.spot,
    weightPerMinFutures: result.weightPerMinFutures,
    weightPerMinSpot: result.weightPerMinSpot,
    limitFutures: limits.futures,
    limitSpot: limits.spot,
    fillToBookP50Ms: percentile(result.fillToBookMs, 50),
    fillToBookMaxMs: percentile(result.fillToBookMs, 100),
    signalAckP50Ms: percentile(result.signalAckMs, 50),
    signalAckMaxMs: percentile(result.signalAckMs, 100),
    tooOld: result.tooOld,
    http429: result.http429,
  }),
);
process.exit(0);
