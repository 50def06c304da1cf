import { describe, expect, it } from 'vitest';
import { modalLimitIssues } from './validation';

/** Discord's limits on a modal the bot shows (interaction callback type 9), as the simulator checks them. */
const modal = (input: Record<string, unknown>, label: Record<string, unknown> = {}) => ({
  title: 'Add a Binance account',
  custom_id: 'account-add',
  components: [{ type: 18, label: 'API key', ...label, component: { type: 4, custom_id: 'key', style: 1, ...input } }],
});
const codes = (data: Record<string, unknown>) => modalLimitIssues(data).map((issue) => [issue.path.join('.'), issue.code]);

describe('discord simulator: modal limits', () => {
  it('accepts a text input within every limit', () => {
    expect(codes(modal({ placeholder: 'p'.repeat(100), min_length: 0, max_length: 4000, value: 'abc' }, { description: 'd'.repeat(100) }))).toEqual([]);
  });

  it('refuses a placeholder or a label description over 100 characters', () => {
    expect(codes(modal({ placeholder: 'p'.repeat(101) }))).toEqual([['data.components.0.component.placeholder', 'BASE_TYPE_MAX_LENGTH']]);
    expect(codes(modal({}, { description: 'd'.repeat(101) }))).toEqual([['data.components.0.description', 'BASE_TYPE_MAX_LENGTH']]);
  });

  it('refuses lengths out of range, a minimum above the maximum, and a pre-filled value outside them', () => {
    expect(codes(modal({ min_length: 4001 }))).toEqual([['data.components.0.component.min_length', 'NUMBER_TYPE_MAX']]);
    expect(codes(modal({ max_length: 0 }))).toEqual([['data.components.0.component.max_length', 'NUMBER_TYPE_MAX']]);
    expect(codes(modal({ min_length: 10, max_length: 5 }))).toEqual([['data.components.0.component.min_length', 'COMPONENT_INVALID_LENGTH_RANGE']]);
    expect(codes(modal({ max_length: 3, value: 'abcd' }))).toEqual([['data.components.0.component.value', 'BASE_TYPE_BAD_LENGTH']]);
    expect(codes(modal({ min_length: 5, value: 'abcd' }))).toEqual([['data.components.0.component.value', 'BASE_TYPE_BAD_LENGTH']]);
  });
});
