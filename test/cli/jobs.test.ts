import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { basicConfig, collect, FERRY, workspace, type Workspace } from '../helpers/cli.js';
import { jobsDir } from '../helpers/jobs-dir.js';
import { waitFor } from '../helpers/wait.js';

const archivesIn = async (dir: string) => (await readdir(dir).catch(() => [])).filter((n) => /^[a-z]+-\d{8}T\d{6}Z\.tar\.gz$/.test(n));

describe('several jobs in one config directory', () => {
  let ws: Workspace;
  let dir: string;
  beforeAll(async () => {
    ws = await workspace();
    dir = await jobsDir(ws, { alpha: {}, beta: {} });
    await writeFile(join(dir, 'README.txt'), 'not a job: only *.yaml files are\n');
  });
  afterAll(async () => { await ws.cleanup(); });

  it('run with -c DIR runs every job, one after another, each storing its own archive; --job runs one', async () => {
    const r = await ws.run(['-c', dir, 'run']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^job alpha:\n {2}success: alpha-/m);
    expect(r.stdout).toMatch(/^job beta:\n {2}success: beta-/m);
    expect(await archivesIn(join(ws.dir, 'backups-alpha'))).toHaveLength(1);
    expect(await archivesIn(join(ws.dir, 'backups-beta'))).toHaveLength(1);
    expect(JSON.parse(await readFile(join(ws.dir, 'state-beta', 'last_run.json'), 'utf8'))).toMatchObject({ job: 'beta', status: 'success', exit_code: 0 });

    const one = await ws.run(['run', '--job', 'beta', '--json'], { FERRY_CONFIG: dir });
    expect(one.code, one.stderr).toBe(0);
    expect(JSON.parse(one.stdout)).toMatchObject({ format_version: 1, job: 'beta', status: 'success', exit_code: 0 });
    expect(await archivesIn(join(ws.dir, 'backups-alpha'))).toHaveLength(1);
    expect(await archivesIn(join(ws.dir, 'backups-beta'))).toHaveLength(2);
  });

  it('list, status, verify, prune and check cover every job, or the one --job names', async () => {
    for (const command of [['list'], ['status'], ['verify'], ['prune', '--dry-run'], ['check']]) {
      const all = await ws.run(['-c', dir, ...command, '--json']);
      expect(all.code, `${command[0]}: ${all.stderr}`).toBe(0);
      const doc = JSON.parse(all.stdout);
      expect(doc, command[0]).toMatchObject({ format_version: 1, exit_code: 0, jobs: [{ job: 'alpha', exit_code: 0 }, { job: 'beta', exit_code: 0 }] });
      const one = await ws.run(['-c', dir, ...command, '--job', 'alpha', '--json']);
      expect(one.code, `${command[0]} --job: ${one.stderr}`).toBe(0);
      expect(JSON.parse(one.stdout), command[0]).not.toHaveProperty('jobs');
    }
    const verify = JSON.parse((await ws.run(['-c', dir, 'verify', '--job', 'beta', '--json'])).stdout);
    expect(verify.reports).toEqual([expect.objectContaining({ target: 'local', ok: true, archive: expect.stringMatching(/^beta-/) })]);
  });

  it('an unknown --job is a usage error listing the jobs', async () => {
    const r = await ws.run(['-c', dir, 'list', '--job', 'gamma']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--job gamma: no such job in .*ferry\.d \(jobs: alpha, beta\)/);
  });

  it('a job that fails does not stop the next one, and the exit code is the failure', async () => {
    const d = join(ws.dir, 'failing.d');
    await mkdir(d);
    await mkdir(join(ws.dir, 'not-mounted'));
    await writeFile(join(d, 'a.yaml'), stringify(basicConfig({ job: 'first', state_dir: '../state-first', sources: [{ path: '../app', as: 'app' }], targets: { usb: { type: 'usb', path: '../not-mounted/b', mountpoint: '../not-mounted', keep: 3 } } })));
    await writeFile(join(d, 'b.yaml'), stringify(basicConfig({ job: 'second', state_dir: '../state-second', sources: [{ path: '../app', as: 'app' }], targets: { local: { type: 'local', path: '../backups-second', keep: 3 } } })));
    const r = await ws.run(['-c', d, 'run', '--json']);
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ exit_code: 1, jobs: [{ job: 'first', status: 'failure', exit_code: 1 }, { job: 'second', status: 'success', exit_code: 0 }] });
    expect(doc.jobs[0].targets[0]).toMatchObject({ target: 'usb', error_code: 'NOT_MOUNTED' });
    expect(await archivesIn(join(ws.dir, 'backups-second'))).toHaveLength(1);
  });

  it('each job runs under its own lock: a job whose lock is held exits 75 and the other jobs still run', async () => {
    const d = await jobsDir(ws, { gamma: { hooks: { before: ['while [ ! -e may-finish ]; do sleep 0.05; done'] } }, delta: {} }, 'locked.d');
    const held = spawn(process.execPath, [FERRY, '-c', d, 'run', '--job', 'gamma'], { cwd: ws.dir, stdio: ['ignore', 'pipe', 'pipe'] });
    const holder = collect(held);
    try {
      await waitFor(() => stat(join(ws.dir, 'state-gamma', 'lock')).then(() => true, () => false), { what: 'the first run of gamma to hold its lock' });
      const r = await ws.run(['-c', d, 'run', '--json']);
      expect(r.code).toBe(75);
      expect(JSON.parse(r.stdout)).toMatchObject({ exit_code: 75, jobs: [{ job: 'delta', status: 'success', exit_code: 0 }, { job: 'gamma', exit_code: 75, error: expect.stringMatching(/lock/) }] });
      expect(r.stderr).toMatch(/ferry: job gamma: .*lock/);
    } finally {
      // Hooks run in the working directory: this lets the held run of gamma finish.
      await writeFile(join(ws.dir, 'may-finish'), '');
    }
    expect((await holder.done).code).toBe(0);
    expect(await archivesIn(join(ws.dir, 'backups-gamma'))).toHaveLength(1);
    expect(await archivesIn(join(ws.dir, 'backups-delta'))).toHaveLength(1);
  }, 120_000);

  it('two files with the same job: name are a config error naming both files', async () => {
    const d = join(ws.dir, 'dup.d');
    await mkdir(d);
    for (const f of ['one.yaml', 'two.yaml']) await writeFile(join(d, f), stringify(basicConfig({ job: 'same', sources: [{ path: '../app', as: 'app' }] })));
    const r = await ws.run(['-c', d, 'check']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/two\.yaml: job: job "same" is already defined in one\.yaml/);
  });

  it('a single config file works as before: one document, no jobs list, and --job must match it', async () => {
    await ws.writeConfig(basicConfig());
    const r = await ws.run(['list', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ format_version: 1, job: 'app', exit_code: 0 });
    expect(JSON.parse(r.stdout)).not.toHaveProperty('jobs');
    expect((await ws.run(['list', '--job', 'other'])).code).toBe(2);
  });
});
