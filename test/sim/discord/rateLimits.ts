import { createHash } from 'node:crypto';

export interface RateLimitWindow {
  limit: number;
  windowMs: number;
}

/** A bucket for one route template (as in the OpenAPI spec) and method, counted per major parameter. */
export interface RateLimitRule extends RateLimitWindow {
  method: string;
  route: string;
}

export interface RateLimitOptions {
  /** Requests per bot across all routes; interaction callbacks and interaction webhooks are exempt, as on Discord. `false` disables it. */
  global?: RateLimitWindow | false;
  /** Route buckets; a rule replaces the default with the same method and route. */
  routes?: RateLimitRule[];
  /** Bucket for every other route (per route, method and major parameter); `false` sends no headers. */
  fallback?: RateLimitWindow | false;
}

/** Discord's usual figures: 5 messages per 5 s per channel, 1 reaction per 0.25 s per channel, 50/s global. */
export const DEFAULT_RATE_LIMITS = {
  global: { limit: 50, windowMs: 1000 },
  routes: [
    { method: 'POST', route: '/channels/{channel_id}/messages', limit: 5, windowMs: 5000 },
    { method: 'PATCH', route: '/channels/{channel_id}/messages/{message_id}', limit: 5, windowMs: 5000 },
    { method: 'DELETE', route: '/channels/{channel_id}/messages/{message_id}', limit: 5, windowMs: 5000 },
    { method: 'PUT', route: '/channels/{channel_id}/messages/{message_id}/reactions/{emoji_name}/@me', limit: 1, windowMs: 250 },
    { method: 'DELETE', route: '/channels/{channel_id}/messages/{message_id}/reactions/{emoji_name}/@me', limit: 1, windowMs: 250 },
    { method: 'POST', route: '/webhooks/{webhook_id}/{webhook_token}', limit: 5, windowMs: 2000 },
    { method: 'PATCH', route: '/webhooks/{webhook_id}/{webhook_token}/messages/@original', limit: 5, windowMs: 2000 },
    { method: 'PATCH', route: '/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}', limit: 5, windowMs: 2000 },
  ],
  fallback: { limit: 50, windowMs: 1000 },
} as const satisfies Required<RateLimitOptions>;

export type RateLimitOutcome =
  | { ok: true; headers: Record<string, string> }
  | { ok: false; global: boolean; retryAfterMs: number; headers: Record<string, string>; bucket: string };

interface Window {
  start: number;
  count: number;
}

/** Fixed windows per bucket and major parameter, answering with Discord's headers. */
export class RateLimiter {
  readonly #global: RateLimitWindow | false;
  readonly #rules = new Map<string, RateLimitWindow>();
  readonly #fallback: RateLimitWindow | false;
  readonly #windows = new Map<string, Window>();
  #globalWindow: Window | null = null;

  constructor(options: RateLimitOptions = {}) {
    this.#global = options.global ?? DEFAULT_RATE_LIMITS.global;
    this.#fallback = options.fallback ?? DEFAULT_RATE_LIMITS.fallback;
    for (const rule of [...DEFAULT_RATE_LIMITS.routes, ...(options.routes ?? [])]) {
      this.#rules.set(`${rule.method.toUpperCase()} ${rule.route}`, { limit: rule.limit, windowMs: rule.windowMs });
    }
  }

  /** Consumes one request from the route's bucket (and the global one) or reports the wait. */
  take(method: string, route: string, params: Record<string, string>, exemptFromGlobal: boolean, now = Date.now()): RateLimitOutcome {
    if (!exemptFromGlobal && this.#global) {
      // The server's window closes 50 ms early: discord.js starts its own 1 s window when it sends, a
      // little before we receive, and would otherwise overlap ours by the network latency.
      const span = Math.max(this.#global.windowMs - 50, this.#global.windowMs / 2);
      if (!this.#globalWindow || now >= this.#globalWindow.start + span) this.#globalWindow = { start: now, count: 0 };
      if (this.#globalWindow.count >= this.#global.limit) {
        const retryAfterMs = this.#globalWindow.start + span - now;
        return {
          ok: false,
          global: true,
          retryAfterMs,
          bucket: 'global',
          headers: { 'Retry-After': String(Math.ceil(retryAfterMs / 1000)), 'X-RateLimit-Global': 'true', 'X-RateLimit-Scope': 'global' },
        };
      }
    }
    // Buckets are per method and route template, counted per major parameter: reactions of every emoji
    // and message in a channel share one, as discord.js assumes.
    const rule = this.#rules.get(`${method} ${route}`) ?? this.#fallback;
    let headers: Record<string, string> = {};
    if (rule) {
      const bucket = hash(`${method} ${route}`);
      const key = `${bucket}:${majorParameter(params)}`;
      let window = this.#windows.get(key);
      if (!window || now >= window.start + rule.windowMs) {
        window = { start: now, count: 0 };
        this.#windows.set(key, window);
      }
      const resetAt = window.start + rule.windowMs;
      const resetAfter = ((resetAt - now) / 1000).toFixed(3);
      if (window.count >= rule.limit) {
        const retryAfterMs = resetAt - now;
        return {
          ok: false,
          global: false,
          retryAfterMs,
          bucket,
          headers: {
            ...bucketHeaders(rule.limit, 0, resetAt, resetAfter, bucket),
            'Retry-After': String(Math.ceil(retryAfterMs / 1000)),
            'X-RateLimit-Scope': 'user',
          },
        };
      }
      window.count += 1;
      headers = bucketHeaders(rule.limit, rule.limit - window.count, resetAt, resetAfter, bucket);
    }
    if (!exemptFromGlobal && this.#globalWindow) this.#globalWindow.count += 1;
    return { ok: true, headers };
  }
}

function bucketHeaders(limit: number, remaining: number, resetAt: number, resetAfter: string, bucket: string): Record<string, string> {
  return {
    'X-RateLimit-Limit': String(limit),
    'X-RateLimit-Remaining': String(remaining),
    'X-RateLimit-Reset': (resetAt / 1000).toFixed(3),
    'X-RateLimit-Reset-After': resetAfter,
    'X-RateLimit-Bucket': bucket,
  };
}

function hash(text: string): string {
  return createHash('sha1').update(text).digest('hex').slice(0, 32);
}

/** Discord's top-level resources: a channel, a guild, or a webhook with its token. */
function majorParameter(params: Record<string, string>): string {
  if (params['channel_id']) return `channel:${params['channel_id']}`;
  if (params['guild_id']) return `guild:${params['guild_id']}`;
  if (params['webhook_id']) return `webhook:${params['webhook_id']}/${params['webhook_token'] ?? ''}`;
  return 'global';
}
