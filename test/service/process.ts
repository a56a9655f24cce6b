import { spawn, type ChildProcess } from 'node:child_process';
import { FERRY } from '../helpers/cli.js';

/** A long-running `ferry` process (serve, daemon) whose output the test can wait on. */
export interface Background {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves once `test` matches stdout + stderr; rejects after `timeoutMs`. */
  waitFor(test: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export function startFerry(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Background {
  const child = spawn(process.execPath, [FERRY, ...args], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const bg: Background = {
    child,
    stdout: () => out,
    stderr: () => err,
    async waitFor(test, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const m = (out + err).match(test);
        if (m) return m;
        if (child.exitCode !== null || Date.now() > deadline) throw new Error(`never saw ${test}; stderr:\n${err}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    exited,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null) child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
  return bg;
}

/** Polls `fn` until it returns a value, every 100 ms, for at most `timeoutMs`. */
export async function poll<T>(fn: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error('timed out polling');
    await new Promise((r) => setTimeout(r, 100));
  }
}
