import { realpathSync } from 'node:fs';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UsageError } from '../../errors.js';
import { runProcess, stderrSummary } from '../../util/spawn.js';
import { readUnitMarker } from './units.js';

/** Path segments of npm's cache: a ferry started from there (`npx`) disappears when the cache is cleared. */
const NPM_CACHE = /(^|\/)(_npx|\.npm)(\/|$)/;

const HOW_TO_INSTALL = 'install ferry first (`npm install -g .` in a clone, or `npm install -g` the tarball `npm pack` makes), then run `ferry systemd` again, or pass --exec PATH';

/** The real path of `path` (every symlink resolved), refusing one inside npm's cache. */
function installedPath(path: string, what: string): string {
  let real: string;
  try {
    real = realpathSync(path);
  } catch (err) {
    throw new UsageError(`${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (NPM_CACHE.test(real)) throw new UsageError(`${what} ${real} is inside npm's cache, which npm may clear at any time, and the units would stop working; ${HOW_TO_INSTALL}`);
  return real;
}

/**
 * The command the units start, as argv, with every symlink resolved: the
 * `--exec` executable, or this node and this ferry script. A path inside
 * npm's cache (`_npx`, `.npm`) is refused with a UsageError saying how to
 * install ferry.
 */
export function unitExec(exec: string | undefined, node = process.execPath, script = process.argv[1] ?? 'ferry'): string[] {
  if (exec !== undefined) return [installedPath(exec, '--exec')];
  return [installedPath(node, 'node'), installedPath(script, 'ferry')];
}

/**
 * Checks an `OnCalendar=` value: with `systemd-analyze calendar` when it is
 * on PATH (its message is shown when it refuses), else only that it is one
 * non-empty line. A bad value is a UsageError naming the option.
 */
export async function checkOnCalendar(spec: string, what: string): Promise<void> {
  if (!spec.trim() || /[\0-\x1f]/.test(spec)) throw new UsageError(`${what}: "${spec}" is not a calendar specification`);
  const r = await runProcess('systemd-analyze', ['calendar', spec], { timeoutMs: 10_000, captureStderr: true });
  if (r.spawnError) return;
  if (r.exitCode !== 0) throw new UsageError(`${what}: systemd does not accept "${spec}": ${stderrSummary(r) || `systemd-analyze exited with ${r.exitCode}`}`);
}

/** One unit file to write, and the job and config its marker must name for an existing file to be replaced. */
export interface UnitFile {
  name: string;
  text: string;
  job: string;
  config: string;
}

/**
 * Writes units into `dir` (created when missing), each atomically (a
 * temporary name, then rename), mode 0644. Before anything is written,
 * every existing file is checked: one without ferry's marker, or whose
 * marker names another job or config, is refused with a UsageError naming
 * it, and nothing is written. Resolves with the paths written.
 */
export async function installUnits(dir: string, files: UnitFile[]): Promise<string[]> {
  for (const f of files) {
    const path = join(dir, f.name);
    const existing = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw new UsageError(`cannot read ${path}: ${err.code ?? err.message}`);
    });
    if (existing === undefined) continue;
    const owner = readUnitMarker(existing);
    if (!owner) throw new UsageError(`${path} exists and was not written by \`ferry systemd\`; refusing to replace it (move it away, or pick another --dir)`);
    if (owner.job !== f.job || owner.config !== f.config) {
      throw new UsageError(`${path} belongs to job ${owner.job} (config ${owner.config}); refusing to replace it with job ${f.job}'s (config ${f.config})`);
    }
  }
  await mkdir(dir, { recursive: true });
  const written: string[] = [];
  for (const f of files) {
    const path = join(dir, f.name);
    const tmp = `${path}.ferry-${process.pid}.tmp`;
    await writeFile(tmp, f.text);
    await chmod(tmp, 0o644);
    await rename(tmp, path);
    written.push(path);
  }
  return written;
}
