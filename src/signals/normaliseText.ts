/**
 * Turns a Discord message into plain ASCII lines the tokeniser can read: markdown, code fences,
 * mentions, links and emoji go; fancy Unicode letters and dashes become their ASCII forms.
 */

// Only well-known fence languages are dropped, so "```BTCUSDT\n" keeps its symbol.
const CODE_FENCE =
  /```(?:(?:ansi|diff|fix|css|ini|json|js|ts|yaml|yml|md|markdown|txt|text|py|python|bash|sh|arm|prolog|elm|less|xml|html|cs|apache)[ \t]*\n)?/gi;
// Custom emoji <:name:id>, user/role/channel mentions, timestamps, slash-command mentions.
const DISCORD_TAGS = /<(?:a?:\w+:\d+|[@#][!&]?\d+|t:\d+(?::[a-zA-Z])?|\/[\w -]+:\d+)>/g;
// The label may hold no "[" either: on a run of "[" each would otherwise scan to the line's end (quadratic).
const MASKED_LINK = /\[([^[\]\n]*)\]\([^()\n]*\)/g;
const URL = /https?:\/\/\S+/g;
// 1️⃣ 2️⃣ ... are list numbers in many signal posts.
const KEYCAP = /(\d)\uFE0F?\u20E3/g;
const DASHES = /[\u2010-\u2015\u2212\uFE58\uFE63\uFF0D]/g;
const QUOTES = /[\u2018\u2019\u201A\u201B\u2032]/g;
const HEADING = /^[ \t]*(?:-#|#{1,3})[ \t]+/gm;
const BLOCKQUOTE = /^[ \t]*>{1,3}[ \t]?/gm;
// A pair written with a hyphen (BTC-USDT, ETH-PERP) before hyphens between words become spaces.
const HYPHEN_PAIR = /\b([A-Za-z][A-Za-z0-9]*)-(USDT|USDC|BUSD|FDUSD|TUSD|USD|PERP)\b/gi;
const HYPHEN_WORDS = /([A-Za-z])-(?=[A-Za-z])/g;
// Invisible characters (zero-width space and joiners, soft hyphen, BOM) join what they sit in:
// "X\u200BAI" is XAI, never the coin AI.
const INVISIBLE = /[\u00AD\u180E\u200B-\u200F\u2060-\u2064\uFEFF]/g;
// "SOL /USDT", "ETH  / BTC": a pair with spaces around its slash (only before a quote currency).
const SPACED_PAIR = /\b([A-Za-z0-9]{2,20})[ \t]*\/[ \t]*(USDT|USDC|BUSD|FDUSD|TUSD|USD|BTC|ETH|BNB|PERP)\b/gi;

export function normaliseText(text: string): string {
  return (
    text
      .replace(INVISIBLE, '')
      .replace(KEYCAP, '$1) ')
      .normalize('NFKC')
      .replace(/\r\n?/g, '\n')
      .replace(CODE_FENCE, '\n')
      .replace(MASKED_LINK, '$1')
      .replace(URL, ' ')
      .replace(DISCORD_TAGS, ' ')
      .replace(HEADING, '')
      .replace(BLOCKQUOTE, '')
      .replace(/\*\*|__|~~|\|\||[`*_]/g, '')
      .replace(DASHES, '-')
      .replace(QUOTES, "'")
      .replace(/\u00D7/g, 'x')
      // Emoji, bullets, arrows and anything else outside printable ASCII are decoration.
      .replace(/[^\x20-\x7E\n]/g, ' ')
      .replace(/\t/g, ' ')
      .replace(HYPHEN_PAIR, '$1/$2')
      .replace(SPACED_PAIR, '$1/$2')
      .replace(HYPHEN_WORDS, '$1 ')
  );
}
