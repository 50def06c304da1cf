-- Copied positions are followed from this release on (src/copy/copyPositions.ts books every copy
-- fill whose orders.position_id is null). Fills copied before it are marked as booked into no
-- position, so an upgrade does not replay the whole copy history into today's statistics (and
-- report long-gone positions as closed outside the bot). Positions open at the upgrade are not
-- followed, as positions open when an account became a master are not copied.
UPDATE "orders" SET "position_id" = '00000000-0000-0000-0000-000000000000'
WHERE "position_id" IS NULL
  AND "signal_id" IN (SELECT "id" FROM "signals" WHERE "source" = 'copy');
