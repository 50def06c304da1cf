import { randomBytes } from 'node:crypto';

/** Discord's epoch (2015-01-01T00:00:00Z); snowflakes carry milliseconds since it in their top bits. */
const DISCORD_EPOCH = 1_420_070_400_000n;
let last = 0n;

/**
 * A fresh, strictly increasing snowflake with a real timestamp, so it has 18-19 digits like Discord's
 * (discord.js keys its rate-limit queues on ids of 17-19 digits) and sorts by creation time.
 */
export function snowflake(now: number = Date.now()): string {
  const base = ((BigInt(now) - DISCORD_EPOCH) << 22n) | (1n << 17n) | (1n << 12n);
  last = base > last ? base : last + 1n;
  return last.toString();
}

/** Milliseconds since the Unix epoch encoded in a snowflake. */
export function snowflakeTime(id: string): number {
  return Number((BigInt(id) >> 22n) + DISCORD_EPOCH);
}

export function isSnowflake(value: unknown): value is string {
  return typeof value === 'string' && /^\d{1,20}$/.test(value);
}

/** A bot token shaped like Discord's: base64(user id) . timestamp . hmac. */
export function botToken(userId: string): string {
  const id = Buffer.from(userId).toString('base64url');
  return `${id}.${randomBytes(4).toString('base64url')}.${randomBytes(27).toString('base64url')}`;
}

/** Interaction tokens are long opaque strings (valid for 15 minutes on Discord). */
export function interactionToken(interactionId: string): string {
  return `aW50ZXJhY3Rpb246${Buffer.from(interactionId).toString('base64url')}${randomBytes(96).toString('base64url')}`;
}

export function sessionId(): string {
  return randomBytes(16).toString('hex');
}
