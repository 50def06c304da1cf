/**
 * Everything a member does with their exchange accounts: add (the key checked and encrypted), list,
 * toggle, settings, verify, remove. The settings' validation is in accountSettings.ts, the key checks
 * with the exchange in keyChecks.ts.
 *
 * Its size: one service for the account aggregate, each method a member's action with its checks (scope, throttle, time limits).
 */
import { randomUUID } from 'node:crypto';
import type { AccountsRepository } from '../db/repositories/accounts';
import type { MarketType, MemberScope, TradingMode } from '../domain/account';
import { isExchangeError } from '../exchange/errors';
import type { Balance } from '../exchange/gateway';
import type { Masterships } from '../copy/mastership';
import type { Logger } from '../logger';
import type { Clock } from '../clock';
import type { Vault } from '../vault/envelope';
import { apiKeyHint } from '../vault/mask';
import type { Secret } from '../vault/secret';
import { invalid, notFound, UserError } from './errors';
import { MemberThrottle } from './memberThrottle';
import { unsupportedReason, type ExchangeCatalog } from './exchangeCatalog';
import type { GatewayFactoryPort } from './ports';
import { MARKET_TYPES, SIZING_MODES, TRADING_MODES } from '../domain/account';
import type { Account } from '../domain/records';

export { MARKET_TYPES, SIZING_MODES, TRADING_MODES };
export { parseSymbolList, SETTING_RANGES, SIZING_VALUE_RANGES, validateAccountName, validateSettings, type SettingsInput } from './accountSettings';
import { oneOf, validateAccountName, validateSettings, type SettingsInput } from './accountSettings';
import { auditColumns, EXCHANGE_CALL_TIMEOUT_MS, exchangeAnswer, probeGateway, refusal, storedAudit, verificationFailure, type ProbeOutcome } from './keyChecks';

/** The settings a member sees and changes (/account settings). */
export type AccountSettingsView = Pick<
  Account,
  | 'sizingMode'
  | 'sizingValue'
  | 'maxPositionUsd'
  | 'leverage'
  | 'maxDailyTrades'
  | 'riskPerTradePct'
  | 'maxDailyLossPct'
  | 'stopOnLoss'
  | 'symbolAllow'
  | 'symbolBlock'
  | 'shareAmounts'
>;

/** An account as its owner sees it: never a key, only the hint taken when it was added. */
export interface AccountView {
  id: string;
  name: string;
  exchangeId: string;
  marketType: MarketType;
  mode: TradingMode;
  enabled: boolean;
  verified: boolean;
  /** `abcd…wxyz`, `••••` for short keys, null for paper accounts. */
  maskedKey: string | null;
  lastBalanceUsd: number | null;
  balanceAt: Date | null;
  disabledReason: string | null;
  pausedUntil: Date | null;
  /** Live account whose key permissions the exchange cannot report: the owner must confirm first. */
  needsConfirmation: boolean;
  /** When the exchange ends the key's trading permission (no IP restriction); null: not reported. */
  tradingExpiresAt: Date | null;
  settings: AccountSettingsView;
}

export interface BalanceView {
  currency: string;
  free: number;
  equity: number;
}

export type AddAccountResult =
  | {
      kind: 'added';
      account: AccountView;
      balance: BalanceView | null;
      auditNotes: string[];
      /** Things that will make orders fail later (futures preflight). */
      problems: string[];
    }
  | { kind: 'refused'; reason: string; notes: string[] };

export interface AddAccountInput {
  ownerId: string;
  guildId: string;
  name: string;
  exchangeId: string;
  marketType: string;
  mode: string;
  /** Absent for paper accounts. */
  credentials?: { apiKey: Secret; secret: Secret; passphrase?: Secret | undefined };
}

export interface NewAccountForm {
  exchangeId: string;
  marketType: MarketType;
  mode: TradingMode;
  needsKey: boolean;
  needsPassphrase: boolean;
}

export type VerifyResult =
  | {
      kind: 'verified';
      account: AccountView;
      balance: BalanceView | null;
      auditNotes: string[];
      problems: string[];
    }
  | { kind: 'failed'; account: AccountView; reason: string; notes: string[] };

