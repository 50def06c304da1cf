import { and, eq, gte, sql } from 'drizzle-orm';
import type { Database } from '../client';
import { executeRows } from '../executeRows';
import { accountLeases, engineInstances, exchangeAccounts } from '../schema';

export type LeaseTask = (typeof accountLeases.task.enumValues)[number];

/** Ids as one JSON parameter, whatever their count. */
const idList = (ids: readonly string[]) =>
  sql`(select value::uuid from json_array_elements_text(${JSON.stringify(ids)}::json))`;
const at = (date: Date) => sql`${date.toISOString()}::timestamptz`;

/**
 * Per-account leases of background work (DESIGN.md, "Scaling past one process"). A lease is held while
 * its holder's heartbeat lives; it moves to another process only when the holder released it or
 * died (heartbeat older than the takeover threshold, or no row), so two live processes never work one
 * account's task at the same time.
 */
export function leasesRepository(db: Database) {
  return {
    /**
     * Takes this holder's share of the leases of `accountIds` for `task` and answers which of them it
     * holds now. Four or five statements whatever the number of accounts:
     *  - nothing while the holder's own heartbeat is not fresh (`freshSince`): its leases may be
     *    taken over soon, so it must not start work on them;
     *  - free leases (never held, released, or held by a dead process) are taken up to the fair share,
     *    ceil(accounts / live processes), skipping rows another process is taking at that moment
     *    (FOR UPDATE SKIP LOCKED), so processes running together split the accounts between them;
     *  - a lease free for longer than the takeover threshold (`staleBefore`), or held by a dead
     *    process, is taken whatever the share: a live process that does not get round to its share
     *    (a long cycle) delays an account by one threshold at most;
     *  - a holder above its share (a process joined) releases the excess before working, never
     *    working what it released; the joiner takes it on its next run. A process counts towards the
     *    others' shares only once it has lived one threshold: a starting process first takes over
     *    what dead processes left, and accounts released to it before it runs its passes would wait
     *    unvisited (a position whose entry just filled, without its stop).
     *  - `urgent` accounts (a position that may be without its stop) are the last a holder releases
     *    and the first a process takes: a hand-over never leaves one waiting for a threshold while
     *    routine accounts move.
     */
    async acquire(
      task: LeaseTask,
      holder: string,
      accountIds: readonly string[],
      times: { now: Date; staleBefore: Date; freshSince: Date },
      urgent: ReadonlySet<string> = new Set(),
    ): Promise<string[]> {
      const ids = [...new Set(accountIds)];
      if (ids.length === 0) return [];
      const [state] = await executeRows<{ fresh: boolean; live: number }>(
        db,
        sql`select
          exists (select 1 from ${engineInstances} where id = ${holder} and heartbeat_at >= ${at(times.freshSince)}) as fresh,
          (select count(*) from ${engineInstances} where heartbeat_at >= ${at(times.staleBefore)}
            and (id = ${holder} or started_at <= ${at(times.staleBefore)}))::int as live`,
      );
      if (!state?.fresh) return [];
      await db.execute(sql`
        insert into ${accountLeases} (task, account_id, holder, changed_at)
        select ${task}, a.id, null, ${at(times.now)} from ${exchangeAccounts} a where a.id in ${idList(ids)}
        on conflict do nothing`);
      // Free: released or never held, or held by a process whose heartbeat is stale or gone.
      const free = sql`(l.holder is null or (l.holder <> ${holder} and not exists (
        select 1 from ${engineInstances} i where i.id = l.holder and i.heartbeat_at >= ${at(times.staleBefore)})))`;
      // Waited long enough to be taken whatever the share.
      const overdue = sql`(l.holder is not null or l.changed_at < ${at(times.staleBefore)})`;
      const rows = await executeRows<{ account_id: string; mine: boolean; free: boolean; overdue: boolean }>(
        db,
        sql`select l.account_id, coalesce(l.holder = ${holder}, false) as mine, ${free} as free, ${overdue} as overdue
          from ${accountLeases} l where l.task = ${task} and l.account_id in ${idList(ids)}`,
      );
      const mine = rows.filter((row) => row.mine).map((row) => row.account_id);
      const share = Math.ceil(ids.length / Math.max(1, state.live));
      if (mine.length > share) {
        // Urgent accounts are kept; among the others the excess released is the same every time for
        // the same accounts (no churn between runs).
        const release = [...mine]
          .sort((x, y) => Number(urgent.has(x)) - Number(urgent.has(y)) || (x < y ? -1 : x > y ? 1 : 0))
          .slice(0, mine.length - share);
        const released = await executeRows<{ account_id: string }>(
          db,
          sql`update ${accountLeases} set holder = null, changed_at = ${at(times.now)}
            where task = ${task} and holder = ${holder} and account_id in ${idList(release)}
            returning account_id`,
        );
        const gone = new Set(released.map((row) => row.account_id));
        return mine.filter((id) => !gone.has(id));
      }
      const take = (where: ReturnType<typeof sql>, limit: number | null) =>
        executeRows<{ account_id: string }>(
          db,
          sql`update ${accountLeases} set holder = ${holder}, changed_at = ${at(times.now)}
            where task = ${task} and account_id in (
              select l.account_id from ${accountLeases} l
              where l.task = ${task} and l.account_id in ${idList(ids)} and ${free} and ${where}
              order by l.account_id in ${idList([...urgent])} desc, md5(l.account_id::text || ${holder})
              ${limit === null ? sql`` : sql`limit ${limit}`}
              for update skip locked)
            returning account_id`,
        ).then((taken) => taken.map((row) => row.account_id));
      const held = [...mine];
      const room = share - mine.length;
      if (room > 0 && rows.some((row) => row.free)) held.push(...(await take(sql`true`, room)));
      const taken = new Set(held);
      if (rows.some((row) => row.free && row.overdue && !taken.has(row.account_id)))
        held.push(...(await take(overdue, null)));
      return held;
    },

    /**
     * Whether `holder` holds the lease and its heartbeat is at least as recent as `freshSince`: the
     * fence asked before anything leased is sent (the lease may have moved since it was acquired).
     */
    async holds(task: LeaseTask, accountId: string, holder: string, freshSince: Date): Promise<boolean> {
      const rows = await db
        .select({ holder: accountLeases.holder })
        .from(accountLeases)
        .innerJoin(engineInstances, eq(engineInstances.id, accountLeases.holder))
        .where(
          and(
            eq(accountLeases.task, task),
            eq(accountLeases.accountId, accountId),
            eq(accountLeases.holder, holder),
            gte(engineInstances.heartbeatAt, freshSince),
          ),
        );
      return rows.length > 0;
    },

    /**
     * Takes one account's lease whoever holds it (a member's /panic acts at once, in the process the
     * member asked): the former holder is fenced from its next send on (its stamps require the lease)
     * and drops the account from its next plan. Nothing while this holder's heartbeat is not fresh.
     */
    async seize(
      task: LeaseTask,
      accountId: string,
      holder: string,
      times: { now: Date; freshSince: Date },
    ): Promise<boolean> {
      await db.execute(sql`
        insert into ${accountLeases} (task, account_id, holder, changed_at)
        select ${task}, a.id, null, ${at(times.now)} from ${exchangeAccounts} a where a.id = ${accountId}
        on conflict do nothing`);
      const taken = await executeRows<{ account_id: string }>(
        db,
        sql`update ${accountLeases} set holder = ${holder}, changed_at = ${at(times.now)}
          where task = ${task} and account_id = ${accountId}
            and exists (select 1 from ${engineInstances} where id = ${holder} and heartbeat_at >= ${at(times.freshSince)})
          returning account_id`,
      );
      return taken.length > 0;
    },

    /** Who holds each lease of a task (tests and diagnostics). */
    async holders(task: LeaseTask): Promise<Map<string, string | null>> {
      const rows = await db
        .select()
        .from(accountLeases)
        .where(sql`${accountLeases.task} = ${task}`);
      return new Map(rows.map((row) => [row.accountId, row.holder]));
    },
  };
}

export type LeasesRepository = ReturnType<typeof leasesRepository>;
