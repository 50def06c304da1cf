/**
 * Draws Discord embeds as Discord's dark theme shows them, to PNG (test support and the README's
 * pictures, `npm run docs:render`): the colour bar, title, description with its Markdown (bold,
 * links, mentions), inline fields three to a row, footer. Close enough to read a layout by eye; not
 * Discord's renderer.
 */
import { createCanvas, type SKRSContext2D } from '@napi-rs/canvas';
import type { APIEmbed } from 'discord.js';
import { FONT_FAMILY as FONT, registerBundledFont } from '../../src/charts/fonts';

const COLOURS = { page: '#313338', card: '#2b2d31', text: '#dbdee1', muted: '#949ba4', link: '#00a8fc', mention: '#c9cdfb', mentionBg: '#3c4270' };
const WIDTH = 560;
const PAD = 16;
const LINE = 20;

interface Run {
  text: string;
  bold: boolean;
  colour: string;
}

/**
 * The emoji the bot uses, drawn with a symbol the bundled font has and the emoji's colour (no colour
 * emoji font is bundled): close enough to read a picture by.
 */
const EMOJI: Record<string, [string, string]> = {
  '🟢': ['●', '#3ba55c'],
  '🔵': ['●', '#5865f2'],
  '🟣': ['●', '#9b84ec'],
  '⚪': ['○', '#dbdee1'],
  '🟠': ['●', '#faa61a'],
  '🔴': ['●', '#ed4245'],
  '⚫': ['●', '#1e1f22'],
  '📈': ['▲', '#3ba55c'],
  '📉': ['▼', '#ed4245'],
  '🎯': ['◎', '#ed4245'],
  '🛡️': ['⛨', '#00a8fc'],
  '🏁': ['⚑', '#dbdee1'],
  '✋': ['✋', '#faa61a'],
  '⚠️': ['⚠', '#faa61a'],
  '⏸️': ['‖', '#faa61a'],
  '⛔': ['⛔', '#ed4245'],
  '💵': ['$', '#3ba55c'],
  '🧪': ['⚗', '#00a8fc'],
  '📝': ['✎', '#f0b232'],
  '📊': ['▤', '#5865f2'],
  '⏳': ['⧗', '#f0b232'],
};
const EMOJI_PATTERN = new RegExp(`(${Object.keys(EMOJI).map((e) => e.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})`, 'u');

function withEmoji(runs: Run[]): Run[] {
  return runs.flatMap((run) =>
    run.text
      .split(EMOJI_PATTERN)
      .filter((part) => part !== '')
      .map((part) => {
        const emoji = EMOJI[part];
        return emoji ? { ...run, text: emoji[0], colour: emoji[1] } : { ...run, text: part };
      }),
  );
}

