import type { GuildsRepository } from '../db/repositories/guilds';
import { describeReason } from '../domain/reasons';
import type { SignalRejectionReason } from '../domain/signal';
import type { Logger } from '../logger';
import { parseSignalMessage } from '../signals';
import type { SignalIntake } from '../trading/signalIntake';
import type { QueuedSignalView } from './signals';

export interface ChannelMessageInput {
  guildId: string;
  channelId: string;
  messageId: string;
  authorId: string;
  authorIsBot: boolean;
  memberRoleIds: readonly string[];
  content: string;
}

/**
 * What the listener should do with a message: nothing (not the signal channel, not a caller, or
 * chatter), tell the caller why the signal cannot be traded, or confirm it was queued.
 */
export type ChannelMessageOutcome =
  | { kind: 'not-for-us' }
  | { kind: 'ignored' }
  | { kind: 'invalid'; reason: SignalRejectionReason; text: string }
  | { kind: 'queued'; view: QueuedSignalView };

export function createChannelSignalService(deps: { intake: SignalIntake; guilds: GuildsRepository; log: Logger }) {
  const { intake, guilds, log } = deps;
  return {
    async handleMessage(input: ChannelMessageInput): Promise<ChannelMessageOutcome> {
      if (input.authorIsBot) return { kind: 'not-for-us' };
      const settings = await guilds.get(input.guildId);
      if (!settings?.signalChannelId || settings.signalChannelId !== input.channelId) return { kind: 'not-for-us' };
      // Only callers' messages are ever parsed; with no caller role set nobody's are.
      if (!settings.callerRoleId || !input.memberRoleIds.includes(settings.callerRoleId)) return { kind: 'not-for-us' };

      const parsed = parseSignalMessage(input.content);
      if (!parsed.ok) {
        if (parsed.kind === 'ignored') return { kind: 'ignored' };
        return { kind: 'invalid', reason: parsed.reason, text: describeReason(parsed.reason) };
      }
      const result = await intake.submit({
        guildId: input.guildId,
        source: 'channel',
        sourceRef: input.messageId,
        authorId: input.authorId,
        channelId: input.channelId,
        signal: parsed.signal,
        guildPaused: settings.paused,
      });
      if (result.kind === 'rejected') return { kind: 'invalid', reason: result.reason, text: describeReason(result.reason) };
      log.info({ signalId: result.signalId, guildId: input.guildId, accounts: result.accounts }, 'signal queued from the signal channel');
      return {
        kind: 'queued',
        view: {
          signalId: result.signalId,
          fresh: result.fresh,
          accounts: result.accounts,
          members: result.members,
          paused: result.paused,
          signal: result.signal,
        },
      };
    },
  };
}

export type ChannelSignalService = ReturnType<typeof createChannelSignalService>;
