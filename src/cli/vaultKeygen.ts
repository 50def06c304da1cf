/**
 * `npm run vault:keygen [id]`: prints a new vault key entry `id:base64` (id defaults to 1) on
 * stdout, and on stderr how to use it, so `npm run -s vault:keygen 2 >> file` captures only the key.
 */
import { generateKeyEntry, isKeyId } from '../vault/keyring';

const arg = process.argv[2];
const id = arg === undefined ? 1 : /^[0-9]{1,10}$/.test(arg) ? Number(arg) : Number.NaN;
if (!isKeyId(id)) {
  console.error(`usage: npm run vault:keygen [id]  (id: a positive integer, default 1; got "${arg ?? ''}")`);
  process.exit(1);
}

const entry = generateKeyEntry(id);
console.log(entry);
console.error(
  [
    '',
    id === 1
      ? 'Set it as the vault keyring: VAULT_KEYS=<the line above>'
      : `Append it to VAULT_KEYS after the existing keys: VAULT_KEYS=<existing entries>,${id}:<base64 above>`,
    'With the embedded database and no VAULT_KEYS, the keys live in <DATA_DIR>/vault.key instead (same format).',
    'The highest id encrypts; keep older ids until `npm run vault:rotate` has moved every secret to the new key.',
    'Keep it secret and back it up: without it the stored exchange keys cannot be decrypted.',
  ].join('\n'),
);
