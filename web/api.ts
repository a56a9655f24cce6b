// The page talks only to Ferry's own REST API, relative to the page, so it works under any base path.

export interface SessionInfo {
  job: string;
  auth: 'session' | 'bearer' | 'none';
  csrf: string | null;
  expires: string | null;
  restore: { allowed: boolean; root: string | null };
}
export interface TargetPush { target: string; status: 'success' | 'failure' | 'skipped'; bytes: number; duration_ms: number; error?: string; error_code?: string; reason?: string; prune_error?: string }
export interface RunResult {
  status: 'success' | 'partial' | 'failure'; started: string; ended: string; archive?: string; size?: number; description?: string;
  targets: TargetPush[]; error?: string; warnings: string[];
  attention?: { failed_targets: string[]; failed_prunes: { target: string; error: string }[]; unreadable: { path: string; message: string }[] };
}
export interface Status {
  job: string; last_run: RunResult | null; next_run: string | null; running: string | null; current_run: string | null;
  targets: { target: string; last: TargetPush | null; last_success: string | null }[];
}
export interface TargetInfo { name: string; type: string; keep: unknown; stale_after: number }
export interface Archive { name: string; size: number; created: string; encrypted: boolean; future?: true; description?: string; level?: string | number }
export interface Listing { target: string; archives: Archive[]; incomplete: number; foreign: { name: string }[]; warnings: string[]; error?: string }
export interface RunRecord {
  id: string; state: 'running' | 'finished';
  progress: { archive_read: number; archive_written: number; estimate?: number; targets: Record<string, number> };
  result?: RunResult; error?: string; exit_code?: number;
}
export interface PrunePlan { targets: { target: string; plan?: { name: string; action: 'keep' | 'delete'; reasons: string[] }[]; error?: string }[] }
export interface VerifyReport { target: string; archive?: string; ok: boolean; files?: number; bytes?: number; contents_read?: boolean; error?: string }
export interface Manifest { archive: string; sources: { as: string; kind: string; files: number; bytes: number }[] }

export class ApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

let csrf: string | null = null;

/** Kept in memory only: never in storage, the URL or the page. */
export function setCsrf(token: string | null): void {
  csrf = token;
}

export const pageUrl = (path: string) => new URL(path, document.baseURI).toString();

export function goSignIn(): void {
  location.replace(pageUrl('sign-in'));
}

/** Calls the API; a 401 (no or an expired session) goes to sign-in. Errors carry the API's message. */
export async function api<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const method = init.method ?? 'GET';
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (init.body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && csrf) headers['X-CSRF-Token'] = csrf;
  const r = await fetch(pageUrl(path), {
    method, headers, credentials: 'same-origin', cache: 'no-store',
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  if (r.status === 401 && !(path === 'api/session' && method === 'POST')) {
    goSignIn();
    throw new ApiError(401, 'signed out');
  }
  const text = await r.text();
  const data = text ? JSON.parse(text) as unknown : undefined;
  if (!r.ok) throw new ApiError(r.status, (data as { error?: string } | undefined)?.error ?? `${r.status} ${r.statusText}`);
  return data as T;
}

export const query = (params: Record<string, string>) => `?${new URLSearchParams(params).toString()}`;
