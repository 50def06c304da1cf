import { openDatabase, type DatabaseHandle } from '../../src/db/client';
import {
  defaultEngineSettings,
  TradingEngine,
  type EngineSettings,
  type GatewayProvider,
} from '../../src/trading/engine';
import type { TradingWorld } from './trading';
import { createStore } from '../../src/db/store';

/**
 * Engines each with its own connection pool on the world's PostgreSQL, as separate processes would
 * have. `stopAll()` (in afterEach) stops their heartbeats and closes their pools.
 */
export function processEngines() {
  const handles: DatabaseHandle[] = [];
  const engines: TradingEngine[] = [];
  return {
    /** `liveness`: the process holds its liveness lock as the app does (found dead when killed). */
    async start(
      w: TradingWorld,
      settings: Partial<EngineSettings> & { instanceName: string },
      gateways?: GatewayProvider,
      options: { liveness?: boolean } = {},
    ) {
      const url = (w.db as DatabaseHandle & { url?: string }).url!;
      const handle = await openDatabase({ url, maxConnections: 5 });
      handles.push(handle);
      const engine = new TradingEngine(
        createStore(handle.db),
        gateways ?? w.gateways,
        w.clock,
        w.log,
        {
          ...defaultEngineSettings(settings.instanceName),
          maxSignalLagMs: 60 * 60_000,
          concurrency: 8,
          // 30 s of real time on the 5x clock, unless a test measures the 30 s threshold itself.
          takeoverAfterMs: 150_000,
          ...settings,
        },
        undefined,
        options.liveness ? { liveness: (onLost) => handle.holdLiveness(onLost) } : {},
      );
      engines.push(engine);
      await engine.start();
      return engine;
    },
    async stopAll() {
      for (const engine of engines.splice(0)) await engine.instance.stop();
      for (const handle of handles.splice(0)) await handle.close();
    },
  };
}
