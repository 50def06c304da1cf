/**
 * Binance counts orders per account (exchangeInfo's ORDERS limits: 300 per 10 s and 1,200 per minute
 * on USDⓈ-M futures, 100 per 10 s on spot) and refuses a placement over a limit with HTTP 429, code
 * -1015 ("Too many new orders; current limit is 300 orders per 10 SECOND."), without a Retry-After.
 * That refusal is the account's, not the IP's: weight is what Binance counts per IP, and futures
 * orders cost none of it. So a -1015 holds back that account's orders until the named window ends,
 * and nothing else: other accounts' stops, and this account's reads, go on.
 */

const UNIT_MS: Record<string, number> = { SECOND: 1_000, MINUTE: 60_000, HOUR: 3_600_000, DAY: 86_400_000 };
/** Windows are aligned to the exchange's clock (the caller passes its estimate); ours may differ by a little. */
const CLOCK_MARGIN_MS = 250;
/**
 * The longest the gate stays closed: a DAY window would hold stops and closes back for hours, and
 * Binance lowers some counts as orders fill (spot's unfilled-order count), so one order tests it again.
 */
const MAX_CLOSED_MS = 60_000;

/** Whether an answer's body is Binance's order-count refusal (-1015): the account's, not the IP's. */
export function isOrderCountRefusal(body: string): boolean {
  try {
    const parsed = JSON.parse(body) as unknown;
    return (
      typeof parsed === 'object' && parsed !== null && Number((parsed as { code?: unknown }).code) === -1015
    );
  } catch {
    return false;
  }
}

/**
 * The milliseconds until the order window a -1015 body names ends (windows are aligned to the clock,
 * as Binance counts them; `exchangeNow` is our estimate of the exchange's), at most a minute, or null
 * when the body is not an order-count refusal.
 */
export function orderCountRefusalMs(body: string, exchangeNow: number): number | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return null;
  }
  if (typeof parsed !== 'object' || parsed === null) return null;
  const { code, msg } = parsed as { code?: unknown; msg?: unknown };
  if (Number(code) !== -1015) return null;
  const window = typeof msg === 'string' ? /per (\d+) (SECOND|MINUTE|HOUR|DAY)/i.exec(msg) : null;
  // An unreadable message: the shortest window Binance uses.
  const windowMs = window ? Number(window[1]) * (UNIT_MS[window[2]!.toUpperCase()] ?? 1_000) : 10_000;
  return Math.min(MAX_CLOSED_MS, windowMs - (exchangeNow % windowMs) + CLOCK_MARGIN_MS);
}

const ORDER_PLACEMENT =
  /^\/(fapi\/v1\/(order|algoOrder|batchOrders)|api\/v3\/(order|order\/oco|orderList\/\w+))$/;

/** Whether a request places an order (counted against the account's order limits). */
export const isOrderPlacement = (method: string, url: URL): boolean =>
  method.toUpperCase() === 'POST' && ORDER_PLACEMENT.test(url.pathname);

/**
 * One account's order gate: closed by the exchange's -1015 until its window ends. Orders asked for
 * meanwhile fail at once, unsent (a request known to be refused would only count against the IP).
 */
export class AccountOrderGate {
  private closedUntil = 0;

  constructor(private readonly now: () => number) {}

  close(ms: number): void {
    this.closedUntil = Math.max(this.closedUntil, this.now() + ms);
  }

  /** Milliseconds until orders may go again (0: open). */
  closedForMs(): number {
    return Math.max(0, this.closedUntil - this.now());
  }
}
