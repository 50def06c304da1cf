import { inspect } from 'node:util';

export const REDACTED = '[redacted]';

/**
 * A plaintext secret (API key, API secret, passphrase) that prints as `[redacted]` everywhere:
 * String(), template strings, JSON.stringify, util.inspect / console / util.format, pino.
 * The plaintext sits in an ECMAScript private field, so no enumeration, structuredClone or deep
 * copy can see it; `reveal()` is the only way out and belongs at the call that needs the bytes.
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    if (typeof value !== 'string') throw new TypeError('Secret wraps a string');
    this.#value = value;
  }

  /** The plaintext. Call it at the last moment (signing a request), never to log or display. */
  reveal(): string {
    return this.#value;
  }

  get isEmpty(): boolean {
    return this.#value.length === 0;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [Symbol.toPrimitive](): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return REDACTED;
  }

  static isSecret(value: unknown): value is Secret {
    return value instanceof Secret;
  }
}
