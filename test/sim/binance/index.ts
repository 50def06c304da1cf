/** Local Binance REST simulator for tests and benchmarks (see README.md). */
export { startBinanceSim } from './sim';
export type { BinanceSim, BinanceSimOptions, BinanceSimControl, RequestLogEntry, SimOrders, SimTrades, SimBalances, WeightLimits } from './sim';
export { BINANCE_HOSTS, StrayHostError, makeFetchImplementation } from './fetch';
export type { FetchImplementation } from './fetch';
export type { FaultKind, FaultSpec } from './faults';
export type { AccountRules, AccountSpec, AlgoTriggerDelay, Fees, Position, PositionSide, Restrictions, SpotOrder, FuturesOrder, AlgoOrder, SpotTrade, FuturesTrade } from './engine';
export type { SpecViolation } from './spec';
