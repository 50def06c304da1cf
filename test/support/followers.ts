import { createCopyPositions } from '../../src/copy/copyPositions';
import { createPositionSync, type PositionSyncDeps } from '../../src/trading/positionSync';

/**
 * A test composition's position followers for the services' /panic: one process, so no leases (the
 * app builds its own once, with them).
 */
export function oneProcessFollowers(deps: Pick<PositionSyncDeps, 'store' | 'gateways' | 'clock' | 'log'>) {
  return { sync: createPositionSync(deps), copies: createCopyPositions(deps) };
}
