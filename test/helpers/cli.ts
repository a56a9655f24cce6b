import { spawn, type ChildProcess } from 'node:child_process';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const FERRY = join(ROOT, 'dist', 'src', 'cli', 'ferry.js');
export const SAMPLE_APP = join(ROOT, 'fixtures', 'sample-app');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A child's output so far, readable while it runs; `done` settles with the whole result when it closes. */
export interface Collected {
  stdout: string;
  stderr: string;
  exited: boolean;
  done: Promise<CliResult>;
}

/** Collects a spawned child's stdout and stderr (it must be spawned with both piped). */
export function collect(child: ChildProcess): Collected {
  const out: Collected = { stdout: '', stderr: '', exited: false, done: Promise.resolve({ code: null, stdout: '', stderr: '' }) };
  child.stdout!.on('data', (d: Buffer) => { out.stdout += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { out.stderr += d.toString(); });
  out.done = new Promise((resolveRun, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      out.exited = true;
      resolveRun({ code, stdout: out.stdout, stderr: out.stderr });
    });
  });
  return out;
}

/** Runs the built `ferry` CLI as a user would. */
export async function ferry(args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<CliResult> {
  const child = spawn(process.execPath, [FERRY, ...args], {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
  try {
    return await collect(child).done;
  } finally {
    clearTimeout(timer);
  }
}

export interface Workspace {
  dir: string;
  /** Writes backup.config.yaml in the workspace from an object. */
  writeConfig(config: Record<string, unknown>): Promise<string>;
  run(args: string[], env?: NodeJS.ProcessEnv): Promise<CliResult>;
  cleanup(): Promise<void>;
}

/** A throwaway directory holding a copy of the sample app and a config file. */
export async function workspace(): Promise<Workspace> {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-ws-'));
  await cp(SAMPLE_APP, join(dir, 'app'), { recursive: true, verbatimSymlinks: true });
  return {
    dir,
    async writeConfig(config) {
      const path = join(dir, 'backup.config.yaml');
      await writeFile(path, stringify(config));
      return path;
    },
    run: (args, env) => ferry(args, { cwd: dir, env }),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/** A minimal valid job: the sample app copy to a local target `./backups`. */
export function basicConfig(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    job: 'app',
    state_dir: './state',
    sources: [{ path: './app', as: 'app' }],
    targets: { local: { type: 'local', path: './backups', keep: 7 } },
    ...overrides,
  };
}