export function toAccountView(row: Account): AccountView {
  const audit = storedAudit(row);
  return {
    id: row.id,
    name: row.name,
    exchangeId: row.exchangeId,
    marketType: row.marketType,
    mode: row.mode,
    enabled: row.enabled,
    verified: row.verified,
    maskedKey: row.mode === 'paper' ? null : row.apiKeyHint,
    lastBalanceUsd: row.lastBalanceUsd,
    balanceAt: row.balanceAt,
    disabledReason: row.disabledReason,
    pausedUntil: row.pausedUntil,
    needsConfirmation: row.mode === 'live' && audit?.verdict === 'unknown' && !row.withdrawalsConfirmedOff,
    tradingExpiresAt: row.tradingExpiresAt,
    settings: {
      sizingMode: row.sizingMode,
      sizingValue: row.sizingValue,
      maxPositionUsd: row.maxPositionUsd,
      leverage: row.leverage,
      maxDailyTrades: row.maxDailyTrades,
      riskPerTradePct: row.riskPerTradePct,
      maxDailyLossPct: row.maxDailyLossPct,
      stopOnLoss: row.stopOnLoss,
      symbolAllow: row.symbolAllow,
      symbolBlock: row.symbolBlock,
      shareAmounts: row.shareAmounts,
    },
  };
}

const balanceView = (balance: Balance | null): BalanceView | null =>
  balance ? { currency: balance.currency, free: balance.free, equity: balance.equity } : null;

export interface AccountServiceDeps {
  accounts: AccountsRepository;
  vault: Vault;
  gateways: GatewayFactoryPort;
  exchanges: ExchangeCatalog;
  clock: Clock;
  log: Logger;
  /** A removed master account ends its mastership first: its followers' copied positions are closed. */
  masterships?: Pick<Masterships, 'end'>;
  /** Accounts one member may have in one server (MAX_ACCOUNTS_PER_MEMBER); default DEFAULT_MAX_ACCOUNTS_PER_MEMBER. */
  maxAccountsPerMember?: number;
  /** Key checks (Verify, add probes) per member per window; default KEY_CHECKS_PER_MINUTE a minute. */
  keyChecks?: { perWindow: number; windowMs: number };
}

/**
 * Accounts per member and server unless configured: every account joins every fan-out and the feed,
 * so an unbounded number of (free) paper accounts would let one member slow everyone's signals.
 */
export const DEFAULT_MAX_ACCOUNTS_PER_MEMBER = 10;

/** Key checks one member may start per minute (each reads several weighted endpoints of the shared IP budget). */
export const KEY_CHECKS_PER_MINUTE = 4;

