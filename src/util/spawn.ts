import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';

/** Default cap on captured stdout/stderr (bytes); the rest is dropped and `truncated` is set. */
export const DEFAULT_CAPTURE_BYTES = 1024 * 1024;
/** How long a process group gets between SIGTERM and SIGKILL. */
const KILL_GRACE_MS = 2000;
/** After the main process exits, how long its pipes may stay open (a backgrounded grandchild) before we stop reading. */
const DRAIN_MS = 1000;
/** Bytes of stderr always kept for error messages, whatever the capture cap. */
const TAIL_BYTES = 16 * 1024;

export interface RunProcessOptions {
  /** Extra environment variables, laid over `process.env`. */
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Kill the whole process group (SIGTERM, then SIGKILL) after this many milliseconds. */
  timeoutMs?: number;
  /** Aborting kills the process group; the result then has `aborted: true`. */
  signal?: AbortSignal;
  /** Send stdout straight to this file (created or truncated, mode 0600) instead of a pipe. */
  stdoutFile?: string;
  /** Keep up to `captureBytes` of stdout in the result (ignored with `stdoutFile`). */
  captureStdout?: boolean;
  /** Keep up to `captureBytes` of stderr in the result. The last lines are always kept in `stderrTail`. */
  captureStderr?: boolean;
  captureBytes?: number;
  /** Called with each complete line (without the newline); a trailing partial line is flushed at the end. */
  onStdoutLine?: (line: string) => void;
  onStderrLine?: (line: string) => void;
}

export interface ProcessResult {
  /** Exit status; null when the process was killed by a signal or never started. */
  exitCode: number | null;
  /** The signal that ended the process, if any. */
  exitSignal: NodeJS.Signals | null;
  timedOut: boolean;
  aborted: boolean;
  /** The process could not be started (e.g. ENOENT); nothing ran. */
  spawnError?: Error;
  stdout: string;
  stderr: string;
  /** True when stdout or stderr went over the capture cap. */
  truncated: boolean;
  /** The last lines of stderr (at most ~16 KiB), for error messages. */
  stderrTail: string;
  durationMs: number;
}

/** True when the process ran and exited with status 0. */
export function succeeded(r: ProcessResult): boolean {
  return r.exitCode === 0 && !r.timedOut && !r.aborted && !r.spawnError;
}

/**
 * Runs `file args` in its own process group and always resolves, never
 * rejects: a failure to start, a non-zero exit, a timeout or an abort are all
 * reported in the result. At the timeout or abort, the whole group (shell and
 * grandchildren) gets SIGTERM, then SIGKILL after 2 s. When the main process
 * exits normally, background children it leaves behind are not killed.
 * stdin is always /dev/null. Because the child leads its own group, a
 * terminal's Ctrl-C does not reach it: callers pass an AbortSignal instead.
 */
export function runProcess(file: string, args: string[], options: RunProcessOptions = {}): Promise<ProcessResult> {
  const started = Date.now();
  const cap = options.captureBytes ?? DEFAULT_CAPTURE_BYTES;
  const result: ProcessResult = {
    exitCode: null, exitSignal: null, timedOut: false, aborted: false,
    stdout: '', stderr: '', truncated: false, stderrTail: '', durationMs: 0,
  };
  if (options.signal?.aborted) return Promise.resolve({ ...result, aborted: true });

  let outFd: number | undefined;
  try {
    if (options.stdoutFile) outFd = openSync(options.stdoutFile, 'w', 0o600);
  } catch (err) {
    return Promise.resolve({ ...result, spawnError: err as Error });
  }

  return new Promise((resolve) => {
    const env = options.env ? { ...process.env, ...options.env } : process.env;
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn(file, args, { cwd: options.cwd, env, detached: true, stdio: ['ignore', outFd ?? 'pipe', 'pipe'] });
    } catch (e) {
      resolve({ ...result, spawnError: e as Error, durationMs: Date.now() - started });
      return;
    } finally {
      if (outFd !== undefined) closeSync(outFd);
    }

    const out = new Collector(options.captureStdout && outFd === undefined ? cap : 0, options.onStdoutLine);
    const err = new Collector(options.captureStderr ? cap : 0, options.onStderrLine, TAIL_BYTES);
    child.stdout?.on('data', (b: Buffer) => out.push(b));
    child.stderr?.on('data', (b: Buffer) => err.push(b));

    let killTimer: NodeJS.Timeout | undefined;
    const killGroup = () => {
      signalGroup(child.pid, 'SIGTERM');
      killTimer ??= setTimeout(() => signalGroup(child.pid, 'SIGKILL'), KILL_GRACE_MS);
      killTimer.unref();
    };
    const timer = options.timeoutMs !== undefined
      ? setTimeout(() => { result.timedOut = true; killGroup(); }, options.timeoutMs)
      : undefined;
    const onAbort = () => { result.aborted = true; killGroup(); };
    options.signal?.addEventListener('abort', onAbort, { once: true });

    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearTimeout(killTimer);
      options.signal?.removeEventListener('abort', onAbort);
      child.stdout?.destroy();
      child.stderr?.destroy();
      out.flush();
      err.flush();
      result.stdout = out.text();
      result.stderr = err.text();
      result.stderrTail = err.tailText();
      result.truncated = out.truncated || err.truncated;
      result.durationMs = Date.now() - started;
      resolve(result);
    };
    child.on('error', (e) => { result.spawnError = e; finish(); });
    child.on('exit', (code, sig) => {
      clearTimeout(timer); // the process is done; never kill what it left running in the background
      result.exitCode = code;
      result.exitSignal = sig;
      // Pipes normally close right after; a backgrounded grandchild may hold them open.
      setTimeout(finish, DRAIN_MS).unref();
    });
    child.on('close', finish);
  });
}

