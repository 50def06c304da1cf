/** Copy trading: masters' fills become copy signals for their followers (see README, "Copy trading"). */
export { createCopyTrading } from './copyTrading';
export type { CopyPollReport, CopyTrading } from './copyTrading';
export { createCopyPositions } from './copyPositions';
export type { CopyPositions, CopyPositionsReport } from './copyPositions';
