/**
 * Deterministic client order ids (DESIGN.md, order safety protocol step 1): the same (signal, account,
 * leg) always gives the same id, so a resend or a second engine instance can only ever produce the
 * order the exchange already knows (a duplicate-id answer), never a second order.
 *
 * id = "mb" + base62(FNV-1a-128(key)), 24 characters of [A-Za-z0-9]: valid on Binance, Bybit and OKX
 * (OKX wants at most 32 alphanumerics; the letter prefix also marks the bot's own orders).
 * key = len(signalId) ":" signalId len(accountId) ":" accountId leg, in WTF-8, an injective encoding,
 * so distinct triples differ as byte strings. The full 128 bits are kept (22 base62 digits hold them),
 * so a collision among 10^9 ids has probability about 10^18 / 2^129 ≈ 1.5·10^-21.
 * FNV is pure integer code: no node:crypto in the domain, and the same id in every runtime.
 */

export const CLIENT_ORDER_ID_PREFIX = 'mb';
export const CLIENT_ORDER_ID_PATTERN = /^[A-Za-z0-9]{1,32}$/;
const BOT_ID = /^mb[0-9A-Za-z]{22}$/;
const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/**
 * Leg ids, one small grammar (stored in `orders.leg`, part of the idempotency key):
 *   leg     = kind index | "t" index "v" version
 *   kind    = "e" entry | "s" stop-loss | "t" take-profit | "c" close
 *   index   = "0" | [1-9][0-9]*
 *   version = [1-9][0-9]*
 * For entries and take-profits the index is the position in the signal's list; for the stop and the
 * close it is a version: each replacement (stop moved to break-even, resized after another entry filled,
 * a second close attempt) is a new order, hence a new leg and id. A take-profit keeps its target index
 * and gains a version when it is replaced (resized after another entry filled): "t1" is version 0 of
 * target 1 (so legs stored before versions existed read unchanged), "t1v2" its second replacement.
 * Version 0 has the one spelling "t1", so every leg has exactly one id.
 */
export type LegKind = 'entry' | 'stop-loss' | 'take-profit' | 'close';
export type LegId = `${'e' | 's' | 't' | 'c'}${number}` | `t${number}v${number}`;
export type ParsedLeg =
  | { readonly kind: LegKind; readonly index: number; readonly version: number }
  | { readonly kind: 'invalid' };

const LETTER: Record<LegKind, 'e' | 's' | 't' | 'c'> = {
  entry: 'e',
  'stop-loss': 's',
  'take-profit': 't',
  close: 'c',
};
const KIND: Record<string, LegKind> = { e: 'entry', s: 'stop-loss', t: 'take-profit', c: 'close' };

function wholeNumber(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`leg ${what} must be a whole number ≥ 0: ${value}`);
}

function leg(kind: LegKind, index: number): LegId {
  wholeNumber(index, 'index');
  return `${LETTER[kind]}${index}`;
}

export const entryLeg = (index: number): LegId => leg('entry', index);
export const stopLeg = (version: number): LegId => leg('stop-loss', version);
export const closeLeg = (version: number): LegId => leg('close', version);

/** Target `index` of the signal's list; `version` counts its replacements (0: the first order). */
export function takeProfitLeg(index: number, version = 0): LegId {
  wholeNumber(version, 'version');
  const first = leg('take-profit', index);
  return version === 0 ? first : `t${index}v${version}`;
}

export function parseLeg(value: string): ParsedLeg {
  const match = /^([esct])(0|[1-9][0-9]*)(?:v([1-9][0-9]*))?$/.exec(value);
  const kind = match?.[1] ? KIND[match[1]] : undefined;
  const index = match?.[2] ? Number(match[2]) : NaN;
  const version = match?.[3] ? Number(match[3]) : 0;
  if (!kind || !Number.isSafeInteger(index) || !Number.isSafeInteger(version)) return { kind: 'invalid' };
  // Only take-profits are versioned apart from their index (the stop and close indexes are versions).
  if (match?.[3] && kind !== 'take-profit') return { kind: 'invalid' };
  return { kind, index, version };
}

/** The client order id of one leg of one signal on one account. */
export function clientOrderId(signalId: string, accountId: string, legId: LegId | string): string {
  const key = `${signalId.length}:${signalId}${accountId.length}:${accountId}${legId}`;
  return CLIENT_ORDER_ID_PREFIX + base62(fnv1a128(key));
}

