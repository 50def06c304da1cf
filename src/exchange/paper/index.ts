export { PaperGateway } from './paperGateway';
export { triggered } from './paperBook';
export type { PaperGatewayOptions } from './paperGateway';
export { MemoryPaperStore, initialPaperState } from './state';
export type { PaperOrder, PaperPosition, PaperState, PaperStore, PaperTrade } from './state';
export type { MarketDataSource } from './marketData';
