/**
 * Rows to the lifecycle's domain types (src/domain/lifecycle): the decision sees legs and a position
 * view, never database rows.
 */

import type { Leg } from '../../domain/lifecycle/legs';
import type { PositionView } from '../../domain/lifecycle/types';
import type { Order, Position } from '../../domain/records';

export const legOf = (row: Order): Leg => ({
  id: row.id,
  leg: row.leg,
  symbol: row.symbol,
  side: row.side,
  type: row.type,
  quantity: row.quantity,
  price: row.price,
  triggerPrice: row.triggerPrice,
  status: row.status,
  filledQuantity: row.filledQuantity,
  averagePrice: row.averagePrice,
  fees: row.fees,
  reason: row.reason,
  attempts: row.attempts,
  sentAt: row.sentAt,
});

export const positionViewOf = (row: Position): PositionView => ({
  id: row.id,
  symbol: row.symbol,
  side: row.side,
  status: row.status,
  quantity: row.quantity,
  entryQuantity: row.entryQuantity,
  exitQuantity: row.exitQuantity,
  averageEntryPrice: row.averageEntryPrice,
  stopLoss: row.stopLoss,
  takeProfits: row.takeProfits,
  takeProfitsHit: row.takeProfitsHit,
  stopVersion: row.stopVersion,
  leverage: row.leverage,
  // An open position's close reason is a /panic's intent, written before its closes go (panic.ts).
  panicked: row.status === 'open' && row.closeReason === 'panic',
});
