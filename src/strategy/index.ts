/** The built-in example strategy: one of the signal sources that poll (see README, "Built-in strategy"). */
export { createStrategy, TIMEFRAMES } from './strategy';
export type { CandleSource, Strategy, StrategyTickReport } from './strategy';
export { DEFAULT_STRATEGY_PARAMS, evaluateCandles } from './evaluate';
export type { StrategyCandidate, StrategyParams } from './evaluate';
