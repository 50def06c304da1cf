/**
 * Which lane an exchange request waits in when the IP's weight budget is short (rateLimiter.ts). A
 * signal's work (sizing reads, preflight, entries) and the visit of a position that may have no stop
 * go ahead of background reads (routine position
 * checks, copy polling, balance refreshes, the strategy), and background reads never take the last
 * share of a minute's budget: neither waits behind a thousand accounts' routine checks.
 * The lane follows the async call chain (AsyncLocalStorage), so the gateway's signature stays as it is.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export type RequestLane = 'signal' | 'background';

const lanes = new AsyncLocalStorage<RequestLane>();

/** Runs `work` with every exchange request it makes in the signal lane. */
export const inSignalLane = <T>(work: () => Promise<T>): Promise<T> => lanes.run('signal', work);

/** The lane of the request being made now: background unless a caller said otherwise. */
export const currentLane = (): RequestLane => lanes.getStore() ?? 'background';
