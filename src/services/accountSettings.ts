/**
 * What a member may set on an account, and the plain answer to a value out of range: the numeric
 * ranges, symbol lists and names, read from /account settings into a repository patch (pure).
 */
import type { AccountSettingsPatch } from '../db/repositories/accounts';
import { SIZING_MODES, type SizingMode } from '../domain/account';
import { invalid } from './errors';
import type { AccountSettingsView } from './accounts';

/** Allowed ranges of every numeric setting; the answer to an out-of-range value names them. */
export const SETTING_RANGES = {
  maxPositionUsd: { min: 10, max: 100_000, label: 'Max position', unit: ' USD' },
  leverage: { min: 1, max: 125, label: 'Leverage', unit: 'x', integer: true },
  maxDailyTrades: { min: 1, max: 50, label: 'Max daily trades', unit: '', integer: true },
  riskPerTradePct: { min: 0.1, max: 10, label: 'Risk per trade', unit: ' %' },
  maxDailyLossPct: { min: 1, max: 20, label: 'Max daily loss', unit: ' %' },
} as const;

/** Sizing value ranges per sizing mode (fixed: USD of margin; percent: % of balance; others: fallback USD). */
export const SIZING_VALUE_RANGES: Record<SizingMode, { min: number; max: number; unit: string }> = {
  fixed: { min: 1, max: 100_000, unit: ' USD' },
  percent: { min: 0.1, max: 100, unit: ' %' },
  risk: { min: 1, max: 100_000, unit: ' USD (fallback amount)' },
  kelly: { min: 1, max: 100_000, unit: ' USD (fallback amount)' },
};

const NAME = /^[\p{L}\p{N}][\p{L}\p{N} ._-]{0,31}$/u;
const BASE_ASSET = /^[A-Z0-9]{1,20}$/;
const MAX_SYMBOLS = 50;
/** What `/account settings` may change; every field optional. Lists: comma-separated base assets. */
export interface SettingsInput {
  sizingMode?: string;
  sizingValue?: number;
  maxPositionUsd?: number;
  leverage?: number;
  maxDailyTrades?: number;
  riskPerTradePct?: number;
  maxDailyLossPct?: number;
  stopOnLoss?: boolean;
  symbolAllow?: string | readonly string[];
  symbolBlock?: string | readonly string[];
  shareAmounts?: boolean;
  /** Take the built-in strategy's signals on this account (off by default). */
  strategyOptIn?: boolean;
}

export const oneOf = <T extends string>(values: readonly T[], value: string, what: string): T => {
  const found = values.find((candidate) => candidate === value.trim().toLowerCase());
  if (!found) throw invalid(`${what} must be one of: ${values.join(', ')}.`);
  return found;
};

const fmt = (value: number): string => String(Number(value.toFixed(4)));

function inRange(
  value: number,
  range: { min: number; max: number; label: string; unit: string; integer?: boolean },
): number {
  if (
    !Number.isFinite(value) ||
    value < range.min ||
    value > range.max ||
    (range.integer === true && !Number.isInteger(value))
  ) {
    throw invalid(
      `${range.label} must be ${range.integer ? 'a whole number ' : ''}between ${fmt(range.min)} and ${fmt(range.max)}${range.unit} (you gave ${Number.isFinite(value) ? fmt(value) : 'no number'}).`,
    );
  }
  return value;
}

/** "btc, eth/usdt, SOL" → ["BTC", "ETH", "SOL"]; "none" or "-" clears the list. */
export function parseSymbolList(input: string | readonly string[], label: string): string[] {
  const parts = (typeof input === 'string' ? input.split(/[\s,;]+/) : [...input])
    .map((part) => part.trim())
    .filter(Boolean);
  if (parts.length === 1 && /^(none|-|clear)$/i.test(parts[0] ?? '')) return [];
  const assets = [
    ...new Set(parts.map((part) => (part.toUpperCase().split('/')[0] ?? '').replace(/^[#$]/, ''))),
  ];
  const bad = assets.filter((asset) => !BASE_ASSET.test(asset));
  if (bad.length > 0)
    throw invalid(`${label}: "${bad[0]}" is not a coin (use names like BTC, ETH; "none" clears the list).`);
  if (assets.length > MAX_SYMBOLS)
    throw invalid(`${label} holds at most ${MAX_SYMBOLS} coins (you gave ${assets.length}).`);
  return assets;
}

/** Validates a settings change against the ranges, naming the allowed range of anything out of it. */
export function validateSettings(input: SettingsInput, current: AccountSettingsView): AccountSettingsPatch {
  const patch: AccountSettingsPatch = {};
  if (input.sizingMode !== undefined) patch.sizingMode = oneOf(SIZING_MODES, input.sizingMode, 'Sizing mode');
  if (input.sizingValue !== undefined) {
    const mode = patch.sizingMode ?? current.sizingMode;
    const range = SIZING_VALUE_RANGES[mode];
    patch.sizingValue = inRange(input.sizingValue, { ...range, label: `Sizing value for ${mode} sizing` });
  } else if (patch.sizingMode !== undefined && patch.sizingMode !== current.sizingMode) {
    const range = SIZING_VALUE_RANGES[patch.sizingMode];
    if (current.sizingValue < range.min || current.sizingValue > range.max) {
      throw invalid(
        `Give a sizing value with ${patch.sizingMode} sizing: between ${fmt(range.min)} and ${fmt(range.max)}${range.unit}.`,
      );
    }
  }
  if (input.maxPositionUsd !== undefined)
    patch.maxPositionUsd = inRange(input.maxPositionUsd, SETTING_RANGES.maxPositionUsd);
  if (input.leverage !== undefined) patch.leverage = inRange(input.leverage, SETTING_RANGES.leverage);
  if (input.maxDailyTrades !== undefined)
    patch.maxDailyTrades = inRange(input.maxDailyTrades, SETTING_RANGES.maxDailyTrades);
  if (input.riskPerTradePct !== undefined)
    patch.riskPerTradePct = inRange(input.riskPerTradePct, SETTING_RANGES.riskPerTradePct);
  if (input.maxDailyLossPct !== undefined)
    patch.maxDailyLossPct = inRange(input.maxDailyLossPct, SETTING_RANGES.maxDailyLossPct);
  if (input.stopOnLoss !== undefined) patch.stopOnLoss = input.stopOnLoss;
  if (input.shareAmounts !== undefined) patch.shareAmounts = input.shareAmounts;
  if (input.strategyOptIn !== undefined) patch.strategyOptIn = input.strategyOptIn;
  if (input.symbolAllow !== undefined) patch.symbolAllow = parseSymbolList(input.symbolAllow, 'Allow list');
  if (input.symbolBlock !== undefined) patch.symbolBlock = parseSymbolList(input.symbolBlock, 'Block list');
  return patch;
}

export function validateAccountName(name: string): string {
  const trimmed = name.trim();
  if (!NAME.test(trimmed)) {
    throw invalid(
      'Account name: 1 to 32 letters, digits, spaces, dots, dashes or underscores, starting with a letter or digit.',
    );
  }
  return trimmed;
}