/** Markdown as Discord reads it here: **bold**, [text](url), <@id> (shown as @name), escapes removed. */
function runsOf(text: string, names: ReadonlyMap<string, string>, base: string): Run[] {
  const runs: Run[] = [];
  const pattern = /\*\*(.+?)\*\*|\[(.+?)\]\((.+?)\)|<@(\d+)>/g;
  let last = 0;
  const plain = (value: string) => value.replace(/\\([*_~`|])/g, '$1');
  for (const match of text.matchAll(pattern)) {
    if (match.index > last) runs.push({ text: plain(text.slice(last, match.index)), bold: false, colour: base });
    if (match[1] !== undefined) runs.push({ text: plain(match[1]), bold: true, colour: base });
    else if (match[2] !== undefined) runs.push({ text: plain(match[2]), bold: false, colour: COLOURS.link });
    else runs.push({ text: `@${names.get(match[4]!) ?? 'member'}`, bold: false, colour: COLOURS.mention });
    last = match.index + match[0].length;
  }
  if (last < text.length) runs.push({ text: plain(text.slice(last)), bold: false, colour: base });
  return withEmoji(runs);
}

/** Lays runs out word by word within `width`; draws them when `draw` (else only measures). Answers the height. */
function flow(ctx: SKRSContext2D, runs: Run[], x: number, y: number, width: number, size: number, draw: boolean): number {
  let cx = x;
  let cy = y;
  const lineHeight = Math.round(size * 1.45);
  for (const run of runs) {
    ctx.font = `${run.bold ? 'bold ' : ''}${size}px "${FONT}"`;
    for (const [i, piece] of run.text.split('\n').entries()) {
      if (i > 0) {
        cx = x;
        cy += lineHeight;
      }
      for (const word of piece.split(/(?<= )/)) {
        const w = ctx.measureText(word).width;
        if (cx + w > x + width && cx > x) {
          cx = x;
          cy += lineHeight;
        }
        if (draw) {
          ctx.fillStyle = run.colour;
          ctx.fillText(word, cx, cy);
        }
        cx += w;
      }
    }
  }
  return cy - y + lineHeight;
}

/** One embed card; answers its height. */
function card(ctx: SKRSContext2D, embed: APIEmbed, y: number, names: ReadonlyMap<string, string>, draw: boolean): number {
  const x = PAD + 4 + 12;
  const inner = WIDTH - x - PAD - 12;
  let cy = y + 12;
  if (embed.title) cy += flow(ctx, runsOf(embed.title, names, COLOURS.text).map((r) => ({ ...r, bold: true })), x, cy + 14, inner, 15, draw) + 2;
  if (embed.description) cy += flow(ctx, runsOf(embed.description, names, COLOURS.text), x, cy + 12, inner, 13, draw) + 4;
  const fields = embed.fields ?? [];
  let row: typeof fields = [];
  const flushRow = () => {
    if (row.length === 0) return;
    const colWidth = inner / 3;
    let rowHeight = 0;
    row.forEach((field, i) => {
      const fx = x + (field.inline ? i * colWidth : 0);
      const width = field.inline ? colWidth - 8 : inner;
      const nameHeight = flow(ctx, runsOf(field.name, names, COLOURS.text).map((r) => ({ ...r, bold: true })), fx, cy + 12, width, 12, draw);
      const valueHeight = flow(ctx, runsOf(field.value, names, COLOURS.text), fx, cy + 12 + nameHeight, width, 13, draw);
      rowHeight = Math.max(rowHeight, nameHeight + valueHeight);
    });
    cy += rowHeight + 6;
    row = [];
  };
  for (const field of fields) {
    if (!field.inline || row.length === 3 || (row.length > 0 && !row[0]!.inline)) flushRow();
    row.push(field);
  }
  flushRow();
  if (embed.image) {
    cy += 6;
    if (draw) {
      ctx.fillStyle = COLOURS.muted;
      ctx.font = `12px "${FONT}"`;
      ctx.fillText(`[image: ${embed.image.url}]`, x, cy + 12);
    }
    cy += LINE;
  }
  if (embed.footer?.text) cy += flow(ctx, runsOf(embed.footer.text, names, COLOURS.muted), x, cy + 12, inner, 11, draw);
  const height = cy - y + 10;
  if (draw) {
    ctx.fillStyle = `#${(embed.color ?? 0x1e1f22).toString(16).padStart(6, '0')}`;
    ctx.fillRect(PAD, y, 4, height);
  }
  return height;
}

/** The embeds of one message as a PNG; `names` shows mentions as names. */
export function renderEmbedsPng(embeds: readonly APIEmbed[], names: ReadonlyMap<string, string> = new Map()): Buffer {
  registerBundledFont();
  const measure = createCanvas(WIDTH, 10).getContext('2d');
  const heights = embeds.map((embed) => card(measure, embed, 0, names, false));
  const height = heights.reduce((sum, h) => sum + h + 8, PAD * 2 - 8);
  const canvas = createCanvas(WIDTH, height);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = COLOURS.page;
  ctx.fillRect(0, 0, WIDTH, height);
  let y = PAD;
  embeds.forEach((embed, i) => {
    ctx.fillStyle = COLOURS.card;
    ctx.fillRect(PAD, y, WIDTH - PAD * 2, heights[i]!);
    card(ctx, embed, y, names, true);
    y += heights[i]! + 8;
  });
  return canvas.toBuffer('image/png');
}
