/** Shown instead of a key too short to reveal any of it. */
export const HIDDEN_HINT = '••••';
const MIN_LENGTH_FOR_HINT = 12;

/**
 * Display hint of an API key: first 4 and last 4 characters (`abcd…wxyz`), taken when the account
 * is added and stored, so listing accounts decrypts nothing. Keys shorter than 12 characters
 * would be mostly revealed by 8 characters, so they show as `••••`. There is deliberately no
 * counterpart for secrets or passphrases: no part of them is ever shown.
 */
export function apiKeyHint(apiKey: string): string {
  const key = apiKey.trim();
  if (key.length < MIN_LENGTH_FOR_HINT) return HIDDEN_HINT;
  return `${key.slice(0, 4)}…${key.slice(-4)}`;
}
