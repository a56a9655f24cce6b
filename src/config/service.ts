import { Cron } from 'croner';
import { z } from 'zod';
import { discordSchema, emailSchema, gotifySchema, matrixSchema, slackSchema, telegramSchema } from './notifiers.js';
import { notifierCommon as common, NOTIFY_EVENTS, type NotifyEvent } from './notify-common.js';
import { templateSchema } from './notify-template.js';
import { secret } from './secret.js';

export { NOTIFY_EVENTS, type NotifyEvent };

/** A cron expression croner accepts (5 fields, 6 with seconds, or a nickname such as `@daily`). */
export const cronSchema = z.string().min(1).superRefine((expr, ctx) => {
  try {
    new Cron(expr, { paused: true });
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: `invalid cron expression: ${(err as Error).message}` });
  }
});

/** `30`, `"30s"`, `"10m"`, `"1h"`: a duration in seconds. */
export const durationSchema = z
  .union([z.number().int().min(0), z.string().regex(/^\d+\s*[smh]?$/, 'a duration such as 90, "30s", "10m" or "1h"')])
  .transform((v) => {
    if (typeof v === 'number') return v;
    const n = Number.parseInt(v, 10);
    const unit = v.trim().slice(-1);
    return unit === 'h' ? n * 3600 : unit === 'm' ? n * 60 : n;
  });

const ntfySchema = z.strictObject({
  type: z.literal('ntfy'),
  server: z.string().url().default('https://ntfy.sh').describe('ntfy server'),
  topic: z.string().min(1).describe('Topic to publish to'),
  ...secret('token', 'ntfy access token'),
  priority: z.union([z.number().int().min(1).max(5), z.enum(['min', 'low', 'default', 'high', 'max', 'urgent'])]).optional()
    .describe('Message priority; default high for failures, default otherwise'),
  ...common,
});

const webhookSchema = z.strictObject({
  type: z.literal('webhook'),
  url: z.string().url().describe('Receives a POST with the run result as JSON'),
  ...secret('hmac_secret', 'Shared secret: the body is signed with HMAC-SHA256'),
  signature_header: z.string().min(1).default('X-Ferry-Signature').describe('Header carrying "sha256=<hex>"'),
  headers: z.record(z.string(), z.string()).default({}).describe('Extra request headers'),
  template: templateSchema.optional()
    .describe('Request body instead of the payload: a map (sent as JSON) or text (sent as it is), with {{job}}, {{status}}, {{message}}, ... in its strings'),
  ...common,
});

const healthchecksSchema = z.strictObject({
  type: z.literal('healthchecks'),
  url: z.string().url().describe('Ping URL of the check, e.g. https://hc-ping.com/<uuid>'),
  exit_code: z.boolean().default(false).describe('Report outcomes through the /<exit-code> endpoint instead of /fail'),
  start: z.boolean().default(true).describe('Ping /start when a scheduled or API run begins'),
  ...common,
});

const commandSchema = z.strictObject({
  type: z.literal('command'),
  command: z.string().min(1).describe('Shell command; the result JSON arrives on stdin'),
  ...common,
});

export const notifySchema = z.discriminatedUnion('type', [
  ntfySchema, webhookSchema, healthchecksSchema, commandSchema,
  emailSchema, discordSchema, slackSchema, telegramSchema, gotifySchema, matrixSchema,
]);
export type NotifierConfig = z.infer<typeof notifySchema>;

export const verifyScheduleSchema = z.strictObject({
  schedule: cronSchema.describe('Cron expression for scheduled verification in `ferry daemon`'),
  target: z.string().min(1).optional().describe('Target to verify on; default: every target'),
  sample: z.literal('latest').default('latest').describe('Which archive to read back'),
  identity_file: z.string().min(1).optional().describe('age identity to decrypt recipient-encrypted archives'),
});

export const apiSchema = z
  .strictObject({
    listen: z.string().regex(/^(\[[0-9a-fA-F:]+\]|[^:\s]+):\d{1,5}$/, 'HOST:PORT').default('127.0.0.1:8787')
      .describe('Address of `ferry serve`'),
    ...secret('token', 'Bearer token every request except /api/health must carry'),
    insecure_no_auth: z.boolean().default(false).describe('Allow no token, only on a loopback address'),
    allow_restore: z.boolean().default(false).describe('Enable POST /api/restore'),
    restore_root: z.string().min(1).optional().describe('Restores through the API may only write inside this directory'),
  })
  .refine((a) => !a.allow_restore || a.restore_root !== undefined, { message: 'allow_restore needs restore_root', path: ['restore_root'] });
export type ApiConfig = z.infer<typeof apiSchema>;