/** Everything a member does with their exchange accounts. Every method is scoped by the owner's id. */
export function createAccountService(deps: AccountServiceDeps) {
  const { accounts, vault, gateways, exchanges, clock, log } = deps;
  const now = () => new Date(clock.now());
  const keyCheckLimit = deps.keyChecks?.perWindow ?? KEY_CHECKS_PER_MINUTE;
  const keyChecks = new MemberThrottle(keyCheckLimit, deps.keyChecks?.windowMs ?? 60_000, () => clock.now());
  /** Refuses a key check the member has no room for this minute (nothing is read from the exchange). */
  const takeKeyCheck = (ownerId: string): void => {
    const verdict = keyChecks.take(ownerId);
    if (verdict.allowed) return;
    const seconds = Math.max(1, Math.ceil(verdict.retryAfterMs / 1000));
    throw new UserError(
      'too-many',
      `You checked keys ${keyCheckLimit} times in the last minute; try again in ${seconds} s. Every check reads the exchange's limits all members' trading shares.`,
    );
  };

  const owned = async (scope: MemberScope, accountId: string): Promise<Account> => {
    const row = await accounts.findOwned(scope, accountId);
    if (!row) throw notFound();
    return row;
  };

  /** Checks exchange, type and mode before the key form is shown. */
  function describeNew(input: { exchangeId: string; marketType: string; mode: string }): NewAccountForm {
    const exchangeId = input.exchangeId.trim().toLowerCase();
    const marketType = oneOf(MARKET_TYPES, input.marketType, 'Type');
    const mode = oneOf(TRADING_MODES, input.mode, 'Mode');
    const info = exchanges.info(exchangeId);
    const why = unsupportedReason(info, marketType, mode);
    if (why) throw invalid(why);
    return {
      exchangeId,
      marketType,
      mode,
      needsKey: mode !== 'paper',
      needsPassphrase: mode !== 'paper' && info.needsPassphrase,
    };
  }

  return {
    describeNew,

    /**
     * Adds an account. Live and demo keys are tried first (balance, permission audit, futures
     * preflight); a key that can withdraw or fails is refused and NOTHING is stored.
     */
    async add(input: AddAccountInput): Promise<AddAccountResult> {
      const form = describeNew(input);
      const name = validateAccountName(input.name);
      const maxAccounts = deps.maxAccountsPerMember ?? DEFAULT_MAX_ACCOUNTS_PER_MEMBER;
      const tooMany = () =>
        new UserError(
          'too-many',
          `You have ${maxAccounts} accounts on this server, the most a member may have here. Remove one with /account remove first.`,
        );
      // Asked first so that a full member's key is not probed; the insert checks again under a lock.
      if ((await accounts.listOwned(input.ownerId, input.guildId)).length >= maxAccounts) throw tooMany();
      const createdWithinCap = (row: Account | null): Account => {
        if (!row) throw tooMany();
        return row;
      };
      if (await accounts.findOwnedByName(input.ownerId, input.guildId, name)) {
        throw new UserError(
          'conflict',
          `You already have an account named "${name}" on this server. Pick another name.`,
        );
      }
      const id = randomUUID();
      const base = {
        id,
        ownerId: input.ownerId,
        guildId: input.guildId,
        name,
        exchangeId: form.exchangeId,
        marketType: form.marketType,
        mode: form.mode,
        source: 'discord' as const,
      };

      if (!form.needsKey) {
        const row = createdWithinCap(
          await accounts.createWithinCap({ ...base, verified: true, verifiedAt: now() }, maxAccounts),
        );
        let balance: Balance | null = null;
        try {
          balance = await exchangeAnswer(
            gateways.forAccount(row).balance(),
            EXCHANGE_CALL_TIMEOUT_MS,
            form.exchangeId,
          );
          await accounts.recordBalance(id, balance.free, balance.equity, new Date(balance.asOf));
        } catch (error) {
          log.warn({ err: error, accountId: id }, 'paper balance unavailable');
        }
        const stored = (await accounts.findOwned(input, id)) ?? row;
        log.info({ accountId: id, exchange: form.exchangeId, mode: form.mode }, 'paper account added');
        return {
          kind: 'added',
          account: toAccountView(stored),
          balance: balanceView(balance),
          auditNotes: [],
          problems: [],
        };
      }

      const credentials = input.credentials;
      if (!credentials || credentials.apiKey.isEmpty || credentials.secret.isEmpty) {
        throw invalid('An API key and its secret are needed for live and demo accounts.');
      }
      if (form.needsPassphrase && (!credentials.passphrase || credentials.passphrase.isEmpty)) {
        throw invalid(`${form.exchangeId} keys come with a passphrase; enter it too.`);
      }
      const apiKey = credentials.apiKey.reveal().trim();
      if (apiKey.length < 8 || /\s/.test(apiKey))
        throw invalid('That does not look like an API key (no spaces, at least 8 characters).');

      takeKeyCheck(input.ownerId);
      let outcome: ProbeOutcome;
      try {
        const gateway = await gateways.probe({
          exchangeId: form.exchangeId,
          marketType: form.marketType,
          mode: form.mode,
          apiKey: credentials.apiKey,
          secret: credentials.secret,
          ...(form.needsPassphrase && credentials.passphrase ? { passphrase: credentials.passphrase } : {}),
        });
        outcome = await probeGateway(gateway, form.marketType, false);
      } catch (error) {
        log.info({ err: error, exchange: form.exchangeId }, 'key verification failed; nothing stored');
        return { kind: 'refused', reason: verificationFailure(error, form.exchangeId), notes: [] };
      }
      const refused = refusal(outcome);
      if (refused) {
        log.info(
          { exchange: form.exchangeId, verdict: outcome.audit?.verdict },
          'key refused; nothing stored',
        );
        return { kind: 'refused', ...refused };
      }

      const ctx = (field: 'apiKey' | 'secret' | 'passphrase') => ({
        accountId: id,
        ownerId: input.ownerId,
        field,
      });
      const audit = outcome.audit;
      const row = createdWithinCap(
        await accounts.createWithinCap(
          {
            ...base,
            verified: true,
            verifiedAt: now(),
            apiKeyEnc: vault.encrypt(credentials.apiKey, ctx('apiKey')),
            secretEnc: vault.encrypt(credentials.secret, ctx('secret')),
            passphraseEnc:
              form.needsPassphrase && credentials.passphrase
                ? vault.encrypt(credentials.passphrase, ctx('passphrase'))
                : null,
            vaultKeyId: vault.currentKeyId,
            apiKeyHint: apiKeyHint(apiKey),
            ...(audit ? auditColumns(audit, null) : { audit: null }),
            auditedAt: now(),
            lastBalanceUsd: outcome.balance.free,
            lastEquityUsd: outcome.balance.equity,
            balanceAt: new Date(outcome.balance.asOf),
            ...(outcome.preflight
              ? {
                  positionMode: outcome.preflight.positionMode,
                  marginMode: outcome.preflight.marginMode,
                  exchangeMaxLeverage: outcome.preflight.maxLeverage,
                }
              : {}),
          },
          maxAccounts,
        ),
      );
      log.info(
        { accountId: id, exchange: form.exchangeId, mode: form.mode, verdict: audit?.verdict },
        'account added',
      );
      return {
        kind: 'added',
        account: toAccountView(row),
        balance: balanceView(outcome.balance),
        auditNotes: audit?.notes ?? [],
        problems: outcome.preflight?.problems ?? [],
      };
    },

    async list(ownerId: string, guildId: string): Promise<AccountView[]> {
      return (await accounts.listOwned(ownerId, guildId)).map(toAccountView);
    },

    async get(scope: MemberScope, accountId: string): Promise<AccountView> {
      return toAccountView(await owned(scope, accountId));
    },

    /** The caller's own accounts matching what they typed, for autocomplete (at most 25). */
    async suggest(
      ownerId: string,
      guildId: string,
      typed: string,
    ): Promise<{ name: string; value: string }[]> {
      const query = typed.trim().toLowerCase();
      return (await accounts.listOwned(ownerId, guildId))
        .filter(
          (row) => query === '' || row.name.toLowerCase().includes(query) || row.exchangeId.includes(query),
        )
        .slice(0, 25)
        .map((row) => ({
          name: `${row.name} · ${row.exchangeId} ${row.marketType} ${row.mode}${row.enabled ? '' : ' (off)'}`.slice(
            0,
            100,
          ),
          value: row.id,
        }));
    },

    /** Enables or disables (flips when `enabled` is omitted). Enabling needs a verified, confirmed key. */
    async toggle(scope: MemberScope, accountId: string, enabled?: boolean): Promise<AccountView> {
      const row = await owned(scope, accountId);
      const next = enabled ?? !row.enabled;
      if (next) {
        const view = toAccountView(row);
        if (!row.verified) {
          throw new UserError(
            'conflict',
            `"${row.name}" is not verified. Run /account verify first (the last check of its key failed).`,
          );
        }
        if (view.needsConfirmation) {
          throw new UserError(
            'conflict',
            `${row.exchangeId} cannot report whether the key of "${row.name}" can withdraw. Confirm that withdrawals are disabled (button under /account list) before trading live.`,
          );
        }
      }
      const updated = await accounts.updateOwned(scope, accountId, {
        enabled: next,
        ...(next ? { disabledReason: null } : {}),
      });
      if (!updated) throw notFound();
      log.info({ accountId, enabled: next }, 'account toggled');
      return toAccountView(updated);
    },

    /** The owner confirms that a key whose permissions the exchange cannot report cannot withdraw. */
    async confirmNoWithdrawals(scope: MemberScope, accountId: string): Promise<AccountView> {
      const row = await owned(scope, accountId);
      await accounts.update(row.id, { withdrawalsConfirmedOff: true });
      return toAccountView(await owned(scope, accountId));
    },

    async updateSettings(scope: MemberScope, accountId: string, input: SettingsInput): Promise<AccountView> {
      const row = await owned(scope, accountId);
      const patch = validateSettings(input, toAccountView(row).settings);
      if (Object.keys(patch).length === 0) return toAccountView(row);
      const updated = await accounts.updateOwned(scope, accountId, patch);
      if (!updated) throw notFound();
      return toAccountView(updated);
    },

    /** Checks the stored key again: balance, permissions, futures preflight. */
    async verify(scope: MemberScope, accountId: string): Promise<VerifyResult> {
      const row = await owned(scope, accountId);
      if (row.mode !== 'paper') takeKeyCheck(scope.ownerId);
      gateways.invalidate(row.id);
      let outcome: ProbeOutcome;
      try {
        outcome = await probeGateway(gateways.forAccount(row), row.marketType, row.mode === 'paper');
      } catch (error) {
        const reason = verificationFailure(error, row.exchangeId);
        if (isExchangeError(error, 'auth-failed')) {
          await accounts.update(row.id, {
            verified: false,
            enabled: false,
            disabledReason: 'key-revoked',
            auditedAt: now(),
          });
          gateways.invalidate(row.id);
        }
        log.info({ err: error, accountId }, 'verification failed');
        return { kind: 'failed', account: toAccountView(await owned(scope, accountId)), reason, notes: [] };
      }
      await accounts.recordBalance(
        row.id,
        outcome.balance.free,
        outcome.balance.equity,
        new Date(outcome.balance.asOf),
      );
      const refused = refusal(outcome);
      if (refused) {
        await accounts.update(row.id, {
          verified: false,
          enabled: false,
          disabledReason: 'key-refused',
          auditedAt: now(),
        });
        gateways.invalidate(row.id);
        return { kind: 'failed', account: toAccountView(await owned(scope, accountId)), ...refused };
      }
      const audit = outcome.audit;
      await accounts.update(row.id, {
        verified: true,
        verifiedAt: now(),
        auditedAt: now(),
        ...(audit ? auditColumns(audit, row) : {}),
        ...(outcome.preflight
          ? {
              positionMode: outcome.preflight.positionMode,
              marginMode: outcome.preflight.marginMode,
              exchangeMaxLeverage: outcome.preflight.maxLeverage,
            }
          : {}),
        ...(row.disabledReason === 'key-revoked' ||
        row.disabledReason === 'key-refused' ||
        row.disabledReason === 'key-changed'
          ? { disabledReason: null }
          : {}),
      });
      return {
        kind: 'verified',
        account: toAccountView(await owned(scope, accountId)),
        balance: balanceView(outcome.balance),
        auditNotes: audit?.notes ?? [],
        problems: outcome.preflight?.problems ?? [],
      };
    },

    /** Removes the account and its ciphertexts; refused while the bot holds open positions on it. */
    async remove(scope: MemberScope, accountId: string): Promise<{ name: string }> {
      const row = await owned(scope, accountId);
      const open = await accounts.countOpenPositions(row.id);
      if (open > 0) {
        throw new UserError(
          'conflict',
          `"${row.name}" still has ${open} open position${open === 1 ? '' : 's'} opened by the bot. Close ${open === 1 ? 'it' : 'them'} with /panic first, then remove the account.`,
        );
      }
      // A master's followers must not be left holding its copies with nothing to take them out.
      await deps.masterships?.end(row.id, 'stopped');
      if (!(await accounts.deleteOwned(scope, accountId))) throw notFound();
      gateways.invalidate(row.id);
      log.info({ accountId }, 'account removed');
      return { name: row.name };
    },
  };
}

export type AccountService = ReturnType<typeof createAccountService>;
