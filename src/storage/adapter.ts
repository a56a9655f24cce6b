import type { Readable } from 'node:stream';

/** What the core needs to know about one stored object. */
export interface ObjectInfo {
  /** Name relative to the target's root (no directory part). */
  key: string;
  size: number;
  /** Last modification time as the backend reports it; may be the upload time. */
  modified: Date;
}

/**
 * The bytes handed to `put`. A body is opened once per attempt; only a
 * `replayable` body may be opened again (the retry wrapper relies on that).
 */
export interface PutBody {
  /** Opens a fresh stream of the bytes. A one-shot body throws on the second call. */
  open(): Readable;
  /** True when `open()` may be called more than once (a file, a buffer). */
  readonly replayable: boolean;
  /** Exact byte length when it is known up front (buffers, finished files). */
  readonly size?: number;
  /** Upper bound on the byte length when the exact size is not known yet (free-space checks, part sizes). */
  readonly sizeHint?: number;
  /** A local file that holds exactly these bytes, when there is one (adapters that need a file use it). */
  readonly path?: string;
}

/** An upload the backend holds that never completed (an S3 multipart upload), invisible to `list`. */
export interface UnfinishedUpload {
  /** The name it would have had, relative to the target's root. */
  key: string;
  /** The backend's identifier of the upload. */
  id: string;
  started: Date;
}

export interface OpOptions {
  signal?: AbortSignal;
}

/** Optional abilities, declared up front so the core can compensate instead of checking adapter types. */
export interface Capabilities {
  /** `put` accepts a stream of unknown length. When false the core hands it a finished local file (`PutBody.path`). */
  streamingPut: boolean;
  /** Calls this target handles well at once (the default `concurrency`; a download holds its slot until its stream ends). */
  maxConcurrency: number;
}

/**
 * One storage target. Adapters only move bytes: naming, manifests,
 * retention and verification belong to the core.
 *
 * Keys are flat names (`mss-20261122T031500Z.tar.gz`) relative to the
 * target's configured root. Every method rejects with a `StorageError`.
 */
export interface StorageAdapter {
  /** The target's name from `targets:` in the config. */
  readonly name: string;
  readonly capabilities: Capabilities;

  /**
   * Stores `body` under a new `key`. Never replaces an object of that name:
   * when `key` exists (before the put, or created by someone else while it
   * runs) the put rejects with EXISTS and the existing object is untouched.
   * Where the backend allows it the name is taken exclusively (hard link,
   * O_EXCL, a non-replacing rename, a conditional write), elsewhere it is
   * checked just before the commit. Either the whole body lands under `key`
   * or nothing does: an aborted or failed put leaves no object under `key`
   * (a temporary object may remain, but it never lists). Resolves with the
   * number of bytes stored.
   */
  put(key: string, body: PutBody, options?: OpOptions): Promise<number>;

  /** Opens the object for reading. Rejects with NOT_FOUND when it does not exist. */
  get(key: string, options?: OpOptions): Promise<Readable>;

  /** Rejects with NOT_FOUND when the object does not exist. */
  stat(key: string, options?: OpOptions): Promise<ObjectInfo>;

  /** Lists complete objects whose key starts with `prefix`. Temporary upload names never appear. */
  list(prefix: string, options?: OpOptions): Promise<ObjectInfo[]>;

  /** Deletes the object. Idempotent: removing a missing key resolves. */
  remove(key: string, options?: OpOptions): Promise<void>;

  /** Points `<latestKey>` at `key` (e.g. a symlink). Adapters that cannot keep such a pointer leave it out. */
  setLatest?(latestKey: string, key: string, options?: OpOptions): Promise<void>;

  /** Path of a stored object on this machine's filesystem, when the target is a local directory; the core may read it directly. */
  localPath?(key: string): string | undefined;

  /** Free bytes at the target, when the backend can tell. The core asks before every put whose size is known. */
  freeSpace?(options?: OpOptions): Promise<number | undefined>;

  /**
   * Unfinished uploads whose name starts with `prefix` (parts a killed run
   * left behind, still stored and billed). Resolves undefined when the
   * backend cannot list them.
   */
  listUnfinished?(prefix: string, options?: OpOptions): Promise<UnfinishedUpload[] | undefined>;

  /** Discards an unfinished upload and its stored parts. Idempotent: one that is already gone resolves. */
  abortUnfinished?(upload: UnfinishedUpload, options?: OpOptions): Promise<void>;

  /**
   * Why an optional target is not there right now (an unplugged drive of a
   * usb target with `optional: true`), or undefined when it is there or is
   * not optional. The run skips an absent target: it is reported as
   * `skipped`, nothing is pushed to it or pruned on it, and it does not
   * decide the exit code. Never rejects.
   */
  absent?(options?: OpOptions): Promise<string | undefined>;

  /** Extra readiness checks for `ferry check` (mounted, right device, ...). Rejects with a StorageError. */
  probe?(options?: OpOptions): Promise<string[]>;

  /** Releases connections. Safe to call more than once. */
  close?(): Promise<void>;
}
