import { afterEach, describe, expect, it } from 'vitest';
import { instancesRepository } from '../../../src/db/repositories/instances';
import { EngineInstance } from '../../../src/trading/instance';
import { acceleratedClock } from '../../support/clock';
import { databaseKinds, freshDatabase } from '../../support/db';
import { capturingLog } from '../../support/trading';
import { createStore } from '../../../src/db/store';

const handles: Awaited<ReturnType<typeof freshDatabase>>[] = [];
afterEach(async () => {
  for (const handle of handles.splice(0)) await handle.close();
});

describe.each(databaseKinds)('engine instance heartbeat on %s', (kind) => {
  it('registers a fresh id per start, continues under a new id after a lapse, and frees its claims on a clean stop', async () => {
    const handle = await freshDatabase(kind);
    handles.push(handle);
    const clock = acceleratedClock(1);
    const { log, lines } = capturingLog();
    const settings = { takeoverAfterMs: 30_000, heartbeatEveryMs: 5_000 };
    const repo = instancesRepository(handle.db);
    const one = new EngineInstance(createStore(handle.db), 'host:1', clock, log, settings);
    const two = new EngineInstance(createStore(handle.db), 'host:1', clock, log, settings);
    // The same name (host:pid) never makes the same id.
    expect(one.id).not.toBe(two.id);
    expect(one.id).toMatch(/^host:1:[0-9a-f]{12}$/);
    await one.start();
    const first = one.id;
    const registered = await repo.byId(first);
    // Heartbeats are stamped with the injected clock.
    expect(Math.abs(registered!.heartbeatAt.getTime() - clock.now())).toBeLessThan(1_000);

    // Beats within half the threshold keep the id.
    clock.advance(10_000);
    await one.beat();
    expect(one.id).toBe(first);
    // Silent for half the threshold: whatever it claimed may be taken soon, so it continues as
    // someone new and its old id (row and claims) is gone at once.
    clock.advance(15_000);
    await one.beat();
    expect(one.id).not.toBe(first);
    expect(await repo.byId(first)).toBeNull();
    expect(await repo.byId(one.id)).not.toBeNull();
    expect(lines.some((line) => line.includes('heartbeat lapsed'))).toBe(true);

    await one.stop();
    expect(await repo.byId(one.id)).toBeNull();
    // After a stop nothing registers it again.
    await one.beat();
    expect(await repo.byId(one.id)).toBeNull();
  });
});
