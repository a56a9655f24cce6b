import { hostname } from 'node:os';
import type { NotifyEvent } from '../../config/service.js';
import { exitCodeForStatus } from '../../exit-codes.js';
import type { RunResult } from '../../state/types.js';

/** One per-target line of a notification. */
export interface NotifyTarget {
  target: string;
  status: 'success' | 'failure' | 'skipped';
  bytes: number;
  duration_ms: number;
  error?: string;
  /** The StorageError code of a failed push (NOT_MOUNTED, AUTH, ...). */
  error_code?: string;
  /** Why an optional target was skipped (status `skipped`). */
  reason?: string;
}

/**
 * The JSON every notifier gets: the webhook body, the command's stdin. It
 * never holds a secret (errors are the run's already-redacted messages).
 */
export interface NotifyPayload {
  kind: 'run' | 'verify';
  job: string;
  host: string;
  status: NotifyEvent;
  /** The exit code `ferry run` / `ferry verify` gives for this outcome. */
  exit_code: number;
  run_id?: string;
  archive?: string;
  size?: number;
  description?: string;
  started: string;
  ended: string;
  duration_ms: number;
  error?: string;
  targets: NotifyTarget[];
  warnings: number;
  /** With status `partial`: the failed targets, failed prunes and unreadable files (as in `last_run.json`). */
  attention?: { failed_targets: string[]; failed_prunes: { target: string; error: string }[]; unreadable: { path: string; message: string }[] };
}

export function runPayload(result: RunResult): NotifyPayload {
  return {
    kind: 'run',
    job: result.job,
    host: hostname(),
    status: result.status,
    exit_code: exitCodeForStatus(result.status),
    run_id: result.id,
    archive: result.archive,
    size: result.size,
    description: result.description,
    started: result.started,
    ended: result.ended,
    duration_ms: Date.parse(result.ended) - Date.parse(result.started),
    error: result.error,
    targets: result.targets.map((t) => ({ target: t.target, status: t.status, bytes: t.bytes, duration_ms: t.durationMs, error: t.error, error_code: t.errorCode, reason: t.reason })),
    warnings: result.warnings.length,
    attention: result.attention && {
      failed_targets: result.attention.failedTargets,
      failed_prunes: result.attention.failedPrunes,
      unreadable: result.attention.unreadable,
    },
  };
}

export interface VerifyOutcome {
  target: string;
  ok: boolean;
  archive?: string;
  error?: string;
  durationMs: number;
}

/** A scheduled verification: success when every target read back, partial when some did. */
export function verifyPayload(job: string, outcomes: VerifyOutcome[], started: Date, ended: Date): NotifyPayload {
  const ok = outcomes.filter((o) => o.ok).length;
  const status: NotifyEvent = ok === outcomes.length ? 'success' : ok === 0 ? 'failure' : 'partial';
  return {
    kind: 'verify',
    job,
    host: hostname(),
    status,
    exit_code: exitCodeForStatus(status),
    archive: outcomes.find((o) => o.archive)?.archive,
    started: started.toISOString(),
    ended: ended.toISOString(),
    duration_ms: ended.getTime() - started.getTime(),
    error: outcomes.find((o) => o.error)?.error,
    targets: outcomes.map((o) => ({ target: o.target, status: o.ok ? 'success' : 'failure', bytes: 0, duration_ms: o.durationMs, error: o.error })),
    warnings: 0,
  };
}

/** A one-line title and a short text body for human channels (ntfy, ping bodies). */
export function humanSummary(p: NotifyPayload): { title: string; message: string } {
  const what = p.kind === 'verify' ? 'verification' : 'backup';
  const title = `ferry ${p.job}: ${what} ${p.status}`;
  const lines = [
    p.archive ? `archive ${p.archive}` : undefined,
    ...p.targets.map((t) => `${t.target}: ${t.status}${t.error_code ? ` [${t.error_code}]` : ''}${t.error ?? t.reason ? ` (${t.error ?? t.reason})` : ''}`),
    p.error && !p.targets.length ? `error: ${p.error}` : undefined,
    ...(p.attention?.failed_prunes ?? []).map((f) => `${f.target}: prune failed (${f.error})`),
    p.attention?.unreadable.length ? `${p.attention.unreadable.length} unreadable file(s), e.g. ${p.attention.unreadable[0]!.path}` : undefined,
    `${p.host}, ${(p.duration_ms / 1000).toFixed(1)}s`,
  ];
  return { title, message: lines.filter((l) => l !== undefined).join('\n') };
}
