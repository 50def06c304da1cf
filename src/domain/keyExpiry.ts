/**
 * Reminders before an exchange ends a key's trading permission (Binance and Bybit do so for keys not
 * restricted to trusted IPs): one a week before, one a day before. Stages count what was sent for the
 * current date, so each reminder goes once; a first look inside the last day sends only the last one.
 */
const DAY_MS = 86_400_000;

export const EXPIRY_REMINDERS = [
  { stage: 1, beforeMs: 7 * DAY_MS },
  { stage: 2, beforeMs: DAY_MS },
] as const;

export type ExpiryStage = (typeof EXPIRY_REMINDERS)[number]['stage'];

/** The reminder due now (the latest window reached that was not sent yet), or null. */
export function expiryReminderDue(expiresAt: number, sent: number, now: number): ExpiryStage | null {
  let due: ExpiryStage | null = null;
  for (const reminder of EXPIRY_REMINDERS) if (now >= expiresAt - reminder.beforeMs) due = reminder.stage;
  return due !== null && due > sent ? due : null;
}

/** How far ahead to look for keys that may need a reminder. */
export const EXPIRY_LOOKAHEAD_MS = EXPIRY_REMINDERS[0].beforeMs;
