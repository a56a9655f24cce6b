/** Green, amber or red on the overview. */
export type Health = 'ok' | 'stale' | 'failing';

export interface HealthInput {
  /** The listing of the target failed with this message. */
  listingError?: string;
  /** The last push to the target, from history. */
  lastPush?: { status: 'success' | 'failure' | 'skipped'; error?: string; reason?: string } | null;
  /** Creation time (ms) of the newest complete archive not dated in the future. */
  newest?: number;
  staleAfterSeconds: number;
  now: number;
}

/**
 * Red when the target cannot be read or its last push failed; amber when it
 * holds no archive or its newest is older than `stale_after` (also when
 * an optional drive was skipped); green otherwise. The reason is shown beside the colour, in plain words.
 */
export function targetHealth(i: HealthInput): { health: Health; reason: string } {
  if (i.listingError) return { health: 'failing', reason: `cannot be read: ${i.listingError}` };
  if (i.lastPush?.status === 'failure') return { health: 'failing', reason: `the last push failed${i.lastPush.error ? `: ${i.lastPush.error}` : ''}` };
  if (i.newest === undefined) return { health: 'stale', reason: 'no archive yet' };
  if (i.now - i.newest > i.staleAfterSeconds * 1000) return { health: 'stale', reason: 'the newest archive is older than stale_after' };
  if (i.lastPush?.status === 'skipped') return { health: 'ok', reason: `up to date; the last run skipped it${i.lastPush.reason ? `: ${i.lastPush.reason}` : ''}` };
  return { health: 'ok', reason: 'up to date' };
}

export const HEALTH_LABEL: Record<Health, string> = { ok: 'Healthy', stale: 'Stale', failing: 'Failing' };
