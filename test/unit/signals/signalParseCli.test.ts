import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../..', import.meta.url));

/** Runs the CLI as `npm run signal:parse` does (tsx), with the message on stdin. */
const run = (input: string) => {
  const child = spawnSync('npx', ['tsx', 'src/cli/signalParse.ts'], {
    cwd: root,
    input,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: child.status, stdout: child.stdout, stderr: child.stderr };
};

describe('signal:parse CLI', () => {
  it('prints one JSON line with the seven signal keys in order and exits 0', () => {
    const { status, stdout } = run(
      '📈 #BTC/USDT LONG\nEntry: 64250 - 63800\nLeverage: Cross 10x\nTargets: 64800 - 65500 - 66200\nStop Loss: 62900',
    );
    expect(status).toBe(0);
    expect(stdout.endsWith('\n')).toBe(true);
    expect(stdout.trimEnd().split('\n')).toHaveLength(1);
    expect(stdout).toBe(
      '{"ok":true,"signal":{"symbol":"BTC/USDT","side":"long","entryType":"limit","entries":[63800,64250],"stopLoss":62900,"takeProfits":[64800,65500,66200],"leverage":10}}\n',
    );
    const parsed = JSON.parse(stdout) as { signal: Record<string, unknown> };
    expect(Object.keys(parsed.signal)).toEqual([
      'symbol',
      'side',
      'entryType',
      'entries',
      'stopLoss',
      'takeProfits',
      'leverage',
    ]);
  });

  it('answers ignored and invalid with exit code 0 as well', () => {
    const ignored = run('gm everyone, signals in 10 min');
    expect(ignored.status).toBe(0);
    expect(ignored.stdout).toBe('{"ok":false,"kind":"ignored"}\n');
    const invalid = run('BTC/USDT LONG\nEntry 64000\nStop 64500\nTP 65000');
    expect(invalid.status).toBe(0);
    expect(invalid.stdout).toBe('{"ok":false,"kind":"invalid","reason":"stop-wrong-side"}\n');
  });

  it('treats empty stdin as ignored', () => {
    const empty = run('');
    expect(empty.status).toBe(0);
    expect(empty.stdout).toBe('{"ok":false,"kind":"ignored"}\n');
  });
});
