import { createHmac } from 'node:crypto';
import type { NotifierConfig } from '../../config/service.js';
import { describeFailure, runShell } from '../../util/spawn.js';
import { send } from './http.js';
import { humanSummary, type NotifyPayload } from './payload.js';
import { renderTemplate } from './template.js';

type Of<T extends NotifierConfig['type']> = Extract<NotifierConfig, { type: T }>;

/** What a sender is asked to report: an outcome, or (healthchecks only) the start of a run. */
export type Delivery = { kind: 'start' } | { kind: 'result'; payload: NotifyPayload };

/**
 * Each sender delivers once and rejects on any failure (network, non-2xx,
 * non-zero exit). `signal` carries the sender's timeout. Error messages never
 * contain the URL's path or query, nor a token.
 */
export type Sender<T extends NotifierConfig['type']> = (n: Of<T>, d: Delivery, signal: AbortSignal) => Promise<void>;

/** `sha256=<hex>` of the exact body bytes, keyed with the shared secret. */
export function signBody(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** POSTs once (see `send`). */
async function post(target: string, init: { body: string; headers: Record<string, string> }, signal: AbortSignal): Promise<void> {
  await send(target, init, signal);
}

const NTFY_PRIORITY = { min: 1, low: 2, default: 3, high: 4, max: 5, urgent: 5 } as const;

export const sendNtfy: Sender<'ntfy'> = async (n, d, signal) => {
  if (d.kind !== 'result') return;
  const { title, message } = humanSummary(d.payload);
  const failed = d.payload.status !== 'success';
  const priority = typeof n.priority === 'string' ? NTFY_PRIORITY[n.priority] : n.priority ?? (failed ? 4 : 3);
  const headers: Record<string, string> = {
    Title: title,
    Priority: String(priority),
    Tags: failed ? 'warning,floppy_disk' : 'white_check_mark,floppy_disk',
    'Content-Type': 'text/plain; charset=utf-8',
  };
  if (n.token) headers.Authorization = `Bearer ${n.token}`;
  await post(`${n.server.replace(/\/+$/, '')}/${encodeURIComponent(n.topic)}`, { body: message, headers }, signal);
};

/**
 * POSTs the payload as JSON, or the `template` filled in from it: a map
 * template as JSON, a text template as it is (Content-Type from `headers`,
 * else text/plain). The HMAC signature covers the exact body sent.
 */
export const sendWebhook: Sender<'webhook'> = async (n, d, signal) => {
  if (d.kind !== 'result') return;
  const { body, contentType } = n.template === undefined
    ? { body: JSON.stringify(d.payload), contentType: 'application/json' }
    : renderTemplate(n.template, d.payload);
  const given = Object.keys(n.headers).find((h) => h.toLowerCase() === 'content-type');
  const { [given ?? '']: ownType, ...rest } = n.headers;
  const headers: Record<string, string> = {
    ...rest,
    'Content-Type': typeof n.template === 'string' && ownType ? ownType : contentType,
    'User-Agent': 'ferry',
    'X-Ferry-Event': `${d.payload.kind}.${d.payload.status}`,
  };
  if (n.hmac_secret) headers[n.signature_header] = signBody(n.hmac_secret, body);
  await post(n.url, { body, headers }, signal);
};

/**
 * Healthchecks-style pings: `<url>/start` when a run begins; at the end
 * `<url>` on success and `<url>/fail` otherwise, or `<url>/<exit code>`
 * with `exit_code: true`. The body is the human summary.
 */
export const pingHealthchecks: Sender<'healthchecks'> = async (n, d, signal) => {
  const base = n.url.replace(/\/+$/, '');
  if (d.kind === 'start') {
    if (n.start) await post(`${base}/start`, { body: '', headers: {} }, signal);
    return;
  }
  const p = d.payload;
  const url = n.exit_code ? `${base}/${p.exit_code}` : p.status === 'success' ? base : `${base}/fail`;
  const { title, message } = humanSummary(p);
  await post(url, { body: `${title}\n${message}\n`, headers: { 'Content-Type': 'text/plain; charset=utf-8' } }, signal);
};

/**
 * Runs the command with `/bin/sh -c`, the payload as JSON on stdin and
 * FERRY_* variables in its environment. Its output goes to the daemon's
 * stderr; a non-zero exit or the timeout rejects (the timeout stops it and
 * everything it started, by the runner's one kill rule).
 */
export const runCommandNotifier: Sender<'command'> = async (n, d, signal) => {
  if (d.kind !== 'result') return;
  const p = d.payload;
  const r = await runShell(n.command, {
    input: JSON.stringify(p) + '\n',
    stdout: 'stderr',
    stderr: 'stderr',
    env: { FERRY_JOB: p.job, FERRY_STATUS: p.status, FERRY_ARCHIVE: p.archive ?? '', FERRY_KIND: p.kind },
    signal,
  });
  if (r.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('notify command was cancelled');
  const why = describeFailure(r);
  if (why) throw new Error(`notify command ${why}`);
};
