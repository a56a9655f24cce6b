import { splitUrlCredentials } from '../../util/redact-url.js';

export interface HttpRequest {
  method?: 'POST' | 'PUT';
  body: string;
  headers: Record<string, string>;
}

/** The longest service error text quoted in a failure. */
const MAX_REASON = 200;

/**
 * Sends one request and rejects on a network error or a non-2xx answer. The
 * error says `HTTP <status> <text>` plus the reason the service gave in its
 * JSON error body (`description`, `message`, `error`), with every string of
 * `secrets` blanked out, and never the URL. `user:pass@` in the URL is sent
 * as HTTP Basic auth (an explicit Authorization header wins), never as part
 * of the URL. Resolves with the answer's body text.
 */
export async function send(target: string, init: HttpRequest, signal: AbortSignal, secrets: string[] = []): Promise<string> {
  const { url, authorization } = splitUrlCredentials(target);
  const headers = authorization && !Object.keys(init.headers).some((h) => h.toLowerCase() === 'authorization') ? { ...init.headers, Authorization: authorization } : init.headers;
  const res = await fetch(url, { method: init.method ?? 'POST', body: init.body, headers, signal, redirect: 'follow' });
  const text = await res.text().catch(() => '');
  if (!res.ok) {
    const reason = serviceReason(text);
    const scrubbed = secrets.filter((s) => s.length > 0).reduce((r, s) => r.split(s).join('***'), reason ?? '');
    throw new Error(`HTTP ${res.status} ${res.statusText}`.trim() + (scrubbed ? `: ${scrubbed.slice(0, MAX_REASON)}` : ''));
  }
  return text;
}

/** The human reason in a JSON error answer (Telegram `description`, Discord/Gotify `message`/`errorDescription`, Matrix `error`). */
function serviceReason(text: string): string | undefined {
  try {
    const j = JSON.parse(text) as Record<string, unknown>;
    const r = j.description ?? j.errorDescription ?? j.message ?? j.error;
    return typeof r === 'string' ? r : undefined;
  } catch {
    return undefined;
  }
}
