import type { APIEmbed } from 'discord.js';
import type { CopyLinkView } from '../../services/copy';
import { COLORS } from './format';

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
      ].join('\n'),
    })),
  };
}
