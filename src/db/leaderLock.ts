import { takeSessionLock, type SessionLock } from './lockConnection';

/**
 * Leadership held as session advisory locks, each on a connection of its own: one per Discord
 * gateway shard. The server frees a lock the moment its connection
 * closes (the holder died, was killed, or its connection was terminated), and `onLost` tells the
 * holder at once, so it stops before another process can have started the same. `verify` asks the
 * server whether the session still holds the lock (a session dropped while the socket here stayed open).
 */
export type LeaderLock = SessionLock;

/** What a leadership lock is for: one gateway shard of `count`. */
export type LeaderRole = { readonly kind: 'shard'; readonly id: number; readonly count: number };

/**
 * The key (one int8 key: objsubid 1) under which versions before shards held the whole Discord side
 * (gateway and feed): a process of such a version still holding it keeps every shard refused.
 */
export const FEED_LOCK_KEY = 727_274_001;
/**
 * Shard locks use the two-int4 form (objsubid 2): this class, and `count × SHARD_SLOT + id`, so a
 * process can see whether another runs the gateway with another shard count.
 */
export const SHARD_LOCK_CLASS = 727_274_010;
export const SHARD_SLOT = 10_000;

/**
 * Shard `id` of `count`, or null when another process holds it, or when some process holds a shard
 * under another count (`onOtherCount` is told which; null: a process of a version before shards
 * holds the whole gateway): two processes whose counts differ would each route a server to a shard
 * of their own, and both would answer its interactions. The lock is taken
 * before the others are looked for, so of two processes racing with different counts at least one
 * sees the other.
 */
export function tryShardLock(
  url: string,
  shard: { readonly id: number; readonly count: number },
  onLost: () => void,
  onOtherCount: (count: number | null) => void = () => {},
): Promise<LeaderLock | null> {
  const slot = shard.count * SHARD_SLOT + shard.id;
  return takeSessionLock({
    url,
    applicationName: `bot-shard-${shard.id}-of-${shard.count}`,
    onLost,
    take: async (connection) => {
      const [row] = await connection<{ locked: boolean }[]>`select pg_try_advisory_lock(${SHARD_LOCK_CLASS}, ${slot}) as locked`;
      if (row?.locked !== true) return false;
      const [other] = await connection<{ count: number }[]>`
        select (objid::bigint / ${SHARD_SLOT})::int as count from pg_locks
          where locktype = 'advisory' and granted and objsubid = 2 and classid = ${SHARD_LOCK_CLASS}::bigint::oid
            and database = (select oid from pg_database where datname = current_database())
            and objid::bigint / ${SHARD_SLOT} <> ${shard.count}
          limit 1`;
      // A process of a version before shards holds the whole gateway under the feed's key.
      const [older] = other
        ? []
        : await connection<{ pid: number }[]>`
            select l.pid from pg_locks l join pg_stat_activity a on a.pid = l.pid
              where l.locktype = 'advisory' and l.granted and l.objsubid = 1 and l.classid = 0
                and l.objid = ${FEED_LOCK_KEY}::bigint::oid
                and l.database = (select oid from pg_database where datname = current_database())
                and a.application_name = 'bot-leader'
              limit 1`;
      if (!other && !older) return true;
      await connection`select pg_advisory_unlock(${SHARD_LOCK_CLASS}, ${slot})`;
      onOtherCount(other ? other.count : null);
      return false;
    },
    stillHeld: async (connection) => {
      const [row] = await connection<{ held: boolean }[]>`select exists (
          select 1 from pg_locks where pid = pg_backend_pid() and locktype = 'advisory' and granted
            and objsubid = 2 and classid = ${SHARD_LOCK_CLASS}::bigint::oid and objid = ${slot}::bigint::oid) as held`;
      return row?.held === true;
    },
  });
}
