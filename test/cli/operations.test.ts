import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { basicConfig, FERRY, workspace, type Workspace } from '../helpers/cli.js';
import { waitFor } from '../helpers/wait.js';

const archivesIn = async (dir: string) => (await readdir(dir)).filter((f) => /^app-\d{8}T\d{6}Z\.tar\.gz$/.test(f)).sort();

describe('ferry operations', () => {
  let ws: Workspace;
  beforeEach(async () => { ws = await workspace(); });
  afterEach(async () => { await ws.cleanup(); });

  it('ten runs with keep 3 leave exactly 3 complete archives, and never touch files that are not this job\'s', async () => {
    await ws.writeConfig(basicConfig({ targets: { local: { type: 'local', path: './backups', keep: 3 } } }));
    const backups = join(ws.dir, 'backups');
    await mkdir(backups);
    const foreign = ['otherjob-20200101T000000Z.tar.gz', 'otherjob-20200101T000000Z.tar.gz.manifest.json', 'notes.txt', 'app-backup-old.tar.gz'];
    for (const f of foreign) await writeFile(join(backups, f), 'not ferry\'s');
    for (let i = 0; i < 10; i++) {
      const r = await ws.run(['run', '-q']);
      expect(r.code, r.stderr).toBe(0);
    }
    const archives = await archivesIn(backups);
    expect(archives).toHaveLength(3);
    const files = await readdir(backups);
    for (const a of archives) expect(files).toContain(`${a}.manifest.json`);
    for (const f of foreign) expect(files).toContain(f);
    expect(files.filter((f) => f.endsWith('.manifest.json'))).toHaveLength(4);

    const plan = await ws.run(['prune', '--dry-run']);
    expect(plan.code).toBe(0);
    for (const a of archives) expect(plan.stdout).toMatch(new RegExp(`keep\\s+${a}\\s+\\S+`));
    const json = JSON.parse((await ws.run(['prune', '--dry-run', '--json'])).stdout);
    for (const d of json.targets[0].plan) expect(d.reasons.length).toBeGreaterThan(0);
  }, 120_000);

  it('prune --dry-run gives a reason for every archive and deletes nothing', async () => {
    await ws.writeConfig(basicConfig({ targets: { local: { type: 'local', path: './backups', keep: 1 } } }));
    const backups = join(ws.dir, 'backups');
    await mkdir(backups);
    for (const ts of ['20260101T000000Z', '20260102T000000Z']) {
      await writeFile(join(backups, `app-${ts}.tar.gz`), 'x');
      await writeFile(join(backups, `app-${ts}.tar.gz.manifest.json`), JSON.stringify({ format: 'ferry/1', job: 'app', archive: `app-${ts}.tar.gz`, size: 1, sha256: '0'.repeat(64) }));
    }
    const r = await ws.run(['prune', '--dry-run']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/keep\s+app-20260102T000000Z\.tar\.gz\s+.*last 1/);
    expect(r.stdout).toMatch(/would delete\s+app-20260101T000000Z\.tar\.gz\s+beyond every keep rule/);
    expect(await archivesIn(backups)).toHaveLength(2);
  });

  it('an unmounted usb target fails with NOT_MOUNTED while the local target succeeds: exit 3, error in last_run.json, no prune there', async () => {
    await mkdir(join(ws.dir, 'usbmnt'));
    await ws.writeConfig(basicConfig({
      targets: {
        local: { type: 'local', path: './backups', keep: 7 },
        usb: { type: 'usb', path: './usbmnt/backups', mountpoint: './usbmnt', keep: 7 },
      },
    }));
    const r = await ws.run(['run']);
    expect(r.code).toBe(3);
    expect(r.stdout + r.stderr).toMatch(/NOT_MOUNTED/);
    expect(await archivesIn(join(ws.dir, 'backups'))).toHaveLength(1);
    expect(await readdir(join(ws.dir, 'usbmnt'))).toEqual([]);
    const last = JSON.parse(await readFile(join(ws.dir, 'state', 'last_run.json'), 'utf8'));
    expect(last.status).toBe('partial');
    expect(last.targets.find((t: { target: string }) => t.target === 'usb')).toMatchObject({ status: 'failure', error_code: 'NOT_MOUNTED' });
    expect(last.targets.find((t: { target: string }) => t.target === 'local')).toMatchObject({ status: 'success' });
    const history = (await readFile(join(ws.dir, 'state', 'history.jsonl'), 'utf8')).trim().split('\n');
    expect(history).toHaveLength(1);
  });

  it('when the only target fails, the run fails with exit 1 and that target\'s own error', async () => {
    await mkdir(join(ws.dir, 'usbmnt'));
    await ws.writeConfig(basicConfig({ targets: { usb: { type: 'usb', path: './usbmnt/b', mountpoint: './usbmnt', keep: 3 } } }));
    const r = await ws.run(['run']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/target "usb" \[NOT_MOUNTED\]: nothing is mounted/);
    const last = JSON.parse(await readFile(join(ws.dir, 'state', 'last_run.json'), 'utf8'));
    expect(last).toMatchObject({ status: 'failure', targets: [{ target: 'usb', error_code: 'NOT_MOUNTED' }] });
    expect(last.targets[0].error).toMatch(/NOT_MOUNTED/);
  });

  it('a second concurrent run exits 75 at once', async () => {
    // The first run holds the lock in its before hook until the test lets it go, so the second can only
    // finish at once: it exits 75 while the first is still waiting.
    await ws.writeConfig(basicConfig({ hooks: { before: ['touch hook-started; while [ ! -e may-finish ]; do sleep 0.05; done'] } }));
    let firstEnded = false;
    const first = ws.run(['run']).finally(() => { firstEnded = true; });
    await waitFor(() => firstEnded || existsSync(join(ws.dir, 'hook-started')), { what: 'the first run to reach its before hook' });
    expect(firstEnded).toBe(false);
    const second = await ws.run(['run']);
    expect(second.code).toBe(75);
    expect(second.stderr).toMatch(/another run holds the lock/);
    expect(firstEnded).toBe(false);
    await writeFile(join(ws.dir, 'may-finish'), '');
    expect((await first).code).toBe(0);
  });

  it('after kill -9 mid-upload, the next run takes over the stale lock and succeeds; nothing incomplete lists', async () => {
    const big = join(ws.dir, 'app', 'big.bin');
    const { randomBytes } = await import('node:crypto');
    await writeFile(big, randomBytes(64 * 1024 * 1024));
    await ws.writeConfig(basicConfig({ compression: { level: 9 } }));
    const child = spawn(process.execPath, [FERRY, 'run'], { cwd: ws.dir, stdio: 'ignore' });
    const backups = join(ws.dir, 'backups');
    await waitFor(async () => (await readdir(backups).catch(() => [] as string[])).some((f) => f.startsWith('.ferry-partial-')), { what: 'a partial upload in backups/' });
    child.kill('SIGKILL');
    await new Promise((r) => child.on('exit', r));
    expect(await readFile(join(ws.dir, 'state', 'lock'), 'utf8')).toMatch(/"pid"/);
    const list1 = JSON.parse((await ws.run(['list', '--json'])).stdout);
    expect(list1.targets[0].archives).toEqual([]);

    const next = await ws.run(['run']);
    expect(next.code, next.stderr).toBe(0);
    expect(next.stderr).toMatch(/stale lock/);
    const list2 = JSON.parse((await ws.run(['list', '--json'])).stdout);
    expect(list2.targets[0].archives).toHaveLength(1);
  }, 120_000);

  it('a target or key problem found before the run is exit 2, and no hook runs', async () => {
    await ws.writeConfig(basicConfig({
      hooks: { before: ['touch before-ran'] },
      targets: { offsite: { type: 'sftp', host: '127.0.0.1', user: 'backup', path: '/srv/b', keep: 3 } },
    }));
    const noHostKey = await ws.run(['run']);
    expect(noHostKey.code).toBe(2);
    expect(noHostKey.stderr).toMatch(/offsite.*host_key|host_key.*offsite/);
    await ws.writeConfig(basicConfig({ hooks: { before: ['touch before-ran'] }, encryption: { recipients_file: './missing.txt' } }));
    const noKeys = await ws.run(['run']);
    expect(noKeys.code).toBe(2);
    expect(noKeys.stderr).toMatch(/encryption\.recipients_file: cannot read .*missing\.txt/);
    expect(await readdir(ws.dir)).not.toContain('before-ran');
  });

  describe('bad config is exit 2 with the key path and line', () => {
    const cases: [string, string, RegExp][] = [
      ['an unknown key', 'job: app\nsources:\n  - path: ./app\ntargets:\n  local:\n    type: local\n    path: ./b\n    kep: 3\n    keep: 3\n', /backup\.config\.yaml:8:5: targets\.local\.kep: unknown key; did you mean `keep`\?/],
      ['a wrong type', 'job: app\nsources:\n  - path: ./app\ncompression:\n  level: "high"\ntargets:\n  local: { type: local, path: ./b, keep: 3 }\n', /backup\.config\.yaml:5:10: compression\.level: expected a number, got the string "high"/],
      ['a missing ${VAR}', 'job: app\nsources:\n  - path: ./app\ntargets:\n  local:\n    type: local\n    path: ${FERRY_TEST_UNSET_DIR}\n    keep: 3\n', /backup\.config\.yaml:7:11: targets\.local\.path: environment variable FERRY_TEST_UNSET_DIR is not set/],
    ];
    for (const [what, yaml, message] of cases) {
      it(what, async () => {
        await writeFile(join(ws.dir, 'backup.config.yaml'), yaml);
        const r = await ws.run(['run']);
        expect(r.code).toBe(2);
        expect(r.stderr).toMatch(message);
        expect(r.stderr.trim().split('\n')).toHaveLength(1);
      });
    }
  });
});
