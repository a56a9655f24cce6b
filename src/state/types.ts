/**
 * Outcome of one run (README: Exit codes): `last_run.json` holds one, `history.jsonl` one per line.
 * `success`: every selected target has the archive, every prune ran, every file was stored;
 * `partial`: stored on at least one target, and `attention` says what else happened;
 * `failure`: stored nowhere (or the run ended before it could be checked).
 */
export type RunStatus = 'success' | 'partial' | 'failure';

export interface TargetResult {
  target: string;
  /** `skipped`: an optional target that was not there (an unplugged drive); `reason` says why. */
  status: 'success' | 'failure' | 'skipped';
  /** Bytes of the archive stored on this target. */
  bytes: number;
  durationMs: number;
  /** Error message (never a secret) and its StorageError code, when the push failed. */
  error?: string;
  errorCode?: string;
  /** Why the target was skipped (status `skipped`). */
  reason?: string;
  /** Archives pruned on this target after the push. */
  pruned?: string[];
  /** Stored bytes those archives took (in a dry run: would be freed). */
  prunedBytes?: number;
  /** Why the prune after a successful push failed; such a run is `partial` (exit 3). */
  pruneError?: string;
  /** With `incremental:`: archives of the chain this target lacked (it missed a run), copied to it before the push, and from which target. */
  filled?: { copied: string[]; from: string };
  /** On a `format: tree` target: the snapshot directory this run stored (`bytes` are the bytes copied, not hard-linked). */
  snapshot?: string;
}

/**
 * What an operator must look at after a run that stored its archive
 * (status `partial`, exit 3). Each list is empty when nothing of that kind
 * happened; `RunResult.attention` is absent when all three are.
 */
export interface RunAttention {
  /** Selected targets that do not hold the archive. */
  failedTargets: string[];
  /** Targets that hold the archive but whose prune failed, with the reason. */
  failedPrunes: { target: string; error: string }[];
  /** Source files or directories that could not be read, as the archive's inventory lists them. */
  unreadable: { path: string; message: string }[];
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
  /** With `incremental:`: 0 for a full archive; its parent and chain length; why it is a full one. */
  level?: number;
  parent?: string;
  chainLength?: number;
  fullBecause?: string;
  targets: TargetResult[];
  /** Present when something needs attention (status `partial`): which targets, prunes and files. */
  attention?: RunAttention;
  /** Why the run failed before any target was tried (hook, source, lock...), or what was still pending when the process ended. */
  error?: string;
  warnings: string[];
}
