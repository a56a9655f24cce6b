import { z } from 'zod';
import { UsageError } from '../../errors.js';

/** Request bodies of the API. Unknown keys are rejected, like in the config. */
const targetList = z.array(z.string().min(1).max(64)).max(64);
const archiveRef = z.string().min(1).max(200).describe('archive name or "latest"');

export const runBody = z.strictObject({
  description: z.string().max(1000).optional(),
  targets: targetList.optional(),
});

export const restoreBody = z
  .strictObject({
    archive: archiveRef.default('latest'),
    from: z.string().min(1).optional(),
    at: z.string().min(1).optional(),
    to: z.string().min(1).max(4096).optional().describe('destination inside api.restore_root'),
    source: z.string().min(1).optional().describe('restore only this source (its `as` path)'),
    in_place: z.boolean().default(false).describe('restore `source` to its configured location'),
    only: z.array(z.string().min(1)).max(100).optional(),
    force: z.boolean().default(false),
  })
  .refine((b) => (b.to !== undefined) !== b.in_place, 'give either "to" or "in_place": true')
  .refine((b) => !b.in_place || b.source !== undefined, { message: 'in_place needs "source"', path: ['source'] });

export const pruneBody = z.strictObject({ dry_run: z.boolean().default(false), targets: targetList.optional() });

export const verifyBody = z.strictObject({
  archive: archiveRef.default('latest'),
  target: z.string().min(1).optional(),
  all: z.boolean().default(false),
});

/** A request body, parameter or query that cannot be served as asked (400). */
export class BadRequest extends UsageError {}

/** Parses a body (a missing body is `{}`); any problem is a 400 naming the field. */
export function parseBody<T extends z.ZodType>(schema: T, body: unknown): z.infer<T> {
  const r = schema.safeParse(body ?? {});
  if (r.success) return r.data;
  const msg = r.error.issues.map((i) => {
    const where = i.path.join('.');
    return i.code === 'unrecognized_keys' ? `unknown field(s): ${i.keys.join(', ')}` : `${where ? `${where}: ` : ''}${i.message}`;
  }).join('; ');
  throw new BadRequest(msg);
}
