import type { APIEmbed } from 'discord.js';
import type { PanicTarget } from '../../services/panic';
import type { PanicResult } from '../../trading/positionSync';
import { COLORS, escapeMarkdown, truncate } from './format';

/** The confirmation prompt: what a panic would cancel and close. Pure. */
export function renderPanicPrompt(targets: readonly PanicTarget[]): APIEmbed {
  const lines = targets.map(
    (t) => `**${escapeMarkdown(t.name)}**: ${t.openOrders} open order${t.openOrders === 1 ? '' : 's'}, ${t.openPositions} open position${t.openPositions === 1 ? '' : 's'}`,
  );
  return {
    title: '🚨 Panic: cancel every bot order and close every bot position?',
    description: truncate(
      [
        ...lines,
        '',
        'Positions are closed at market (reduce-only on futures). Only what the bot opened on your own accounts is touched; new signals still trade unless you disable the account.',
      ].join('\n'),
      4000,
    ),
    color: COLORS.red,
  };
}

/** The outcome, per account. Pure. */
export function renderPanicResult(results: readonly PanicResult[]): APIEmbed {
  const problems = results.some((r) => r.problems.length > 0);
  const lines = results.map((r) => {
    const head = `**${escapeMarkdown(r.accountName)}**: ${r.cancelledOrders} order${r.cancelledOrders === 1 ? '' : 's'} cancelled, ${r.closedPositions} position${r.closedPositions === 1 ? '' : 's'} closed`;
    return r.problems.length === 0 ? head : `${head}\n⚠️ ${r.problems.map(escapeMarkdown).join('; ')}`;
  });
  return {
    title: problems ? '⚠️ Panic done, with problems' : '✅ Panic done',
    description: truncate(lines.join('\n') || 'You have no accounts in this server.', 4000),
    color: problems ? COLORS.orange : COLORS.green,
  };
}
