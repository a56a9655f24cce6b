import { spawn, type ChildProcess } from 'node:child_process';

/** Bytes of stdout kept by `exec` (listings of a backup directory are far smaller). */
const MAX_STDOUT = 32 * 1024 * 1024;
/** Bytes of stderr kept for error messages (the tail). */
const MAX_STDERR = 16 * 1024;

export interface ExecResult {
  /** Exit status; null when killed by a signal or never started. */
  code: number | null;
  stdout: Buffer;
  /** The last 16 KiB of stderr. */
  stderr: string;
  /** The AbortSignal fired and the process was killed. */
  aborted: boolean;
  /** The program could not be started (ENOENT: not installed). */
  spawnError?: NodeJS.ErrnoException;
}

/**
 * Runs `file` with an argument array (never through a local shell), stdin
 * closed. Always resolves; a failure is described by the result. Aborting
 * sends SIGTERM (then SIGKILL after 3 s).
 */
export function exec(file: string, args: string[], signal?: AbortSignal): Promise<ExecResult> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve({ code: null, stdout: Buffer.alloc(0), stderr: '', aborted: true });
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let outBytes = 0;
    let spawnError: NodeJS.ErrnoException | undefined;
    child.stdout.on('data', (c: Buffer) => {
      if (outBytes < MAX_STDOUT) out.push(c);
      outBytes += c.length;
    });
    const stderr = collectStderr(child);
    const stopKill = killOnAbort(child, signal);
    child.once('error', (err) => { spawnError = err; });
    child.once('close', (code) => {
      stopKill();
      resolve({ code, stdout: Buffer.concat(out), stderr: stderr(), aborted: signal?.aborted ?? false, spawnError });
    });
  });
}

/** Keeps the tail of a child's stderr; call the result to read it. */
export function collectStderr(child: ChildProcess): () => string {
  let text = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (c: string) => {
    text += c;
    if (text.length > MAX_STDERR * 2) text = text.slice(-MAX_STDERR);
  });
  return () => text.slice(-MAX_STDERR);
}

/** Kills `child` when `signal` fires (SIGTERM, then SIGKILL after 3 s). Returns the function that detaches the listener. */
export function killOnAbort(child: ChildProcess, signal: AbortSignal | undefined): () => void {
  if (!signal) return () => {};
  const onAbort = () => {
    child.kill('SIGTERM');
    setTimeout(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); }, 3_000).unref();
  };
  signal.addEventListener('abort', onAbort, { once: true });
  return () => signal.removeEventListener('abort', onAbort);
}
