/** Outcome of one run (SPEC §7): `last_run.json` holds one, `history.jsonl` one per line. */
export type RunStatus = 'success' | 'partial' | 'failure';

export interface TargetResult {
  target: string;
  status: 'success' | 'failure';
  /** Bytes of the archive stored on this target. */
  bytes: number;
  durationMs: number;
  /** Error message (never a secret) and its StorageError code, when the push failed. */
  error?: string;
  errorCode?: string;
  /** Archives pruned on this target after the push. */
  pruned?: string[];
  pruneError?: string;
}

export interface RunResult {
  /** Unique id of the run (also used by the API). */
  id: string;
  job: string;
  status: RunStatus;
  started: string;
  ended: string;
  archive?: string;
  size?: number;
  sha256?: string;
  description?: string;
  dryRun?: boolean;
  targets: TargetResult[];
  /** Why the run failed before any target was tried (hook, source, lock...). */
  error?: string;
  warnings: string[];
}
