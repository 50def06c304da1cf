import type { APIEmbed } from 'discord.js';
import type { ComponentCheck } from '../../domain/reconcile';
import type { ReconcileReport } from '../../services/reconcile';
import { COLORS, escapeMarkdown, formatDate, formatMoney, formatQuantity, truncate } from './format';

const line = (label: string, c: ComponentCheck, money: (v: number) => string) =>
  `${label}: bot ${money(c.bot)} · exchange ${money(c.exchange)}${c.difference === 0 ? '' : ` (**Δ ${money(c.difference)}**)`}`;

/** `/pnl check`: the bot's book of each latest closed position against the exchange's income records. */
export function renderReconciliation(report: ReconcileReport): APIEmbed {
  const name = escapeMarkdown(report.accountName);
  if (report.positions.length === 0) {
    return { title: `Check against the exchange — ${name}`, description: 'No closed position to check yet.', color: COLORS.grey };
  }
  const allMatch = report.positions.every((p) => p.check.matches);
  const usdt = (v: number) => formatMoney(v, 'USDT', true);
  return {
    title: `Check against the exchange — ${name}`,
    description: allMatch
      ? `✅ The last ${report.positions.length} closed position(s) match the exchange's records.`
      : '⚠️ Some figures differ from the exchange\'s records (Δ = exchange − bot).',
    color: allMatch ? COLORS.green : COLORS.red,
    fields: report.positions.map((p) => ({
      name: truncate(`${p.check.matches ? '✅' : '⚠️'} ${p.symbol} ${p.side} · closed ${formatDate(p.closedAt)}`, 256),
      value: truncate(
        [
          p.check.total ? line('Realised', p.check.total, usdt) : 'Realised: a fee currency has no fill-time price in the book, so the totals are not compared',
          line('Before fees', p.check.gross, usdt),
          ...p.check.fees.map((f) => line(`Fees in ${f.currency}`, f, (v) => `${formatQuantity(v)} ${f.currency}`)),
          line('Funding', p.check.funding, usdt),
          ...(p.overlapped ? ['Another position on this symbol overlapped it: the exchange\'s figures include both.'] : []),
        ].join('\n'),
        1024,
      ),
    })),
    footer: { text: 'Exchange: futures income history (realised PnL, commission, funding) on the position\'s symbol during its life' },
  };
}
