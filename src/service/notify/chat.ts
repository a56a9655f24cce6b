import { randomUUID } from 'node:crypto';
import { send } from './http.js';
import { humanSummary, type NotifyPayload } from './payload.js';
import type { Sender } from './senders.js';

/**
 * Chat services, each with the request its API documents. Every sender posts
 * the human summary (a title line, then one line per target); a failed run
 * is marked as such where the service has a way to. Tokens travel only where
 * the service expects them and are blanked out of any error text.
 */

/** The title and text of a result; start pings are for healthchecks only. */
function summary(p: NotifyPayload): { title: string; message: string; failed: boolean } {
  return { ...humanSummary(p), failed: p.status !== 'success' };
}

/** Cuts `text` to `max` characters (the service's limit), marking the cut. */
function fit(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** A URL-valued secret, checked before use so that a bad one is reported without echoing it. */
function secretUrl(value: string | undefined, key: string): URL {
  try {
    return new URL(value ?? '');
  } catch {
    throw new Error(`${key} is not a valid URL`);
  }
}

const json = (body: unknown, extra: Record<string, string> = {}) => ({ body: JSON.stringify(body), headers: { 'Content-Type': 'application/json', ...extra } });

/**
 * Discord "Execute Webhook": POST `<webhook_url>?wait=true` with `content`
 * (at most 2000 characters). `wait=true` makes Discord confirm the message
 * was saved; mentions in file names never ping anyone (`allowed_mentions`).
 */
export const sendDiscord: Sender<'discord'> = async (n, d, signal) => {
  if (d.kind !== 'result') return;
  const { title, message } = summary(d.payload);
  const url = secretUrl(n.webhook_url, 'webhook_url');
  url.searchParams.set('wait', 'true');
  const body = { content: fit(`**${title}**\n${message}`, 2000), allowed_mentions: { parse: [] }, ...(n.username ? { username: n.username } : {}) };
  await send(url.href, json(body), signal, [n.webhook_url!]);
};

/** Slack's mrkdwn treats `&`, `<` and `>` as markup; its docs ask for them escaped. */
const slackEscape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Slack incoming webhook: POST `<webhook_url>` with `{ text }`. */
export const sendSlack: Sender<'slack'> = async (n, d, signal) => {
  if (d.kind !== 'result') return;
  const { title, message } = summary(d.payload);
  const url = secretUrl(n.webhook_url, 'webhook_url');
  await send(url.href, json({ text: `*${slackEscape(title)}*\n${slackEscape(message)}` }), signal, [n.webhook_url!]);
};

/**
 * Telegram Bot API `sendMessage`: POST `<api_url>/bot<token>/sendMessage`
 * with `chat_id` and `text` (at most 4096 characters), as plain text; a
 * success is delivered silently (`disable_notification`).
 */
export const sendTelegram: Sender<'telegram'> = async (n, d, signal) => {
  if (d.kind !== 'result') return;
  const { title, message, failed } = summary(d.payload);
  const url = `${n.api_url.replace(/\/+$/, '')}/bot${n.bot_token}/sendMessage`;
  const answer = await send(url, json({ chat_id: n.chat_id, text: fit(`${title}\n${message}`, 4096), disable_notification: !failed }), signal, [n.bot_token!]);
  let ok = false;
  try {
    ok = (JSON.parse(answer) as { ok?: unknown }).ok === true;
  } catch {
    // not JSON: not Telegram's answer
  }
  if (!ok) throw new Error('Telegram did not confirm the message (no "ok": true in its answer)');
};

/** Gotify: POST `<server>/message` with the app token in `X-Gotify-Key` and `{ title, message, priority }`. */
export const sendGotify: Sender<'gotify'> = async (n, d, signal) => {
  if (d.kind !== 'result') return;
  const { title, message, failed } = summary(d.payload);
  const priority = n.priority ?? (failed ? 8 : 5);
  await send(`${n.server.replace(/\/+$/, '')}/message`, json({ title, message, priority }, { 'X-Gotify-Key': n.token! }), signal, [n.token!]);
};

/**
 * Matrix client-server API: PUT
 * `/_matrix/client/v3/rooms/<room_id>/send/m.room.message/<txnId>` with the
 * access token as a Bearer token and an `m.text` event. The transaction id
 * is new for every message, so a retry by the server is not a duplicate.
 */
export const sendMatrix: Sender<'matrix'> = async (n, d, signal) => {
  if (d.kind !== 'result') return;
  const { title, message } = summary(d.payload);
  const url = `${n.homeserver.replace(/\/+$/, '')}/_matrix/client/v3/rooms/${encodeURIComponent(n.room_id)}/send/m.room.message/ferry-${randomUUID()}`;
  await send(url, { method: 'PUT', ...json({ msgtype: 'm.text', body: `${title}\n${message}` }, { Authorization: `Bearer ${n.access_token}` }) }, signal, [n.access_token!]);
};
