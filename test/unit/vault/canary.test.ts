import { randomUUID } from 'node:crypto';
import { Buffer } from 'node:buffer';
import { format, inspect } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { createLogger, scrubForLog } from '../../../src/logger';
import { createVault, vaultReady } from '../../../src/vault/envelope';
import type { SecretContext, Vault } from '../../../src/vault/envelope';
import { apiKeyHint } from '../../../src/vault/mask';
import { Secret } from '../../../src/vault/secret';
import { Capture, keyringWith } from './helpers';

/**
 * The canary: one unique secret pushed through every path that could print it. None of the
 * captured output may contain it, in clear, base64, base64url or hex.
 */
describe('secret canary', () => {
  const canary = `canary-${randomUUID()}`;
  const forms = [
    canary,
    Buffer.from(canary).toString('base64'),
    Buffer.from(canary).toString('base64url'),
    Buffer.from(canary).toString('hex'),
    canary.slice(7, 23), // a long fragment
  ];
  const outputs: string[] = [];
  const record = (label: string, text: string) => outputs.push(`${label}: ${text}`);
  let vault: Vault;

  beforeAll(async () => {
    await vaultReady;
    vault = createVault(keyringWith(1, 2));
  });

  it('runs the canary through encryption, logging, errors and JSON, and finds it nowhere', () => {
    const secret = new Secret(canary);
    const ctx: SecretContext = { accountId: 'acc-canary', ownerId: '999', field: 'secret' };

    // Encryption: the envelope is all that is stored.
    const envelope = vault.encrypt(secret, ctx);
    record('envelope', envelope);
    expect(vault.decrypt(envelope, ctx).reveal()).toBe(canary);
    try {
      vault.decrypt(envelope, { ...ctx, field: 'apiKey' });
    } catch (error) {
      record('decrypt error', `${String(error)} ${inspect(error)} ${JSON.stringify(error)}`);
    }

    // Logging, info and error paths.
    const out = new Capture();
    const log = createLogger({ destination: out, level: 'trace' });
    const holder = { account: { id: 'acc-canary', secret } };
    log.info({ secret, holder }, 'info with a Secret');
    log.info({ apiKey: canary, secret: canary, passphrase: canary }, 'plain secret fields');
    log.debug(
      { exchange: { apiKey: canary, secret: canary }, request: { headers: { 'X-MBX-APIKEY': canary } } },
      'nested',
    );
    log.info(`template ${secret} and %s`, secret);
    log.error(new Error(`failed for ${JSON.stringify(holder)}`));
    log.error(new Error(`failed for ${format('%o', holder)}`, { cause: holder }), 'with cause object');
    log.error(
      { err: new Error('wrapped', { cause: new Error(`inner ${secret}`, { cause: { secret: canary } }) }) },
      'chain',
    );
    log.error(
      { err: Object.assign(new Error('ccxt-ish'), { apiKey: canary, exchange: { secret: canary } }) },
      'extras',
    );
    log.error(
      {
        err: new Error(`binance GET https://api.binance.com/api/v3/account?timestamp=1&signature=${canary}`),
      },
      'signed url',
    );
    log.child({ credentials: { apiKey: canary, secret } }).warn('child');
    log.fatal(
      { env: { ACCOUNT_1_SECRET: canary, ACCOUNT_1_API_KEY: canary, VAULT_KEYS: `1:${canary}` } },
      'env dump',
    );
    record('log', out.text);
    expect(out.lines.length).toBe(11);

    // JSON serialisation and console-style formatting.
    record('json', JSON.stringify({ holder, list: [secret], envelope }));
    record('inspect', inspect({ holder }, { depth: Infinity, showHidden: true }));
    record('format', format('%s %o %O %j', secret, holder, holder, holder));
    record('scrub', JSON.stringify(scrubForLog({ apiKey: canary, holder })));
    record('structuredClone', JSON.stringify(structuredClone(holder)));
    record('hint', apiKeyHint(secret.toString()));

    const everything = outputs.join('\n');
    for (const form of forms) expect(everything).not.toContain(form);
    // Sanity: the captured output is real, and the canary really was there to find.
    expect(everything).toContain('acc-canary');
    expect(everything).toContain('[redacted]');
    expect(secret.reveal()).toBe(canary);
  });
});
