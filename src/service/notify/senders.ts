import { createHmac } from 'node:crypto';
import type { NotifierConfig } from '../../config/service.js';
import { splitUrlCredentials } from '../../util/redact-url.js';
import { describeFailure, runShell } from '../../util/spawn.js';
import { humanSummary, type NotifyPayload } from './payload.js';

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

/** POSTs once; `user:pass@` in the URL is sent as HTTP Basic auth (an explicit Authorization header wins), never as part of the URL. */
async function post(target: string, init: { body: string; headers: Record<string, string> }, signal: AbortSignal): Promise<void> {
  const { url, authorization } = splitUrlCredentials(target);
  const headers = authorization && !Object.keys(init.headers).some((h) => h.toLowerCase() === 'authorization') ? { ...init.headers, Authorization: authorization } : init.headers;
  const res = await fetch(url, { method: 'POST', body: init.body, headers, signal, redirect: 'follow' });
  await res.arrayBuffer().catch(() => undefined);
  if (!res.ok) throw new Error(`HTTP ${res.status} ${res.statusText}`.trim());
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

export const sendWebhook: Sender<'webhook'> = async (n, d, signal) => {
  if (d.kind !== 'result') return;
  const body = JSON.stringify(d.payload);
  const headers: Record<string, string> = {
    ...n.headers,
    'Content-Type': 'application/json',
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
  // A test message is logged on the check without changing its state (Healthchecks' /log endpoint).
  if (p.kind === 'test') return post(`${base}/log`, { body: `${humanSummary(p).title}\n${humanSummary(p).message}\n`, headers: { 'Content-Type': 'text/plain; charset=utf-8' } }, signal);
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
