import { z } from 'zod';

/** A duration of days, hours or minutes (`8d`, `36h`, `90m`), as seconds. */
const chainAgeSchema = z
  .string()
  .regex(/^\d+\s*[dhm]$/, 'a duration such as "8d", "36h" or "90m"')
  .transform((v) => {
    const n = Number.parseInt(v, 10);
    const unit = v.trim().slice(-1);
    return unit === 'd' ? n * 86400 : unit === 'h' ? n * 3600 : n * 60;
  });

/**
 * `incremental:` at the job level. Every `full_every`th archive is a full
 * one, the others hold only what changed since the previous archive;
 * `full_after` (seconds once parsed) starts a new full archive when the
 * chain's full archive is older than that.
 */
export const incrementalSchema = z.strictObject({
  full_every: z.number().int().min(1).max(1000).describe('Every Nth archive is a full archive; the ones between are incremental'),
  full_after: chainAgeSchema.optional().describe('Start a new full archive when the chain is older than this ("8d", "36h")'),
});

export type IncrementalConfig = z.infer<typeof incrementalSchema>;
