import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { expiryReminderDue } from '../../../src/domain/keyExpiry';

const DAY = 86_400_000;
const EXPIRES = Date.UTC(2026, 3, 5, 8, 0, 0);

describe('key expiry reminders', () => {
  it('nothing before the week, the week reminder inside it, the day reminder inside the last day', () => {
    expect(expiryReminderDue(EXPIRES, 0, EXPIRES - 8 * DAY)).toBeNull();
    expect(expiryReminderDue(EXPIRES, 0, EXPIRES - 7 * DAY)).toBe(1);
    expect(expiryReminderDue(EXPIRES, 1, EXPIRES - 3 * DAY)).toBeNull();
    expect(expiryReminderDue(EXPIRES, 1, EXPIRES - DAY)).toBe(2);
    expect(expiryReminderDue(EXPIRES, 2, EXPIRES - 1_000)).toBeNull();
  });

  it('a first look inside the last day (or after the date) sends only the last reminder', () => {
    expect(expiryReminderDue(EXPIRES, 0, EXPIRES - DAY / 2)).toBe(2);
    expect(expiryReminderDue(EXPIRES, 0, EXPIRES + DAY)).toBe(2);
  });

  it('whenever it is asked, a reminder is due at most once per stage and never goes back', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -10 * DAY, max: 2 * DAY }), { minLength: 1, maxLength: 30 }), (offsets) => {
        let sent = 0;
        const stages: number[] = [];
        for (const offset of [...offsets].sort((a, b) => a - b)) {
          const due = expiryReminderDue(EXPIRES, sent, EXPIRES + offset);
          if (due !== null) {
            stages.push(due);
            sent = due;
          }
        }
        expect(new Set(stages).size).toBe(stages.length);
        expect([...stages].sort()).toEqual(stages);
        expect(stages.every((stage) => stage === 1 || stage === 2)).toBe(true);
      }),
    );
  });
});
