import { z } from 'zod';
import { notifierCommon } from './notify-common.js';
import { secret } from './secret.js';

/** `key` (or its `<key>_file` twin) must be set. */
function needs<T extends z.ZodObject>(schema: T, key: string): T {
  return schema.refine((n: Record<string, unknown>) => n[key] !== undefined || n[`${key}_file`] !== undefined, {
    message: `set ${key} (or ${key}_file)`,
    path: [key],
  }) as T;
}

/**
 * Notifiers for chat and mail services. Each sends the human summary of a
 * run (title and text) in the request its service documents; tokens and
 * webhook URLs (which carry a token in their path) are secrets.
 */

export const emailSchema = z.strictObject({
  type: z.literal('email'),
  host: z.string().min(1).describe('SMTP server'),
  port: z.number().int().min(1).max(65535).optional().describe('SMTP port; default 587 for starttls, 465 for tls, 25 for none'),
  tls: z.enum(['starttls', 'tls', 'none']).default('starttls')
    .describe('starttls: upgrade a plain connection and refuse a server without STARTTLS; tls: TLS from the start (SMTPS); none: never encrypt'),
  user: z.string().min(1).optional().describe('SMTP login; without it no authentication is attempted'),
  ...secret('password', 'SMTP password'),
  from: z.string().min(1).describe('Sender address, e.g. "Ferry <ferry@example.com>"'),
  to: z.array(z.string().min(1)).min(1).describe('Recipient addresses'),
  ...notifierCommon,
}).refine((n) => (n.password === undefined && n.password_file === undefined) || n.user !== undefined, { message: 'password needs user', path: ['user'] });

export const discordSchema = needs(z.strictObject({
  type: z.literal('discord'),
  ...secret('webhook_url', 'Discord webhook URL, https://discord.com/api/webhooks/<id>/<token>'),
  username: z.string().min(1).max(80).optional().describe('Name the message is posted under; default: the webhook\'s name'),
  ...notifierCommon,
}), 'webhook_url');

export const slackSchema = needs(z.strictObject({
  type: z.literal('slack'),
  ...secret('webhook_url', 'Slack incoming webhook URL, https://hooks.slack.com/services/...'),
  ...notifierCommon,
}), 'webhook_url');

export const telegramSchema = needs(z.strictObject({
  type: z.literal('telegram'),
  ...secret('bot_token', 'Bot token from @BotFather'),
  chat_id: z.union([z.string().min(1), z.number().int()]).describe('Chat to post to: a numeric id or "@channelname"'),
  api_url: z.string().url().default('https://api.telegram.org').describe('Bot API server'),
  ...notifierCommon,
}), 'bot_token');

export const gotifySchema = needs(z.strictObject({
  type: z.literal('gotify'),
  server: z.string().url().describe('Gotify server, e.g. https://gotify.example.com'),
  ...secret('token', 'Gotify application token'),
  priority: z.number().int().min(0).max(10).optional().describe('Message priority 0-10; default 8 for failures, 5 otherwise'),
  ...notifierCommon,
}), 'token');

export const matrixSchema = needs(z.strictObject({
  type: z.literal('matrix'),
  homeserver: z.string().url().describe('Homeserver base URL, e.g. https://matrix.example.org'),
  room_id: z.string().regex(/^!.+:.+$/, 'a room id such as !abcdef:example.org (Room settings, Advanced)').describe('Room to post to'),
  ...secret('access_token', 'Access token of the account that posts'),
  ...notifierCommon,
}), 'access_token');

