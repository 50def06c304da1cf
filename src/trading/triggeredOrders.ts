import type { ExchangeGateway } from '../exchange/gateway';

/** A conditional order of the bot's: what the book knows of the order it placed when it triggered. */
export interface ConditionalLeg {
  readonly symbol: string;
  readonly clientOrderId: string;
  readonly fillOrderId: string | null;
}

/**
 * The exchange ids the bot's triggered conditional orders trade under (a Binance algo order's trades
 * name the order it placed, not the algo id): what the book kept, else what a lookup says now. A
 * lookup that fails throws: the caller must not take our own fill for someone else's.
 */
export async function triggeredOrderIds(gateway: ExchangeGateway, legs: readonly ConditionalLeg[]): Promise<string[]> {
  const ids: string[] = [];
  for (const leg of legs) {
    const id = leg.fillOrderId ?? (await gateway.fetchOrder(leg.symbol, leg.clientOrderId))?.fillOrderId;
    if (id) ids.push(id);
  }
  return ids;
}
