import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { basicConfig, FERRY, SAMPLE_APP, workspace, type Workspace } from '../helpers/cli.js';

describe('ferry pull, status, run --dry-run and --json', () => {
  let ws: Workspace;
  beforeEach(async () => { ws = await workspace(); });
  afterEach(async () => { await ws.cleanup(); });

  it('run --dry-run measures the archive but stores, prunes and records nothing', async () => {
    await ws.writeConfig(basicConfig());
    const r = await ws.run(['run', '--dry-run', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result).toMatchObject({ format_version: 1, status: 'success', dry_run: true, exit_code: 0 });
    expect(result.size).toBeGreaterThan(1000);
    expect(await readdir(join(ws.dir, 'backups')).catch(() => [])).toEqual([]);
    expect(await readdir(join(ws.dir, 'state')).catch(() => [])).not.toContain('last_run.json');
  });

  it('pull fetches the archive file itself, verified against the manifest; --decrypt gives the tar.gz', async () => {
    await ws.run(['keygen', '--out', 'key.txt']);
    const recipient = /public key: (age1[0-9a-z]+)/.exec(await readFile(join(ws.dir, 'key.txt'), 'utf8'))![1];
    await ws.writeConfig(basicConfig({ encryption: { recipients: [recipient] } }));
    expect((await ws.run(['run'])).code).toBe(0);
    const pulled = await ws.run(['pull', 'latest', '--out', 'copy.tar.gz.age', '--json']);
    expect(pulled.code, pulled.stderr).toBe(0);
    const info = JSON.parse(pulled.stdout);
    const bytes = await readFile(join(ws.dir, 'copy.tar.gz.age'));
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(info.sha256);
    const plain = await ws.run(['pull', '--decrypt', '--identity', 'key.txt', '--out', 'plain.tar.gz']);
    expect(plain.code, plain.stderr).toBe(0);
    execFileSync('/bin/sh', ['-c', 'mkdir x && tar -xzf plain.tar.gz -C x'], { cwd: ws.dir });
    execFileSync('diff', ['-r', SAMPLE_APP, join(ws.dir, 'x', 'app')]);
  });

  it('status shows the last run per target and archive counts; --json is one document', async () => {
    await ws.writeConfig(basicConfig({ schedule: '15 3 * * *', timezone: 'Europe/Berlin' }));
    expect((await ws.run(['run'])).code).toBe(0);
    const r = await ws.run(['status', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.last_run.status).toBe('success');
    expect(s.targets[0]).toMatchObject({ target: 'local', archives: 1 });
    expect(new Date(s.next_run).getUTCMinutes()).toBe(15);
    const human = await ws.run(['status']);
    expect(human.stdout).toMatch(/last run: success/);
    // A lock left by a killed run is stale: status must not report a run in progress.
    await writeFile(join(ws.dir, 'state', 'lock'), JSON.stringify({ pid: 2 ** 22 + 7, host: hostname(), started: '2026-01-01T00:00:00Z' }));
    expect(JSON.parse((await ws.run(['status', '--json'])).stdout).running).toBeNull();
  });

  it('check probes the target and reports the config', async () => {
    await ws.writeConfig(basicConfig());
    const r = await ws.run(['check', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).targets[0]).toMatchObject({ target: 'local', ok: true });
  });

  it('an unknown --target is a usage error, reported as JSON on stdout with --json', async () => {
    await ws.writeConfig(basicConfig());
    const r = await ws.run(['run', '--target', 'nope']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown target "nope"/);
    const j = await ws.run(['--json', 'run', '--target', 'nope']);
    expect(JSON.parse(j.stdout)).toEqual({ format_version: 1, error: expect.stringMatching(/unknown target "nope"/), exit_code: 2 });
  });

  it('shows progress bars on a terminal and plain lines otherwise', async () => {
    await ws.writeConfig(basicConfig());
    const onTty = execFileSync('script', ['-qec', `${process.execPath} ${FERRY} run`, '/dev/null'], { cwd: ws.dir, encoding: 'utf8' });
    expect(onTty).toMatch(/run\s+\|[^|]+\| 100% \|/);
    const piped = await ws.run(['run']);
    expect(piped.stderr).not.toMatch(/\|[^|]*\|/);
  });
});
