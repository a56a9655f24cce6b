import { hostname } from 'node:os';
import type { NotifierConfig } from '../../config/service.js';
import { describeError } from '../../errors.js';
import { deliver, notifierLabel } from './index.js';
import type { NotifyPayload } from './payload.js';
import { FORMAT_VERSION } from '../../util/json-document.js';

export interface NotifierTest {
  notifier: string;
  ok: boolean;
  error?: string;
}

/** The payload of a test message: kind `test`, status `success`, no archive and no targets. */
export function testPayload(job: string, now = new Date()): NotifyPayload {
  const at = now.toISOString();
  return { format_version: FORMAT_VERSION, kind: 'test', job, host: hostname(), status: 'success', exit_code: 0, started: at, ended: at, duration_ms: 0, targets: [], warnings: 0 };
}

/**
 * Sends one test message through every notifier, whatever its `on` list,
 * each bounded by its `timeout` (`ferry check --notify`). Healthchecks gets
 * it on its `/log` endpoint, which records it without changing the check's
 * state. Resolves with each notifier's outcome; never rejects.
 */
export async function sendTestMessages(notifiers: NotifierConfig[], job: string): Promise<NotifierTest[]> {
  const payload = testPayload(job);
  const results = await Promise.allSettled(notifiers.map((n) => deliver(n, { kind: 'result', payload }, AbortSignal.timeout(n.timeout * 1000))));
  return results.map((r, i) => {
    const notifier = notifierLabel(notifiers[i]!, i);
    if (r.status === 'fulfilled') return { notifier, ok: true };
    const err = r.reason as Error;
    return { notifier, ok: false, error: err?.name === 'TimeoutError' ? `no answer within ${notifiers[i]!.timeout}s` : describeError(err) };
  });
}
