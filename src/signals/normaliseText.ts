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
// Telegram handles (@channel, By @future_bull) name people and channels, never coins.
const HANDLE = /(?<![\w.])@[A-Za-z0-9_]{3,}/g;
// 1️⃣ 2️⃣ ... are list numbers in many signal posts.
const KEYCAP = /(\d)\uFE0F?\u20E3/g;
const DASHES = /[\u2010-\u2015\u2212\uFE58\uFE63\uFF0D]/g;
const QUOTES = /[\u2018\u2019\u201A\u201B\u2032]/g;
const HEADING = /^[ \t]*(?:-#|#{1,3})[ \t]+/gm;
const BLOCKQUOTE = /^[ \t]*>{1,3}[ \t]?/gm;
// A pair written with a hyphen (BTC-USDT, ETH-PERP) before hyphens between words become spaces.
const HYPHEN_PAIR = /\b([A-Za-z][A-Za-z0-9]*)-(USDT|USDC|BUSD|FDUSD|TUSD|USD|PERP)\b/gi;
const HYPHEN_WORDS = /([A-Za-z])-(?=[A-Za-z])/g;
// Invisible characters (every default-ignorable code point: zero-width spaces and joiners, variation
// selectors, bidi controls, soft hyphen, tags, Hangul fillers; and the blank braille cell) join what
// they sit in: "X\u200BAI" and "X\uFE0FAI" are XAI, never the coin AI.
const INVISIBLE = /[\p{Default_Ignorable_Code_Point}\u2800]/gu;
// "0.0₄123": four zeros after the point (a notation for tiny prices); NFKC would read 0.04123.
const SUBSCRIPT_ZEROS = /0[.,]0([\u2080-\u2089]+)(\d+)/g;
const SUBSCRIPT_DIGITS = '\u2080\u2081\u2082\u2083\u2084\u2085\u2086\u2087\u2088\u2089';
// "Don't enter at market, wait for 2.8": a warning names an entry it does not want; the clause goes.
const NEGATED = /\b(?:don'?t|do\s+not|never|avoid)\s+(?:enter|entering|entry|buy|buying|sell|selling|long|short)\b[^\n]*/gi;
// "Stop buy 152", "buy stop": an order that waits for the price to break through.
const STOP_ENTRY = /\b(?:stop[- ]?(?:buy|sell)|(?:buy|sell)[- ]?stop)\b/gi;
// "SOL /USDT", "ETH  / BTC": a pair with spaces around its slash (only before a quote currency).
const SPACED_PAIR = /\b([A-Za-z0-9]{2,20})[ \t]*\/[ \t]*(USDT|USDC|BUSD|FDUSD|TUSD|USD|BTC|ETH|BNB|PERP)\b/gi;

// Labels glued to what precedes them, as copied exports and one-line posts have them
// ("SHORTLeverage: 10x", "0.03416TARGETS:", "0.8700$Target"): a line break goes before the label.
const GLUED_LABEL =
  /(?<=[A-Za-z0-9)%$.])(?=(?:Leverage|LEVERAGE|Entry|ENTRY|Entries|ENTRIES|Targets?|TARGETS?|Take-Profit|TAKE-PROFIT|Stop|STOP|Stoploss|StopLoss|STOPLOSS|SL[ \t]*:|TP\d|Trailing|Exchange|Pair:|Buy Zone|Sell:)(?![a-z]))/g;
// "BTCUSDTLONG", "Bnb/USDTShort": a side glued to the quote.
const GLUED_SIDE = /(USDT|USDC|BUSD|PERP)(Long|Short|LONG|SHORT|Buy|Sell|BUY|SELL)(?![a-z])/g;
// "Cross20X", "Isolated 10X_100X": a margin mode or a second bound glued to the leverage.
const GLUED_MARGIN = /\b(Cross|Isolated)(\d{1,3}[xX])\b/gi;
const UNDERSCORED_LEVERAGE = /(\d)([xX])_(\d)/g;

/**
 * Words of Russian channels that carry a role (the rest of a non-Latin text is decoration): entry,
 * zone, stop, targets, take-profit lines, sides, market entry, leverage; timeframes "15М", "4Ч", "1Д".
 */
const CYRILLIC: ReadonlyArray<readonly [RegExp, string]> = [
  [/диапазон\s+входа|вход(?:а)?/giu, ' Entry '],
  [/закрыть\s+ордер\s+по\s+цене|тейк(?:-?профит)?/giu, ' TP '],
  [/стоп(?:[- ]?лосс)?/giu, ' Stop '],
  [/цели/giu, ' Targets '],
  [/лонг/giu, ' LONG '],
  [/шорт/giu, ' SHORT '],
  [/по\s+рынку/giu, ' market '],
  [/в\s+зоне/giu, ' zone '],
  [/(?:кредитным\s+)?плечом|плечо/giu, ' leverage '],
  [/усреднение/giu, ' DCA '],
  [/(\d)\s?х(?![а-яё])/giu, '$1x'],
  [/(\d)\s?[мm](?![а-яё])/giu, '$1m'],
  [/(\d)\s?ч(?![а-яё])/giu, '$1h'],
  [/(\d)\s?д(?![а-яё])/giu, '$1d'],
];

const translateCyrillic = (text: string): string =>
  /[а-яё]/iu.test(text) ? CYRILLIC.reduce((out, [pattern, word]) => out.replace(pattern, word), text) : text;

export function normaliseText(text: string): string {
  return (
    translateCyrillic(text.replace(INVISIBLE, ''))
      .replace(SUBSCRIPT_ZEROS, (_all, zeros: string, digits: string) => {
        const count = Number([...zeros].map((z) => SUBSCRIPT_DIGITS.indexOf(z)).join(''));
        return count > 0 && count < 20 ? `0.${'0'.repeat(count)}${digits}` : `${_all}`;
      })
      .replace(NEGATED, ' ')
      .replace(STOP_ENTRY, ' Entry breakout ')
      .replace(KEYCAP, '$1) ')
      .replace(UNDERSCORED_LEVERAGE, '$1$2 $3')
      .replace(GLUED_MARGIN, '$1 $2')
      .replace(GLUED_LABEL, '\n')
      .replace(GLUED_SIDE, '$1 $2')
      .normalize('NFKC')
      .replace(/\r\n?/g, '\n')
      .replace(CODE_FENCE, '\n')
      .replace(MASKED_LINK, '$1')
      .replace(URL, ' ')
      .replace(DISCORD_TAGS, ' ')
      .replace(HANDLE, ' ')
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
