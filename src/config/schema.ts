import { z } from 'zod';
import { ADAPTERS } from '../../adapters/index.js';
import { incrementalSchema } from './incremental.js';
import { keepSchema, type KeepPolicy } from './keep.js';
import { secret } from './secret.js';
import { apiSchema, cronSchema, durationSchema, notifySchema, verifyScheduleSchema } from './service.js';
import { sourceSchema } from './sources.js';

export const JOB_RE = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const TARGET_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/** True when `Intl` (and so retention and the scheduler) knows the zone. */
export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** An IANA time zone name, checked when the config is loaded so a typo is a config error, not a failing prune. */
const timezoneSchema = z.string().refine(isTimeZone, {
  error: (issue) => `unknown time zone ${JSON.stringify(issue.input)}; use an IANA name such as Europe/Berlin or UTC`,
});

/** Keys every target accepts, whatever its type. */
const commonTargetKeys = {
  keep: keepSchema.describe('Retention for this target'),
  timezone: timezoneSchema.optional().describe('IANA zone for retention buckets; default: local time'),
  retries: z.number().int().min(0).max(20).default(3).describe('Retries of retryable errors, with backoff'),
  concurrency: z.number().int().min(1).max(64).optional().describe('Parallel operations on this target'),
  stale_after: durationSchema.optional().describe('The dashboard shows the target amber when its newest archive is older; default: the job\'s stale_after'),
  format: z.enum(['archive', 'tree']).default('archive').describe('archive: one tar.gz per run; tree: a browsable directory per run, unchanged files hard-linked to the previous one (local, usb, rsync, sftp)'),
  encrypt: z.boolean().optional().describe('false: this target stores unencrypted although the job encrypts (required for format: tree with job encryption)'),
  verify_unchanged: z.enum(['metadata', 'hash']).default('metadata').describe('format: tree: a file is hard-linked when size, mtime and mode match the previous snapshot (metadata), and with hash also its sha256'),
};

function targetSchema() {
  const variants = ADAPTERS.map((def) =>
    z.strictObject({ type: z.literal(def.type), ...commonTargetKeys, ...def.options }),
  );
  return z.discriminatedUnion('type', variants as unknown as [z.ZodObject, ...z.ZodObject[]]);
}

export const encryptionSchema = z
  .strictObject({
    recipients: z.array(z.string().regex(/\S/, 'a recipient must not be empty')).min(1, 'recipients is empty; list at least one recipient').optional().describe('age X25519 (age1...) or ssh-ed25519 recipients'),
    recipients_file: z.string().min(1).optional().describe('File with one recipient per line'),
    ...secret('passphrase', 'Passphrase for scrypt encryption'),
  })
  .refine(
    (e) => [e.recipients ?? e.recipients_file, e.passphrase ?? e.passphrase_file].filter((v) => v !== undefined).length === 1,
    'set exactly one of recipients / recipients_file or passphrase / passphrase_file',
  );

export const configSchema = z.strictObject({
  $schema: z.string().optional(),
  job: z.string().regex(JOB_RE, 'job must match [a-z0-9][a-z0-9._-]{0,63}'),
  state_dir: z.string().min(1).optional().describe('Lock and state files; default $XDG_STATE_HOME/ferry/<job>'),
  staging_dir: z.string().min(1).optional().describe('Temporary files (database dumps, command output, rsync uploads); created with mode 0700 when missing; default: the system temp dir'),
  sources: z.array(sourceSchema).min(1),
  inventory: z
    .strictObject({ commands: z.record(z.string(), z.string().min(1)).default({}) })
    .default({ commands: {} }),
  compression: z.strictObject({ level: z.number().int().min(1).max(9).default(6) }).default({ level: 6 }),
  encryption: encryptionSchema.optional(),
  incremental: incrementalSchema.optional().describe('Incremental archives between full ones'),
  hooks: z
    .strictObject({
      before: z.array(z.string().min(1)).default([]),
      after: z.array(z.string().min(1)).default([]),
      timeout: z.number().int().min(1).default(300).describe('Seconds before a hook is killed'),
    })
    .default({ before: [], after: [], timeout: 300 }),
  schedule: cronSchema.optional().describe('Cron expression used by `ferry daemon`'),
  timezone: timezoneSchema.optional().describe('IANA zone for the schedule and retention; default: local time'),
  jitter: durationSchema.optional().describe('Random delay of up to this long after each scheduled time (seconds, or "10m")'),
  notify: z.array(notifySchema).default([]).describe('Where run outcomes are sent'),
  verify: verifyScheduleSchema.optional().describe('Scheduled read-back of the latest archive in `ferry daemon`'),
  api: apiSchema.optional().describe('`ferry serve` settings'),
  stale_after: durationSchema.default(26 * 3600).describe('The dashboard shows a target amber when its newest archive is older (default 26h)'),
  targets: z.record(z.string().regex(TARGET_NAME_RE, 'target names are letters, digits, _ and -'), targetSchema())
    .refine((t) => Object.keys(t).length > 0, 'at least one target is required'),
});

/** Keys every target has after validation; the rest are the adapter's own options. */
export type TargetConfig = {
  type: string;
  keep: KeepPolicy;
  timezone?: string;
  retries: number;
  concurrency?: number;
  stale_after?: number;
  format?: 'archive' | 'tree';
  encrypt?: boolean;
  verify_unchanged?: 'metadata' | 'hash';
} & Record<string, unknown>;
export type Config = Omit<z.infer<typeof configSchema>, 'targets'> & { targets: Record<string, TargetConfig> };
export type EncryptionConfig = z.infer<typeof encryptionSchema>;
