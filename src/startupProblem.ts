/**
 * What stops a start, said once in plain words: what is wrong and how to fix it (the variable, the
 * README step), never a stack trace unless LOG_LEVEL=debug. Errors found by the start's own checks are
 * StartupProblems already; the others (a database or Discord that cannot be reached, a port in use,
 * a malformed VAULT_KEYS) are recognised here by their codes, looked for along the `cause` chain
 * (a driver's ECONNREFUSED arrives wrapped in the ORM's query error).
 */
import { inspect } from 'node:util';
import { scrubText } from './logger';

/** A start-up failure whose message is already what the operator should read. */
export class StartupProblem extends Error {
  override readonly name = 'StartupProblem';
}

interface Coded {
  code?: unknown;
  errno?: unknown;
  hostname?: unknown;
  address?: unknown;
  port?: unknown;
  message?: unknown;
  cause?: unknown;
  name?: unknown;
}

/** The error and its causes, outermost first (at most 8 deep: a cycle must not hang the exit). */
function chain(error: unknown): Coded[] {
  const out: Coded[] = [];
  let current = error;
  while (current !== null && typeof current === 'object' && out.length < 8) {
    out.push(current as Coded);
    current = (current as Coded).cause;
  }
  return out;
}

const NETWORK_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);

export interface StartupContext {
  healthPort: number;
}

/** One line for the operator. */
export function explainStartupError(error: unknown, context: StartupContext): string {
  const links = chain(error);
  const oneLine = (text: string) => text.replace(/\s*\n\s*/g, '; ');
  const problem = links.find((link): link is StartupProblem => link instanceof StartupProblem);
  if (problem) return oneLine(problem.message);

  const vault = links.find((link) => typeof link.name === 'string' && link.name.startsWith('VaultError['));
  if (vault && typeof vault.message === 'string') {
    if (vault.name === 'VaultError[vault-bad-keyring]')
      return oneLine(`${vault.message} — VAULT_KEYS holds id:base64 entries separated by commas; make one with: npm run vault:keygen`);
    return oneLine(vault.message);
  }

  const inUse = links.find((link) => link.code === 'EADDRINUSE');
  if (inUse) {
    const port = typeof inUse.port === 'number' ? inUse.port : context.healthPort;
    return `HEALTH_PORT ${port} is already in use by another program: set another port, or HEALTH_PORT=0 to turn the health endpoint off`;
  }

  const code = networkCode(error);
  if (code) {
    const link = links.find((l) => l.code === code)!;
    const where = [link.hostname ?? link.address, link.port].filter((part) => part !== undefined && part !== null).join(':');
    return `cannot reach ${where || 'a server the bot needs'} (${code}): check the network and DNS of this machine`;
  }

  const first = links[0];
  const message = typeof first?.message === 'string' && first.message ? first.message : String(error);
  return oneLine(`could not start: ${message} (LOG_LEVEL=debug shows the details)`);
}

/** The network failure along the error's causes (ENOTFOUND, ECONNREFUSED, …), or null. */
export function networkCode(error: unknown): string | null {
  const link = chain(error).find((l) => typeof l.code === 'string' && NETWORK_CODES.has(l.code));
  return link ? String(link.code) : null;
}

/** DATABASE_URL without its password, for messages. */
export function databaseAddress(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || '5432'}${parsed.pathname}`;
  } catch {
    return 'DATABASE_URL';
  }
}

/**
 * Runs the start; on failure prints one line saying what is wrong and what to do (the trace too only
 * at LOG_LEVEL=debug or trace) and ends the process with code 1.
 */
export async function startOrExit<T>(start: () => Promise<T>, config: { HEALTH_PORT: number; LOG_LEVEL: string }): Promise<T> {
  try {
    return await start();
  } catch (error) {
    console.error(explainStartupError(error, { healthPort: config.HEALTH_PORT }));
    // The trace as the logs would show it: a connection string's password or a token never printed.
    if (config.LOG_LEVEL === 'debug' || config.LOG_LEVEL === 'trace') console.error(scrubText(inspect(error, { depth: 8 })));
    process.exit(1);
  }
}
