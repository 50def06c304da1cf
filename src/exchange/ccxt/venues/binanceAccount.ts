/**
 * What a Binance key may do (GET /sapi/v1/account/apiRestrictions) and how its USDⓈ-M futures account
 * is set up (position mode, margin, asset mode, the key's futures permission, leverage brackets).
 */
import ccxt, { type binance, type Exchange } from 'ccxt';
import { describeReason } from '../../../domain/reasons';
import { ExchangeError } from '../../errors';
import type { AccountPreflight, KeyAudit, MarginMode, PositionMode } from '../../gateway';
import { rec } from '../orderState';
import { translateError } from '../translate';
import { auditFailure, positionModeProblems, refusedAudit, type VenueAccount, type VenueCalls } from './venue';

/** The instance's Binance class, whose implicit endpoints (sapi, fapi) the dialect calls. */
export function binanceApi(exchange: Exchange): binance {
  if (!(exchange instanceof ccxt.binance)) throw new ExchangeError('not-supported', `${exchange.id} is not a Binance instance`);
  return exchange;
}

export async function auditBinanceKey(account: VenueAccount, calls: VenueCalls): Promise<KeyAudit> {
  if (account.mode === 'demo') {
    return {
      verdict: 'ok',
      canWithdraw: false,
      canTransfer: false,
      ipRestricted: null,
      futuresEnabled: null,
      tradingExpiresAt: null,
      notes: ['Demo trading key: it moves no real funds, so its permissions are not audited.'],
    };
  }
  let raw: unknown;
  try {
    raw = await binanceApi(await calls.ready()).sapiGetAccountApiRestrictions({});
  } catch (error) {
    return auditFailure(account.exchangeId, error);
  }
  const r = rec(raw);
  const flag = (name: string): boolean | undefined => (typeof r[name] === 'boolean' ? (r[name] as boolean) : undefined);
  const withdrawals = flag('enableWithdrawals');
  const internal = flag('enableInternalTransfer');
  const universal = flag('permitsUniversalTransfer');
  const ip = flag('ipRestrict');
  const futures = flag('enableFutures');
  const spot = flag('enableSpotAndMarginTrading');
  if (withdrawals === undefined || internal === undefined || universal === undefined || ip === undefined) {
    return refusedAudit('Binance answered the permission check in a form we do not know, so we cannot prove the key cannot withdraw: it was not accepted.');
  }
  const notes: string[] = [];
  const canTransfer = internal || universal;
  if (withdrawals) notes.push('Withdrawals are enabled on this key. Create a key with "Enable Withdrawals" off.');
  if (internal) notes.push('Internal transfer is enabled on this key. Turn "Enable Internal Transfer" off.');
  if (universal) notes.push('Universal transfer is enabled on this key. Turn "Permits Universal Transfer" off.');
  const refused = withdrawals || canTransfer;
  if (!ip) notes.push("The key is not restricted to trusted IPs. Restricting it to this server's IP makes a leaked key useless.");
  // Binance takes trading away from unrestricted keys on this date (the owner is reminded before).
  const expiry = r['tradingAuthorityExpirationTime'];
  const tradingExpiresAt = typeof expiry === 'number' && Number.isFinite(expiry) && expiry > 0 ? expiry : null;
  if (tradingExpiresAt !== null)
    notes.push(`Binance ends this key's trading permission on ${new Date(tradingExpiresAt).toISOString().slice(0, 10)} (UTC) unless it is restricted to trusted IPs.`);
  if (account.marketType === 'futures' && futures === false) notes.push('Futures trading is not enabled on this key ("Enable Futures").');
  if (account.marketType === 'spot' && spot === false) notes.push('Spot trading is not enabled on this key ("Enable Spot & Margin Trading").');
  return {
    verdict: refused ? 'refused' : 'ok',
    canWithdraw: withdrawals,
    canTransfer,
    ipRestricted: ip,
    futuresEnabled: futures ?? null,
    tradingExpiresAt,
    notes,
  };
}

