import { describe, expect, it } from 'vitest';
import { reportNeedsVisit, type ReportedOrder } from '../../../src/domain/streamHints';

const ours = `mb${'x'.repeat(22)}`;
const order = (over: Partial<ReportedOrder>): ReportedOrder => ({ clientOrderId: ours, status: 'open', filled: 0, ...over });

describe('which stream reports ask for a visit', () => {
  it.each([
    ['the bot\'s own order resting as placed', [order({})], false],
    ['nothing reported', [], false],
    ['a partial fill of the bot\'s order', [order({ filled: 0.5 })], true],
    ['a fill', [order({ status: 'closed', filled: 2 })], true],
    ['a cancel (the owner may have removed the stop by hand)', [order({ status: 'canceled' })], true],
    ['an expiry', [order({ status: 'expired' })], true],
    ['a rejection', [order({ status: 'rejected' })], true],
    ['a stop whose trigger fired', [order({ status: 'triggered' })], true],
    ['an order the bot did not make', [order({ clientOrderId: 'web_0000000000000001' })], true],
    ['an order without a client id', [order({ clientOrderId: null })], true],
    ['a resting own order beside a fill', [order({}), order({ status: 'closed', filled: 1 })], true],
  ])('%s → %s', (_what, orders, expected) => {
    expect(reportNeedsVisit(orders)).toBe(expected);
  });
});
