/**
 * Runs the simulator in its own process (for benchmarks that must not share the event loop):
 *   node --import tsx test/sim/binance/child.ts '{"markets":2500,"manualClock":1700000000000}'
 * Prints one JSON line `{"port":N,"url":"http://127.0.0.1:N"}` once listening, then serves until
 * SIGTERM/SIGINT or until its stdin closes (the parent went away). Drive it with client.ts.
 */
import { startBinanceSim } from './sim';
import type { BinanceSimOptions } from './sim';

const opts = JSON.parse(process.argv[2] ?? '{}') as BinanceSimOptions;
const sim = await startBinanceSim(opts);
process.stdout.write(`${JSON.stringify({ port: sim.port, url: sim.url })}\n`);

let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  void sim.close().finally(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.on('end', stop);
process.stdin.on('close', stop);
process.stdin.resume();
