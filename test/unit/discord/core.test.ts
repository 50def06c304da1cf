import { PermissionFlagsBits } from 'discord.js';
import { describe, expect, it } from 'vitest';
import { customId, parseCustomId } from '../../../src/discord/command';
import { errorText } from '../../../src/discord/errorReply';
import { loadCommands } from '../../../src/discord/loader';
import { applicationIdOf, commandBodies } from '../../../src/discord/register';
import { UserError } from '../../../src/services/errors';
import { parseSizing } from '../../../commands/account';

describe('command loader', () => {
  it('loads one command per file under commands/, named as the file', async () => {
    const commands = await loadCommands();
    expect([...commands.keys()]).toEqual(expect.arrayContaining(['account', 'help', 'orders', 'pnl', 'setup', 'signal']));
    const bodies = commandBodies(commands.values());
    for (const body of bodies) {
      expect(body.description.length).toBeGreaterThan(0);
      expect((body.options ?? []).length).toBeLessThanOrEqual(25);
    }
    const setup = bodies.find((b) => b.name === 'setup');
    expect(setup?.default_member_permissions).toBe(String(PermissionFlagsBits.ManageGuild));
    // Commands are guild-only: accounts belong to the server they were added in.
    for (const name of ['account', 'orders', 'pnl', 'setup', 'signal']) expect(bodies.find((b) => b.name === name)?.contexts).toEqual([0]);
    expect(commands.get('account')?.modal).toBeTypeOf('function');
    expect(commands.get('account')?.button).toBeTypeOf('function');
    expect(commands.get('account')?.autocomplete).toBeTypeOf('function');
  });
});

describe('custom ids and errors', () => {
  it('round-trips custom ids and refuses ids over 100 characters', () => {
    const id = customId('account', 'toggle', '7b1f3c3e-0000-4000-8000-000000000001', 2);
    expect(parseCustomId(id)).toEqual({ command: 'account', action: 'toggle', args: ['7b1f3c3e-0000-4000-8000-000000000001', '2'] });
    expect(() => customId('x', 'y', 'z'.repeat(100))).toThrow(/100/);
  });

  it('shows a member only our own messages; any other error is generic with a reference', () => {
    expect(errorText(new UserError('not-found', 'Account not found.'), '1')).toBe('Account not found.');
    const leaky = new Error('request failed: apiKey=AKIA123 secret=hunter2 token=MTIz.abc.def');
    const shown = errorText(leaky, '123456');
    expect(shown).toContain('reference 123456');
    expect(shown).not.toMatch(/AKIA|hunter2|MTIz/);
  });

  it('reads the application id from the token when it is not configured', () => {
    const id = '123456789012345678';
    expect(applicationIdOf(`${Buffer.from(id).toString('base64')}.abc.def`)).toBe(id);
    expect(applicationIdOf('whatever', '987654321098765432')).toBe('987654321098765432');
    expect(() => applicationIdOf('nonsense.abc.def')).toThrow(/DISCORD_APPLICATION_ID/);
  });

  it('reads the sizing field of the settings form', () => {
    expect(parseSizing('fixed 250')).toEqual({ sizingMode: 'fixed', sizingValue: 250 });
    expect(parseSizing('Risk 1,5')).toEqual({ sizingMode: 'risk', riskPerTradePct: 1.5 });
    expect(parseSizing('kelly')).toEqual({ sizingMode: 'kelly' });
    expect(parseSizing('')).toEqual({});
    expect(() => parseSizing('yolo 5')).toThrow(/fixed, percent, risk, kelly/);
    expect(() => parseSizing('fixed lots')).toThrow(/must be a number/);
  });
});