export async function preflightBinanceFutures(account: VenueAccount, calls: VenueCalls): Promise<AccountPreflight> {
  const api = binanceApi(await calls.ready());
  const exchangeId = account.exchangeId;
  let dual: unknown;
  try {
    dual = await api.fapiPrivateGetPositionSideDual({});
  } catch (error) {
    const translated = translateError(error, { exchangeId, action: 'reading the position mode' });
    if (translated.kind === 'auth-failed' || translated.kind === 'not-permitted') {
      return {
        positionMode: 'one-way',
        marginMode: null,
        multiAssets: null,
        futuresEnabled: false,
        maxLeverage: null,
        problems: [
          translated.kind === 'auth-failed'
            ? 'This key cannot use USDⓈ-M futures: enable "Futures" on the API key (a key made before the futures account was opened cannot be), then verify again.'
            : `Binance does not let this account use USDⓈ-M futures right now: ${describeReason(translated.reason ?? 'trading-restricted')}.`,
        ],
      };
    }
    throw translated;
  }
  const dualValue = rec(dual)['dualSidePosition'];
  const hedged = dualValue === true || dualValue === 'true';
  const positionMode: PositionMode = hedged ? 'hedge' : 'one-way';
  const problems = positionModeProblems(account, positionMode);
  let marginMode: MarginMode | null = null;
  let canTrade = true;
  try {
    const futuresAccount = rec(await api.fapiPrivateV2GetAccount({}));
    if (futuresAccount['canTrade'] === false) canTrade = false;
    const positions = Array.isArray(futuresAccount['positions']) ? (futuresAccount['positions'] as unknown[]) : [];
    const modes = new Set(positions.map((p) => (rec(p)['isolated'] === true ? 'isolated' : 'cross')));
    if (modes.size === 1) marginMode = [...modes][0] as MarginMode;
  } catch (error) {
    throw translateError(error, { exchangeId, action: 'reading the futures account' });
  }
  if (!canTrade) problems.push('Binance says this futures account cannot trade right now (canTrade is false).');
  let multiAssets: boolean | null = null;
  try {
    const mode = rec(await api.fapiPrivateGetMultiAssetsMargin({}))['multiAssetsMargin'];
    multiAssets = mode === true || mode === 'true';
  } catch (error) {
    const translated = translateError(error, { exchangeId, action: 'reading the asset mode' });
    problems.push(`The asset mode (Single-Asset or Multi-Assets) could not be read (${translated.message}).`);
  }
  if (multiAssets) {
    marginMode = 'cross';
    problems.push(
      'This futures account is in Multi-Assets mode, where Binance allows cross margin only: the bot trades it in cross margin ' +
        '(every position is backed by the whole futures wallet). For isolated margin, switch to Single-Asset mode ' +
        '(Futures → Preferences → Asset Mode) and verify again.',
    );
  }
  // The key's own futures permission: reads may work without it, orders then fail with -2015.
  if (account.mode === 'live') {
    try {
      const restrictions = rec(await api.sapiGetAccountApiRestrictions({}));
      if (restrictions['enableFutures'] === false) {
        canTrade = false;
        problems.push(
          'This API key is not allowed to trade futures: enable "Futures" on the key in Binance API management (a key made before the futures account was opened cannot be), then verify again.',
        );
      }
    } catch {
      // The key audit reports (and fails closed on) an unreadable permission check.
    }
  }
  let maxLeverage: number | null = null;
  try {
    const caps = await calls.leverageCaps();
    maxLeverage = caps.size > 0 ? Math.max(...caps.values()) : null;
  } catch (error) {
    const translated = translateError(error, { exchangeId, action: 'reading leverage brackets' });
    problems.push(`Leverage limits could not be read (${translated.message}).`);
  }
  return { positionMode, marginMode, multiAssets, futuresEnabled: canTrade, maxLeverage, problems };
}
