import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { OpApplier, WriteOpError, type WriteOp } from './write-ops.js';
import type { TarEntry } from './tar-reader.js';

/** Bytes and steps per batch handed to the worker, and batches in flight: memory stays under 4 MiB. */
const BATCH_BYTES = 1 << 20;
const BATCH_OPS = 1024;
const IN_FLIGHT = 3;
const THREAD = new URL('./write-thread.js', import.meta.url);

interface Reply {
  ready?: true;
  data?: ArrayBuffer;
  error?: { entry: string; code?: string; syscall?: string; message: string };
}

/**
 * Writes a restore's directories and files on a worker thread, in archive
 * order, while the main thread goes on inflating and parsing: on many small
 * files the open, write, chown, chmod, utimes and close calls are most of a
 * restore's time. Steps are copied into batches (`WriteOp`) and applied with
 * direct synchronous calls (`OpApplier`); until the worker has started, and
 * where its compiled module is not there (the sources run under a test
 * runner), the main thread applies them itself. A failure is raised by the
 * next call as a WriteOpError naming its entry, and nothing after it is
 * written. `close` must be called, or `dispose` on failure, before anything
 * else touches the directory.
 */
export class FileWriter {
  private readonly local: OpApplier;
  private worker?: Worker;
  private takesBatches = false;
  private started = false;
  private ops: WriteOp[] = [];
  private data: Buffer;
  private used = 0;
  private readonly spare: ArrayBuffer[] = [];
  private inFlight = 0;
  private waiting: (() => void)[] = [];
  private failure?: Error;
  private readonly umask = process.umask();

  private readonly thread: URL;
  private up?: Promise<boolean>;
  private markUp?: (up: boolean) => void;

  /**
   * `root`: the restore directory as a binary string (one char per byte);
   * `thread`: the worker's compiled module (by default the one next to this file).
   */
  constructor(private readonly root: string, options: { thread?: URL } = {}) {
    this.thread = options.thread ?? THREAD;
    this.local = new OpApplier(root, this.umask);
    this.data = Buffer.from(new ArrayBuffer(BATCH_BYTES));
  }

  /**
   * Starts the worker and resolves once it takes batches (true), or when
   * there is none (false). Writing does not wait for this: until then the
   * steps are applied here.
   */
  ready(): Promise<boolean> {
    this.start();
    return this.up ?? Promise.resolve(false);
  }

  /** Makes directory `path` and its parents (see `makeDir`). */
  async dir(path: string, name: string): Promise<void> {
    this.ops.push({ op: 'dir', path, name });
    if (this.ops.length >= BATCH_OPS) await this.send();
  }

  /** Writes one regular file's content (holes stay holes), then its owner, mode and times. */
  async file(entry: TarEntry, path: string): Promise<void> {
    this.start();
    this.ops.push({ op: 'open', path, name: entry.path, mode: entry.mode });
    const whole = entry.whole();
    if (whole) await this.write(whole, 0);
    else for await (const { data, position } of entry.chunks()) await this.write(data, position);
    this.ops.push({ op: 'end', truncate: entry.sparse ? entry.size : undefined, uid: entry.uid, gid: entry.gid, atime: entry.atime, mtime: entry.mtime });
    if (this.ops.length >= BATCH_OPS) await this.send();
  }

  /** Waits until every step so far is applied; throws the first failure. */
  async flush(): Promise<void> {
    await this.send();
    while (this.inFlight > 0 && !this.failure) await new Promise<void>((resolve) => this.waiting.push(resolve));
    if (this.failure) throw this.failure;
  }

  /** Flushes, then stops the worker. */
  async close(): Promise<void> {
    try {
      await this.flush();
    } finally {
      await this.dispose();
    }
  }

  /** Stops the worker without waiting for what is queued (after a failure); idempotent. */
  async dispose(): Promise<void> {
    this.local.abandon();
    const worker = this.worker;
    this.worker = undefined;
    this.takesBatches = false;
    if (worker) await worker.terminate();
  }

  private async write(data: Buffer, position: number): Promise<void> {
    for (let done = 0; done < data.length; ) {
      if (this.used === BATCH_BYTES) await this.send();
      const n = Math.min(BATCH_BYTES - this.used, data.length - done);
      data.copy(this.data, this.used, done, done + n);
      this.ops.push({ op: 'write', offset: this.used, length: n, position: position + done });
      this.used += n;
      done += n;
    }
  }

  /** Hands the current batch to the worker, or applies it here while the worker is not ready (or a file is open here). */
  private async send(): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.ops.length === 0) return;
    let ops = this.ops;
    this.ops = [];
    // The steps of a file opened here stay here, up to its `end`; the worker takes over after it.
    const here = !this.takesBatches ? ops.length : this.local.busy ? ops.findIndex((o) => o.op === 'end') + 1 || ops.length : 0;
    if (here > 0) {
      try {
        this.local.apply(here === ops.length ? ops : ops.slice(0, here), this.data);
      } catch (err) {
        this.failure = err as Error;
        throw err;
      }
      ops = ops.slice(here);
      if (ops.length === 0) {
        this.used = 0;
        return;
      }
    }
    while (this.inFlight >= IN_FLIGHT && !this.failure) await new Promise<void>((resolve) => this.waiting.push(resolve));
    if (this.failure) throw this.failure;
    const data = this.data.buffer as ArrayBuffer;
    this.worker!.postMessage({ ops, data }, [data]);
    this.inFlight++;
    this.data = Buffer.from(this.spare.pop() ?? new ArrayBuffer(BATCH_BYTES));
    this.used = 0;
  }

  /** Starts the worker on the first file, when its compiled module is there. */
  private start(): void {
    if (this.started) return;
    this.started = true;
    if (!existsSync(fileURLToPath(this.thread))) return;
    this.up = new Promise((resolve) => { this.markUp = resolve; });
    const worker = new Worker(this.thread, { workerData: { root: this.root, umask: this.umask }, resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 2 } });
    this.worker = worker;
    worker.on('message', (reply: Reply) => {
      if (reply.ready) {
        this.takesBatches = true;
        this.markUp?.(true);
      }
      if (reply.data) {
        this.inFlight--;
        this.spare.push(reply.data);
      }
      if (reply.error) this.failure ??= new WriteOpError(reply.error.entry, Object.assign(new Error(reply.error.message), { code: reply.error.code, syscall: reply.error.syscall }));
      this.signal();
    });
    worker.on('error', (err) => {
      this.failure ??= new Error(`the restore's file writer failed: ${err.message}`, { cause: err });
      this.signal();
    });
    worker.on('exit', () => {
      if (this.worker === worker) this.failure ??= new Error("the restore's file writer stopped unexpectedly");
      this.signal();
    });
  }

  private signal(): void {
    if (this.failure) this.markUp?.(false);
    for (const wake of this.waiting.splice(0)) wake();
  }
}
