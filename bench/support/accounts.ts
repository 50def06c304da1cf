/** A benchmark's live Binance account: opened on the simulator with 100,000 USDT and stored in the database with sealed keys. */
import { randomUUID } from 'node:crypto';
import type { DatabaseHandle } from '../../src/db/client';
import { accountsRepository, type AccountRow } from '../../src/db/repositories/accounts';
import type { Vault } from '../../src/vault';
import type { SpawnedBinanceSim } from '../../test/sim/binance/client';

export interface SeededAccount {
  row: AccountRow;
  apiKey: string;
}

export interface AccountSeed {
  name: string;
  guildId: string;
  ownerId: string;
  marketType: 'futures' | 'spot';
}

export async function seedAccount(handle: DatabaseHandle, vault: Vault, sim: SpawnedBinanceSim, seed: AccountSeed): Promise<SeededAccount> {
  const { name, guildId, ownerId, marketType } = seed;
  const id = randomUUID();
  const apiKey = `${name.replace(/[^a-z0-9]/gi, '')}${randomUUID().replace(/-/g, '')}`;
  const secret = `secret${randomUUID().replace(/-/g, '')}`;
  await sim.addAccount({ apiKey, secret, ...(marketType === 'futures' ? { futures: { USDT: 100_000 } } : { spot: { USDT: 100_000 } }) });
  const row = await accountsRepository(handle.db).create({
    id,
    ownerId,
    guildId,
    name,
    exchangeId: 'binance',
    marketType,
    mode: 'live',
    enabled: true,
    verified: true,
    positionMode: marketType === 'futures' ? 'one-way' : null,
    marginMode: marketType === 'futures' ? 'cross' : null,
    sizingMode: 'fixed',
    sizingValue: 100,
    maxPositionUsd: 1_000,
    leverage: 5,
    maxDailyTrades: 50,
    maxDailyLossPct: 20,
    stopOnLoss: false,
    apiKeyEnc: vault.encrypt(apiKey, { accountId: id, ownerId, field: 'apiKey' }),
    secretEnc: vault.encrypt(secret, { accountId: id, ownerId, field: 'secret' }),
    vaultKeyId: 1,
    apiKeyHint: `${apiKey.slice(0, 4)}…${apiKey.slice(-4)}`,
  });
  return { row, apiKey };
}
