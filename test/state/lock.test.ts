import { spawn } from 'node:child_process';
import { watch } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.js';
import { waitFor } from '../helpers/wait.js';
import { silentLogger } from '../../src/log.js';
import { exitCodeOf } from '../../src/exit-codes.js';
import { acquireLock, processStart, readLiveLock } from '../../src/state/lock.js';

const LOCK_JS = join(ROOT, 'dist', 'src', 'state', 'lock.js');
const EXIT_JS = join(ROOT, 'dist', 'src', 'exit-codes.js');

/**
 * One contender, in its own process: it says "ready", waits for the go file,
 * tries the lock, says "won" (then holds it until the release file appears)
 * or "lost <exit code> <message>".
 */
const CONTENDER = `
import { existsSync } from 'node:fs';
const [lockJs, exitJs, stateDir, go, release] = process.argv.slice(1);
const { acquireLock } = await import(lockJs);
const { exitCodeOf } = await import(exitJs);
const quiet = { info() {}, warn() {}, error() {}, debug() {} };
process.stdout.write('ready\\n');
while (!existsSync(go)) await new Promise((r) => setImmediate(r));
try {
  const lock = await acquireLock(stateDir, 'app', quiet);
  process.stdout.write('won\\n');
  while (!existsSync(release)) await new Promise((r) => setTimeout(r, 5));
  await lock.release();
} catch (err) {
  process.stdout.write('lost ' + exitCodeOf(err) + ' ' + err.message + '\\n');
}
`;

let dir: string;
beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'ferry-lock-')); });
afterEach(async () => { await rm(dir, { recursive: true, force: true }); });

/** Starts `n` contender processes against `stateDir`, releases them at once, and returns each one's verdict. */
async function race(stateDir: string, n: number): Promise<string[]> {
  const go = join(stateDir, '..', `${stateDir.split('/').pop()}.go`);
  const release = join(stateDir, '..', `${stateDir.split('/').pop()}.release`);
  const outputs = Array.from({ length: n }, () => ({ text: '' }));
  const children = outputs.map((o) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', CONTENDER, LOCK_JS, EXIT_JS, stateDir, go, release], { stdio: ['ignore', 'pipe', 'inherit'] });
    child.stdout.on('data', (d: Buffer) => { o.text += d.toString(); });
    return new Promise((r) => child.on('close', r));
  });
  await waitFor(() => outputs.every((o) => o.text.includes('ready')), { what: 'every contender to be ready', timeout: 60_000 });
  await writeFile(go, '');
  await waitFor(() => outputs.every((o) => /won|lost/.test(o.text)), { what: 'every contender to decide', timeout: 60_000 });
  await writeFile(release, '');
  await Promise.all(children);
  return outputs.map((o) => o.text.split('\n')[1]!);
}

const staleLock = (fields: Record<string, unknown>) => JSON.stringify({ pid: 2 ** 22 + 7, host: hostname(), started: '2026-01-01T00:00:00Z', ...fields });

describe('job lock', () => {
  it('exactly one of twenty simultaneous runs takes a stale lock; the others get exit 75', async () => {
    for (let round = 0; round < 2; round++) {
      const stateDir = join(dir, `state-${round}`);
      await import('node:fs/promises').then((fs) => fs.mkdir(stateDir));
      await writeFile(join(stateDir, 'lock'), staleLock({}));
      const verdicts = await race(stateDir, 20);
      expect(verdicts.filter((v) => v === 'won'), verdicts.join('\n')).toHaveLength(1);
      expect(verdicts.filter((v) => v.startsWith('lost 75'))).toHaveLength(19);
      // Nothing of the takeover is left behind: no temp files, no claims, and the winner released the lock.
      expect(await readdir(stateDir)).toEqual([]);
    }
  }, 120_000);

  it('a lock whose pid now belongs to another process (reused pid) is stale and taken over', async () => {
    const path = join(dir, 'lock');
    // This pid is alive, but the lock's process started at another time: the pid was reused.
    const otherStart = String(Number(processStart(process.pid)) + 1);
    await writeFile(path, staleLock({ pid: process.pid, process_start: otherStart, boot_id: await readFile('/proc/sys/kernel/random/boot_id', 'utf8').then((s) => s.trim()) }));
    expect(await readLiveLock(dir)).toBeUndefined();
    const lock = await acquireLock(dir, 'app', silentLogger);
    expect(JSON.parse(await readFile(path, 'utf8'))).toMatchObject({ pid: process.pid, process_start: processStart(process.pid) });
    await lock.release();
  });

  it('a lock from another boot is stale even when its pid is alive with the same start time', async () => {
    await writeFile(join(dir, 'lock'), staleLock({ pid: process.pid, process_start: processStart(process.pid), boot_id: '00000000-0000-0000-0000-000000000000' }));
    expect(await readLiveLock(dir)).toBeUndefined();
    const lock = await acquireLock(dir, 'app', silentLogger);
    await lock.release();
  });

  it('a lock from this boot and this process incarnation blocks a second run with exit 75', async () => {
    const lock = await acquireLock(dir, 'app', silentLogger);
    expect(await readLiveLock(dir)).toMatchObject({ pid: process.pid });
    await expect(acquireLock(dir, 'app', silentLogger)).rejects.toSatisfy((err) => exitCodeOf(err) === 75);
    await lock.release();
    expect(await readdir(dir)).toEqual([]);
  });

  it('ten runs started at once inside one process: one holds the lock, the others get exit 75, and no two share a temp file', async () => {
    const created = new Set<string>();
    const watcher = watch(dir, (_event, name) => { if (name?.endsWith('.tmp')) created.add(name); });
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => acquireLock(dir, 'app', silentLogger)));
    await waitFor(() => created.size >= 10, { what: `ten distinct temp files (saw ${created.size})`, timeout: 10_000 });
    watcher.close();
    expect(created.size).toBe(10);
    const won = results.filter((r) => r.status === 'fulfilled');
    expect(won).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect(exitCodeOf(r.reason)).toBe(75);
    await won[0]!.value.release();
    expect(await readdir(dir)).toEqual([]);
  });

  it('an old lock without boot id or start time keeps the pid rule: live pid holds, dead pid is stale', async () => {
    await writeFile(join(dir, 'lock'), staleLock({ pid: 1 }));
    await expect(acquireLock(dir, 'app', silentLogger)).rejects.toSatisfy((err) => exitCodeOf(err) === 75);
    await writeFile(join(dir, 'lock'), staleLock({}));
    const lock = await acquireLock(dir, 'app', silentLogger);
    await lock.release();
  });
});
