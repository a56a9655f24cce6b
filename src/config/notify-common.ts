import { z } from 'zod';

/** Run outcomes a notifier can be told about. */
export const NOTIFY_EVENTS = ['success', 'failure', 'partial'] as const;
export type NotifyEvent = (typeof NOTIFY_EVENTS)[number];

/** Keys every notifier accepts. */
export const notifierCommon = {
  on: z.array(z.enum(NOTIFY_EVENTS)).min(1).optional()
    .describe('Outcomes that notify; default [failure, partial] (healthchecks: all)'),
  timeout: z.number().int().min(1).max(300).default(10).describe('Seconds before the sender gives up'),
};
