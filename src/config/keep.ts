import { z } from 'zod';

const count = z.number().int().min(0);

/** `keep: N` or restic-style `keep: { last, hourly, daily, weekly, monthly, yearly }` (README: Retention). */
export const keepSchema = z.union([
  z.number().int().min(1).describe('Keep the newest N complete archives'),
  z
    .strictObject({
      last: count.optional().describe('Keep the newest N archives'),
      hourly: count.optional().describe('Keep the newest archive in each of the last N hours that have one'),
      daily: count.optional().describe('... in each of the last N days'),
      weekly: count.optional().describe('... in each of the last N ISO weeks'),
      monthly: count.optional().describe('... in each of the last N months'),
      yearly: count.optional().describe('... in each of the last N years'),
    })
    .refine((k) => Object.values(k).some((v) => (v ?? 0) > 0), 'keep needs at least one rule above 0'),
]);

export type KeepPolicy = z.infer<typeof keepSchema>;
