import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { OutputCollector } from './output-collector.js';

/** Default cap on captured stdout/stderr (bytes); the rest is dropped and `truncated` is set. */
export const DEFAULT_CAPTURE_BYTES = 1024 * 1024;
/** How long a process group gets between SIGTERM and SIGKILL. */
export const KILL_GRACE_MS = 2000;
/** After the main process exits, how long its pipes may stay open (a backgrounded grandchild) before we stop reading. */
const DRAIN_MS = 1000;
/** How often a process group being stopped is checked for members still alive. */
const GROUP_POLL_MS = 25;
/** Bytes of stderr always kept for error messages, whatever the capture cap. */
const TAIL_BYTES = 16 * 1024;

export interface RunProcessOptions {
  /** Extra environment variables, laid over `process.env`. */
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Stop the whole process group (see `startProcess`) after this many milliseconds. */
  timeoutMs?: number;
  /** Aborting stops the process group; the result then has `aborted: true`. */
  signal?: AbortSignal;
  /**
   * What the process reads: nothing (/dev/null, the default), these bytes
   * followed by end of file, or `'pipe'`, a stream the caller writes to
   * (`stdin` of the handle `startProcess` returns).
   */
  input?: string | Buffer | 'pipe';
  /** Send stdout straight to this file (created or truncated, mode 0600) instead of a pipe. */
  stdoutFile?: string;
  /**
   * Where stdout goes instead of being collected: `'stream'` hands it to the
   * caller (`stdout` of the handle; read it to the end or stop the process),
   * `'stderr'` passes it on to this process's stderr, `'ignore'` drops it.
   */
  stdout?: 'stream' | 'stderr' | 'ignore';
  /** `'stderr'` passes the child's stderr on to this process's stderr (it is then not collected); `'ignore'` drops it. */
  stderr?: 'stderr' | 'ignore';
  /** Keep up to `captureBytes` of stdout in the result (ignored with `stdoutFile` or `stdout`). */
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
  /** The AbortSignal fired, or the caller called `stop()`, before the process exited. */
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

/** A process started by `startProcess`. */
export interface ProcessHandle {
  readonly pid: number | undefined;
  /** The process's output, with `stdout: 'stream'`; null otherwise or when it could not start. */
  readonly stdout: Readable | null;
  /** The process's input, with `input: 'pipe'`; null otherwise or when it could not start. */
  readonly stdin: Writable | null;
  /** The outcome; never rejects. After a stop it settles once the whole group is gone or has been sent SIGKILL. */
  readonly done: Promise<ProcessResult>;
  /** True until the main process has exited (false when it never started). */
  readonly running: boolean;
  /** Stops the process group by the one rule (see `startProcess`); does nothing once the main process has exited. */
  stop(): void;
  /** Lets this Node process exit while the child still runs (for helpers that live as long as Ferry does). */
  unref(): void;
}

/** True when the process ran and exited with status 0. */
export function succeeded(r: ProcessResult): boolean {
  return r.exitCode === 0 && !r.timedOut && !r.aborted && !r.spawnError;
}

/**
 * Runs `file args` to the end; see `startProcess`. Resolves, never rejects:
 * a failure to start, a non-zero exit, a timeout or an abort are all
 * reported in the result.
 */
export function runProcess(file: string, args: string[], options: RunProcessOptions = {}): Promise<ProcessResult> {
  return startProcess(file, args, options).done;
}

/**
 * Starts `file args` (never through a shell) in its own process group. This
 * is the only place Ferry creates child processes, and it has one rule for
 * ending them: at the timeout, an abort or `stop()`, the whole group (the
 * process, and the shells and grandchildren it started) gets SIGTERM; any
 * member still alive after 2 s gets SIGKILL. When the main process exits by
 * itself, background children it leaves behind are not killed. stdin is
 * /dev/null unless `input` says otherwise. Because the child leads its own
 * group, a terminal's Ctrl-C does not reach it: callers pass an AbortSignal.
 */
export function startProcess(file: string, args: string[], options: RunProcessOptions = {}): ProcessHandle {
  const started = Date.now();
  const cap = options.captureBytes ?? DEFAULT_CAPTURE_BYTES;
  const result: ProcessResult = {
    exitCode: null, exitSignal: null, timedOut: false, aborted: false,
    stdout: '', stderr: '', truncated: false, stderrTail: '', durationMs: 0,
  };
  if (options.signal?.aborted) return ended({ ...result, aborted: true });

  let outFd: number | undefined;
  try {
    if (options.stdoutFile) outFd = openSync(options.stdoutFile, 'w', 0o600);
  } catch (err) {
    return ended({ ...result, spawnError: err as Error });
  }
  const stdio: StdioOptions = [
    options.input === undefined ? 'ignore' : 'pipe',
    outFd ?? destination(options.stdout === 'stream' ? undefined : options.stdout),
    destination(options.stderr),
  ];
  const env = options.env ? { ...process.env, ...options.env } : process.env;
  let child: ChildProcess;
  try {
    child = spawn(file, args, { cwd: options.cwd, env, detached: true, stdio });
  } catch (e) {
    return ended({ ...result, spawnError: e as Error, durationMs: Date.now() - started });
  } finally {
    if (outFd !== undefined) closeSync(outFd);
  }

  // A process that does not read its input may close the pipe early: that is not our error.
  child.stdin?.on('error', () => {});
  if (options.input !== undefined && options.input !== 'pipe') child.stdin?.end(options.input);
  const streaming = options.stdout === 'stream';
  const out = new OutputCollector(options.captureStdout ? cap : 0, options.onStdoutLine);
  const err = new OutputCollector(options.captureStderr ? cap : 0, options.onStderrLine, TAIL_BYTES);
  if (!streaming) child.stdout?.on('data', (b: Buffer) => out.push(b));
  child.stderr?.on('data', (b: Buffer) => err.push(b));

  let exited = false;
  let stopping: Promise<void> | undefined;
  const stop = (why: 'timedOut' | 'aborted') => {
    if (exited) return; // never kill what a finished process left running in the background
    result[why] = true;
    stopping ??= endGroup(child.pid);
  };
  const timer = options.timeoutMs !== undefined ? setTimeout(() => stop('timedOut'), options.timeoutMs) : undefined;
  const onAbort = () => stop('aborted');
  options.signal?.addEventListener('abort', onAbort, { once: true });

  const done = new Promise<ProcessResult>((resolve) => {
    let finished = false;
    const finish = async () => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      if (!streaming) child.stdout?.destroy();
      child.stderr?.destroy();
      await stopping;
      out.flush();
      err.flush();
      result.stdout = out.text();
      result.stderr = err.text();
      result.stderrTail = err.tailText();
      result.truncated = out.truncated || err.truncated;
      result.durationMs = Date.now() - started;
      resolve(result);
    };
    child.on('error', (e) => { result.spawnError = e; exited = true; void finish(); });
    child.on('exit', (code, sig) => {
      exited = true;
      clearTimeout(timer);
      result.exitCode = code;
      result.exitSignal = sig;
      // Pipes normally close right after; a backgrounded grandchild may hold them open.
      setTimeout(() => void finish(), DRAIN_MS).unref();
    });
    child.on('close', () => void finish());
  });