/** An id this module produced (as opposed to a manual order's). */
export function isBotClientOrderId(id: string): boolean {
  return BOT_ID.test(id);
}

/**
 * FNV-1a 128 over the WTF-8 bytes of `text`, as eight 16-bit limbs, least significant first.
 * Multiplying by the prime 2^88 + 0x13B is h·0x13B + (h << 88), done limb-wise with plain numbers,
 * which is ~20× faster than BigInt here.
 */
export function fnv1a128(text: string): number[] {
  const bytes = wtf8(text);
  // Offset basis 0x6c62272e07bb014262b821756295c58d; locals rather than an array keep this hot loop fast.
  let h0 = 0xc58d,
    h1 = 0x6295,
    h2 = 0x2175,
    h3 = 0x62b8,
    h4 = 0x0142,
    h5 = 0x07bb,
    h6 = 0x272e,
    h7 = 0x6c62;
  for (let i = 0; i < bytes.length; i += 1) {
    h0 ^= bytes[i] as number;
    let t = h0 * 0x13b;
    const n0 = t & 0xffff;
    t = h1 * 0x13b + (t >>> 16);
    const n1 = t & 0xffff;
    t = h2 * 0x13b + (t >>> 16);
    const n2 = t & 0xffff;
    t = h3 * 0x13b + (t >>> 16);
    const n3 = t & 0xffff;
    t = h4 * 0x13b + (t >>> 16);
    const n4 = t & 0xffff;
    // h << 88: limb k gains limb k−5 shifted left by 8 bits (the excess carries up).
    t = h5 * 0x13b + (h0 << 8) + (t >>> 16);
    const n5 = t & 0xffff;
    t = h6 * 0x13b + (h1 << 8) + (t >>> 16);
    const n6 = t & 0xffff;
    t = h7 * 0x13b + (h2 << 8) + (t >>> 16);
    h7 = t & 0xffff;
    h0 = n0;
    h1 = n1;
    h2 = n2;
    h3 = n3;
    h4 = n4;
    h5 = n5;
    h6 = n6;
  }
  return [h0, h1, h2, h3, h4, h5, h6, h7];
}

/**
 * UTF-8, except that a lone surrogate is encoded as itself (WTF-8) instead of U+FFFD, which keeps the
 * encoding injective over every JavaScript string.
 */
function wtf8(text: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < text.length; i += 1) {
    let c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i += 1;
      }
    }
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 0x3f));
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f));
    else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 0x3f), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f));
  }
  return out;
}

const CODES = Array.from(ALPHABET, (c) => c.charCodeAt(0));

/** 128 bits (16-bit limbs, least significant first) as 22 base62 digits, most significant first. */
export function base62(limbs: readonly number[]): string {
  let [n0 = 0, n1 = 0, n2 = 0, n3 = 0, n4 = 0, n5 = 0, n6 = 0, n7 = 0] = limbs;
  const out = new Array<number>(24);
  // Three digits per pass, by long division by 62^3: 62^3 · 2^16 < 2^53, so every step is exact.
  for (let pass = 0; pass < 8; pass += 1) {
    let cur = n7;
    n7 = Math.floor(cur / 238_328);
    cur = (cur - n7 * 238_328) * 0x10000 + n6;
    n6 = Math.floor(cur / 238_328);
    cur = (cur - n6 * 238_328) * 0x10000 + n5;
    n5 = Math.floor(cur / 238_328);
    cur = (cur - n5 * 238_328) * 0x10000 + n4;
    n4 = Math.floor(cur / 238_328);
    cur = (cur - n4 * 238_328) * 0x10000 + n3;
    n3 = Math.floor(cur / 238_328);
    cur = (cur - n3 * 238_328) * 0x10000 + n2;
    n2 = Math.floor(cur / 238_328);
    cur = (cur - n2 * 238_328) * 0x10000 + n1;
    n1 = Math.floor(cur / 238_328);
    cur = (cur - n1 * 238_328) * 0x10000 + n0;
    n0 = Math.floor(cur / 238_328);
    const rem = cur - n0 * 238_328;
    const at = 23 - pass * 3;
    out[at] = CODES[rem % 62] as number;
    out[at - 1] = CODES[Math.floor(rem / 62) % 62] as number;
    out[at - 2] = CODES[Math.floor(rem / 3844)] as number;
  }
  // 24 digits were produced; 62^22 > 2^128, so the top two are always zero.
  return String.fromCharCode(...out.slice(2));
}