/** Runs a shell command line with `/bin/sh -c`; see `runProcess`. */
export function runShell(command: string, options: RunProcessOptions = {}): Promise<ProcessResult> {
  return runProcess('/bin/sh', ['-c', command], options);
}

/**
 * Why a process failed, for messages: `exited with 1`, `timed out after 300 s`,
 * `was killed by SIGKILL`, `was cancelled`, `could not start: ...`. Empty when it succeeded.
 */
export function describeFailure(r: ProcessResult, timeoutMs?: number): string {
  if (r.spawnError) return `could not start: ${r.spawnError.message}`;
  if (r.aborted) return 'was cancelled';
  if (r.timedOut) return `timed out after ${formatSeconds(timeoutMs)}`;
  if (r.exitSignal) return `was killed by ${r.exitSignal}`;
  if (r.exitCode !== 0) return `exited with ${r.exitCode}`;
  return '';
}

/** The last `maxLines` non-empty lines of stderr, joined with ` | ` for a one-line message. */
export function stderrSummary(r: ProcessResult, maxLines = 5): string {
  const lines = r.stderrTail.split('\n').map((l) => l.trimEnd()).filter((l) => l.trim() !== '');
  return lines.slice(-maxLines).join(' | ');
}

/** `<what> exited with 1: <stderr lines>` style message, or '' when the process succeeded. */
export function failureMessage(what: string, r: ProcessResult, timeoutMs?: number): string {
  const why = describeFailure(r, timeoutMs);
  if (!why) return '';
  const tail = stderrSummary(r);
  return tail ? `${what} ${why}: ${tail}` : `${what} ${why}`;
}

function formatSeconds(ms: number | undefined): string {
  if (ms === undefined) return 'its timeout';
  const s = ms / 1000;
  return `${Number.isInteger(s) ? s : s.toFixed(1)} s`;
}

function signalGroup(pid: number | undefined, sig: NodeJS.Signals): void {
  if (!pid) return;
  try {
    process.kill(-pid, sig);
  } catch {
    // The group is already gone.
  }
}

/** Accumulates a stream: an optional capped copy, a rolling tail, and line callbacks. */
class Collector {
  private chunks: Buffer[] = [];
  private size = 0;
  private tail = Buffer.alloc(0);
  private partial = '';
  private readonly decoder = new StringDecoder('utf8');
  truncated = false;

  constructor(private readonly cap: number, private readonly onLine?: (line: string) => void, private readonly tailBytes = 0) {}

  push(b: Buffer): void {
    if (this.cap > 0) {
      const room = this.cap - this.size;
      if (room > 0) {
        const part = b.length > room ? b.subarray(0, room) : b;
        this.chunks.push(part);
        this.size += part.length;
      }
      if (b.length > room) this.truncated = true;
    }
    if (this.tailBytes > 0) {
      const joined = Buffer.concat([this.tail, b]);
      this.tail = joined.length > this.tailBytes ? joined.subarray(joined.length - this.tailBytes) : joined;
    }
    if (this.onLine) {
      const lines = (this.partial + this.decoder.write(b)).split('\n');
      this.partial = lines.pop() ?? '';
      for (const line of lines) this.onLine(line.replace(/\r$/, ''));
    }
  }

  flush(): void {
    if (this.onLine) this.partial += this.decoder.end();
    if (this.onLine && this.partial) this.onLine(this.partial);
    this.partial = '';
  }

  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }

  tailText(): string {
    return this.tail.toString('utf8');
  }
}
