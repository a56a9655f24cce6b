import { z } from 'zod';

/**
 * The `resume_timeout` option of targets whose uploads resume after a
 * failure: seconds without progress before the target fails, default 120,
 * 0 to fail at once, at most 6 hours (well within the 24 hours after which
 * a later run sweeps an abandoned partial upload).
 */
export function resumeTimeout(description: string) {
  return z.number().int().min(0).max(6 * 3600).default(120).describe(description);
}