  return {
    pid: child.pid,
    stdout: streaming ? child.stdout : null,
    stdin: options.input === 'pipe' ? child.stdin : null,
    done,
    get running() { return !exited; },
    stop: () => stop('aborted'),
    unref: () => {
      child.unref();
      (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
    },
  };
}

/** A handle for a process that never started. */
function ended(result: ProcessResult): ProcessHandle {
  return { pid: undefined, stdout: null, stdin: null, done: Promise.resolve(result), running: false, stop() {}, unref() {} };
}

function destination(to: 'stderr' | 'ignore' | undefined): 'pipe' | 'ignore' | number {
  return to === 'stderr' ? 2 : to ?? 'pipe';
}

/**
 * The one kill rule: SIGTERM to every process in the group, then SIGKILL
 * once the grace is over if any is left. Resolves when the group is gone or
 * has been sent SIGKILL. These timers keep Node alive, so Ferry does not exit
 * while a process it stopped may still run.
 */
async function endGroup(pgid: number | undefined): Promise<void> {
  if (!pgid || !signalGroup(pgid, 'SIGTERM')) return;
  const deadline = Date.now() + KILL_GRACE_MS;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, GROUP_POLL_MS));
    if (!signalGroup(pgid, 0)) return;
  }
  signalGroup(pgid, 'SIGKILL');
}

/** Sends `sig` to process group `pgid`; false when the group no longer exists. */
function signalGroup(pgid: number, sig: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, sig);
    return true;
  } catch {
    return false;
  }
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
