import type { LoadedConfig } from '../../config/load.js';
import type { NotifierConfig, NotifyEvent } from '../../config/service.js';
import { describeError } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { RunResult } from '../../state/types.js';
import { runPayload, type NotifyPayload } from './payload.js';
import { sendDiscord, sendGotify, sendMatrix, sendSlack, sendTelegram } from './chat.js';
import { sendEmail } from './email.js';
import { pingHealthchecks, runCommandNotifier, sendNtfy, sendWebhook, type Delivery } from './senders.js';

const DEFAULT_ON: readonly NotifyEvent[] = ['failure', 'partial'];
const ALL: readonly NotifyEvent[] = ['success', 'failure', 'partial'];

/** The outcomes a notifier reports: its `on`, else all for healthchecks (a silent check means trouble) and failure + partial for the rest. */
export function eventsFor(n: NotifierConfig): readonly NotifyEvent[] {
  return n.on ?? (n.type === 'healthchecks' ? ALL : DEFAULT_ON);
}

/** The URL whose host names a notifier in logs (none for command and email). */
function notifierUrl(n: NotifierConfig): string | undefined {
  switch (n.type) {
    case 'ntfy': case 'gotify': return n.server;
    case 'webhook': case 'healthchecks': return n.url;
    case 'discord': case 'slack': return n.webhook_url;
    case 'telegram': return n.api_url;
    case 'matrix': return n.homeserver;
    case 'command': case 'email': return undefined;
  }
}

/** A label for logs: the type and host, never the URL's path, query or a token. */
export function notifierLabel(n: NotifierConfig, index: number): string {
  if (n.type === 'command') return `notify[${index}] (command)`;
  if (n.type === 'email') return `notify[${index}] (email ${n.host})`;
  const url = notifierUrl(n) ?? '';
  let host = '?';
  try {
    host = new URL(url).host;
  } catch {
    // a secret URL is only checked when it is used
  }
  return `notify[${index}] (${n.type} ${host})`;
}

async function deliver(n: NotifierConfig, d: Delivery, signal: AbortSignal): Promise<void> {
  switch (n.type) {
    case 'ntfy': return sendNtfy(n, d, signal);
    case 'webhook': return sendWebhook(n, d, signal);
    case 'healthchecks': return pingHealthchecks(n, d, signal);
    case 'command': return runCommandNotifier(n, d, signal);
    case 'email': return sendEmail(n, d, signal);
    case 'discord': return sendDiscord(n, d, signal);
    case 'slack': return sendSlack(n, d, signal);
    case 'telegram': return sendTelegram(n, d, signal);
    case 'gotify': return sendGotify(n, d, signal);
    case 'matrix': return sendMatrix(n, d, signal);
  }
}

/**
 * Sends `d` to every configured notifier that wants it, in parallel, each
 * bounded by its `timeout`. Never rejects: a failing notifier is logged as
 * a warning and changes nothing else. Resolves with the number that failed.
 */
export async function dispatch(notifiers: NotifierConfig[], d: Delivery, log: Logger): Promise<number> {
  const chosen = notifiers
    .map((n, i) => ({ n, i }))
    .filter(({ n }) => (d.kind === 'start' ? n.type === 'healthchecks' : eventsFor(n).includes(d.payload.status)));
  const results = await Promise.allSettled(chosen.map(({ n }) => deliver(n, d, AbortSignal.timeout(n.timeout * 1000))));
  let failed = 0;
  results.forEach((r, k) => {
    const label = notifierLabel(chosen[k]!.n, chosen[k]!.i);
    if (r.status === 'rejected') {
      failed++;
      const err = r.reason as Error;
      const why = err?.name === 'TimeoutError' ? `no answer within ${chosen[k]!.n.timeout}s` : describeError(err);
      log.warn(`${label}: notification failed: ${why}`);
    } else {
      log.debug(`${label}: notified`);
    }
  });
  return failed;
}

/** Reports a finished run (`ferry run`, the daemon, the API). Dry runs notify nobody. Never rejects. */
export async function notifyRun(config: LoadedConfig, result: RunResult, log: Logger): Promise<void> {
  if (result.dryRun || config.notify.length === 0) return;
  await dispatch(config.notify, { kind: 'result', payload: runPayload(result) }, log);
}

/** Reports the start of a run to healthchecks-style notifiers. Never rejects. */
export async function notifyStart(config: LoadedConfig, log: Logger): Promise<void> {
  if (config.notify.length === 0) return;
  await dispatch(config.notify, { kind: 'start' }, log);
}

/** Reports any other outcome (scheduled verification). Never rejects. */
export async function notifyPayload(config: LoadedConfig, payload: NotifyPayload, log: Logger): Promise<void> {
  if (config.notify.length === 0) return;
  await dispatch(config.notify, { kind: 'result', payload }, log);
}
