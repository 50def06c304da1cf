/**
 * Issue #15: no input up to Discord's 4,000 characters may take the parser more than 20 ms.
 * Adversarial inputs (long runs of what the regular expressions and the readers scan: brackets,
 * parentheses, digits with separators, hashes, slashes, labels, emoji, invisible characters) and
 * the real-message corpus cut and repeated to 4,000 characters, each parsed many times after a
 * warm-up; the slowest single parse of each is reported.
 *
 *   npm run -s bench:parser
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { MAX_MESSAGE_LENGTH, parseSignalMessage } from '../src/signals/parseSignalMessage';

const LIMIT = MAX_MESSAGE_LENGTH;
const fill = (unit: string): string => unit.repeat(Math.ceil(LIMIT / unit.length)).slice(0, LIMIT);

const corpus = readFileSync(new URL('../test/fixtures/signals/corpus.jsonl', import.meta.url), 'utf8')
  .split('\n')
  .filter((line) => line.trim() !== '')
  .map((line) => (JSON.parse(line) as { text: string }).text);

const inputs: Record<string, string> = {
  '[ x4000': fill('['),
  '[a]( x': fill('[a]('),
  '( x4000': fill('('),
  'digits': fill('1'),
  '1,1,1': fill('1,'),
  '1.1.1': fill('1.'),
  '1-1%': fill('1-'),
  '# x4000': fill('#'),
  '#1 #1': fill('#1'),
  'a/ a/': fill('a/'),
  'A/USDT': fill('A/USDT '),
  'TP1.1': fill('TP1.'),
  'TP 1 ': fill('TP 1 '),
  'Entry x': fill('Entry '),
  'long long': fill('long '),
  'short term': fill('Short Term '),
  'x10 ': fill('x10 '),
  '5-10x': fill('5-10x '),
  'newlines': fill('\n'),
  'blank lines + numbers': fill('\n\n1'),
  'emoji': fill('🚀'),
  'keycaps': fill('1️⃣ '),
  'zero-width': fill('A\u200B'),
  'cyrillic': fill('Вход '),
  'glued labels': fill('1Entry'),
  'code fences': fill('```'),
  'compatibility forms (㏂)': fill('\u33C2'),
  'parenthesised numbers (⒇)': fill('\u2487'),
  'subscript zeros': fill('0.0\u2084123 '),
  'dates and scores': fill('12/05 7/10 '),
  'results words': fill('TP1 hit \u2705 '),
  'mentions': fill('<@1'),
  'corpus joined': fill(corpus.join('\n')),
  'longest corpus message': fill(corpus.reduce((a, b) => (b.length > a.length ? b : a), '')),
  'targets x330': `XRP/USDT LONG\nEntry 1.00\nSL 0.95\nTP ${Array.from({ length: 330 }, (_, i) => (1.01 + i * 0.01).toFixed(2)).join(' ')}`.slice(0, LIMIT),
};

const RUNS = 40;
const results: Array<{ input: string; length: number; p50Ms: number; maxMs: number }> = [];
for (const [name, text] of Object.entries(inputs)) {
  for (let i = 0; i < 5; i++) parseSignalMessage(text); // warm-up (JIT)
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const started = performance.now();
    parseSignalMessage(text);
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  results.push({ input: name, length: text.length, p50Ms: times[Math.floor(RUNS / 2)] ?? 0, maxMs: times[RUNS - 1] ?? 0 });
}

let corpusMax = 0;
for (const text of corpus) {
  const started = performance.now();
  parseSignalMessage(text);
  corpusMax = Math.max(corpusMax, performance.now() - started);
}

const round = (ms: number): number => Math.round(ms * 1000) / 1000;
for (const r of [...results].sort((a, b) => b.maxMs - a.maxMs)) {
  console.log(`${r.input.padEnd(24)} ${String(r.length).padStart(5)} chars  p50 ${round(r.p50Ms).toFixed(3)} ms  max ${round(r.maxMs).toFixed(3)} ms`);
}
const worst = results.reduce((a, b) => (b.maxMs > a.maxMs ? b : a));
console.log(`corpus: ${corpus.length} messages, slowest ${round(corpusMax)} ms`);
console.log(`slowest input: ${worst.input} (${round(worst.maxMs)} ms; goal ≤ 20 ms)`);
console.log(JSON.stringify({ bench: 'parser', inputs: results.length, maxChars: LIMIT, worstInput: worst.input, worstMs: round(worst.maxMs), corpusMessages: corpus.length, corpusWorstMs: round(corpusMax), goalMs: 20 }));
