import type { APIEmbed } from 'discord.js';
import type { CopyConfirmationView, CopyLinkView } from '../../services/copy';
import { describeReason, isReasonCode } from '../../domain/reasons';
import { COLORS, formatPrice } from './format';

const reasonText = (reason: string): string =>
  reason === 'filtered' ? 'your filters or answer' : isReasonCode(reason) ? describeReason(reason) : reason;

const MODE_TEXT = (view: CopyLinkView): string =>
  view.mode === 'mirror'
    ? 'mirror (same quantity)'
    : view.mode === 'multiplier'
      ? `× ${view.value}`
      : view.mode === 'fixed'
        ? `fixed ${view.value}`
        : 'proportional to equity';

/** /copy follow and /copy list: one field per follow link (PURE). */
export function renderCopyLinks(title: string, views: readonly CopyLinkView[]): APIEmbed {
  return {
    title,
    ...(views.length === 0 ? { description: 'You follow no master in this server. Start with /copy follow.' } : {}),
    color: COLORS.blue,
    fields: views.slice(0, 25).map((view) => ({
      name: `${view.followerName} ← ${view.masterName}`.slice(0, 256),
      value: [
        `${MODE_TEXT(view)}${view.dryRun ? ' · dry-run (nothing is sent)' : ''}${view.active ? '' : ' · stopped'}`,
        `Copied ${view.copied} · skipped ${view.skipped} · failed ${view.failed}${view.successRate === null ? '' : ` · success ${Math.round(view.successRate * 100)} %`}`,
        ...(view.skipReasons.length > 0
          ? [`Skipped: ${view.skipReasons.slice(0, 4).map((r) => `${reasonText(r.reason)} ×${r.count}`).join(', ')}`]
          : []),
      ].join('\n').slice(0, 1024),
    })),
  };
}

/** The DM asking a follower to confirm one copy (PURE). */
export function renderCopyConfirmation(view: CopyConfirmationView): APIEmbed {
  const s = view.signal;
  const what =
    view.action === 'open' || view.action === 'add'
      ? `${view.action === 'open' ? 'Open' : 'Add to'} ${s.side} ${s.symbol}: ${view.quantity ?? '?'} at market`
      : view.action === 'close'
        ? `Close your ${s.side} ${s.symbol}`
        : `Reduce your ${s.side} ${s.symbol} by ${Math.round((view.reduceFraction ?? 0) * 100)} %`;
  return {
    title: `Copy the master's trade on ${view.accountName}?`.slice(0, 256),
    description: [what, `The master filled at ${formatPrice(view.price)}.`, `Answer before <t:${Math.floor(view.expiresAt / 1000)}:T>; no answer means skip.`].join('\n'),
    color: COLORS.gold,
  };
}
