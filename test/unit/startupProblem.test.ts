import { afterEach, describe, expect, it, vi } from 'vitest';
import { startOrExit } from '../../src/startupProblem';

afterEach(() => vi.restoreAllMocks());

describe('startOrExit', () => {
  it('at LOG_LEVEL=debug prints the trace without a connection string\'s password or a token', async () => {
    const printed: string[] = [];
    vi.spyOn(console, 'error').mockImplementation((...parts: unknown[]) => void printed.push(parts.map(String).join(' ')));
    vi.spyOn(process, 'exit').mockImplementation((() => undefined) as never);
    const cause = Object.assign(new Error('connect to postgres://bot:s3cretPass@db.internal:5432/bot failed'), {
      options: { url: 'postgres://bot:s3cretPass@db.internal:5432/bot' },
    });
    await startOrExit(async () => {
      throw new Error('start failed', { cause });
    }, { HEALTH_PORT: 0, LOG_LEVEL: 'debug' });
    const out = printed.join('\n');
    expect(out).toContain('db.internal');
    expect(out).toMatch(/\n\s+at /);
    expect(out).not.toContain('s3cretPass');
    expect(process.exit).toHaveBeenCalledWith(1);
  });
});
