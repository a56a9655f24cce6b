import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { mkdir, readdir, readFile, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basicConfig, FERRY, workspace, type Workspace } from '../helpers/cli.js';

describe('consistent, scriptable output', () => {
  let ws: Workspace;
  let archive: string;
  beforeAll(async () => {
    ws = await workspace();
    await ws.writeConfig(basicConfig({ targets: { local: { type: 'local', path: './backups', keep: 7 }, spare: { type: 'local', path: './spare', keep: 7 } } }));
    expect((await ws.run(['run'])).code).toBe(0);
    archive = (await readdir(join(ws.dir, 'backups'))).find((f) => f.endsWith('Z.tar.gz'))!;
  });
  afterAll(async () => { await ws.cleanup(); });

  /** Writes `ferry completion SHELL` into the workspace and returns the file. */
  const completionFile = (shell: string) => {
    const file = join(ws.dir, `completion.${shell}`);
    writeFileSync(file, spawnSync(process.execPath, [FERRY, 'completion', shell], { encoding: 'utf8' }).stdout);
    return file;
  };

  it('last_run.json and history.jsonl are snake_case documents with format_version and exit_code', async () => {
    const last = JSON.parse(await readFile(join(ws.dir, 'state', 'last_run.json'), 'utf8'));
    expect(last).toMatchObject({ format_version: 1, job: 'app', status: 'success', exit_code: 0 });
    expect(last.targets[0]).toHaveProperty('duration_ms');
    const history = (await readFile(join(ws.dir, 'state', 'history.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    expect(history.at(-1)).toMatchObject({ format_version: 1, id: last.id, exit_code: 0 });
    expect(JSON.stringify(history)).not.toMatch(/"[a-z]+[A-Z][A-Za-z]*":/);
  });

  it('a last_run.json written with the old camelCase keys still reads, and status shows it in snake_case', async () => {
    const old = join(ws.dir, 'old-state');
    await writeFile(join(ws.dir, 'old.yaml'), (await readFile(join(ws.dir, 'backup.config.yaml'), 'utf8')).replace('state_dir: ./state', 'state_dir: ./old-state'));
    await mkdir(old);
    await writeFile(join(old, 'last_run.json'), JSON.stringify({
      id: 'r1', job: 'app', status: 'partial', started: '2026-11-01T03:00:00.000Z', ended: '2026-11-01T03:01:00.000Z',
      targets: [{ target: 'local', status: 'success', bytes: 10, durationMs: 1500 }, { target: 'spare', status: 'failure', bytes: 0, durationMs: 20, errorCode: 'NO_SPACE', error: 'disk full' }],
      attention: { failedTargets: ['spare'], failedPrunes: [], unreadable: [] }, warnings: [],
    }));
    const r = await ws.run(['-c', 'old.yaml', 'status', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ format_version: 1, exit_code: 0, last_run: { status: 'partial', attention: { failed_targets: ['spare'] } } });
    expect(doc.last_run.targets[1]).toMatchObject({ duration_ms: 20, error_code: 'NO_SPACE' });
    expect((await ws.run(['-c', 'old.yaml', 'status'])).stdout).toMatch(/needs attention: not stored on spare/);
  });

  it('verify names the target an archive failed on, not "(any)"', async () => {
    const path = join(ws.dir, 'backups', archive);
    const good = await readFile(path);
    await truncate(path, 3000);
    try {
      const r = await ws.run(['verify', archive]);
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(new RegExp(`^local: FAILED: .*truncated`, 'm'));
      expect(r.stdout).not.toContain('(any)');
      const json = JSON.parse((await ws.run(['verify', archive, '--json'])).stdout);
      expect(json).toMatchObject({ format_version: 1, exit_code: 1, reports: [{ target: 'local', archive, ok: false }] });
      const missing = await ws.run(['verify', 'app-20200101T000000Z.tar.gz']);
      expect(missing.stdout).toMatch(/^local, spare: FAILED: /m);
    } finally {
      await writeFile(path, good);
    }
  });

  it('pull --out refuses to overwrite an existing file without --force, and replaces it with --force', async () => {
    const out = join(ws.dir, 'pulled.tar.gz');
    await writeFile(out, 'mine');
    const refused = await ws.run(['pull', '--out', out]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/pulled\.tar\.gz already exists; pass --force/);
    expect(await readFile(out, 'utf8')).toBe('mine');
    expect((await readdir(ws.dir)).filter((n) => n.includes('ferry-partial'))).toEqual([]);

    const forced = await ws.run(['pull', '--out', out, '--force', '--json']);
    expect(forced.code, forced.stderr).toBe(0);
    expect(JSON.parse(forced.stdout)).toMatchObject({ format_version: 1, archive, exit_code: 0 });
    expect((await stat(out)).size).toBe((await stat(join(ws.dir, 'backups', archive))).size);
    // The default output name is protected the same way.
    expect((await ws.run(['pull'])).code).toBe(0);
    expect((await ws.run(['pull'])).code).toBe(2);
  });

  it('ferry completion bash completes commands, options and paths in a real bash', () => {
    const script = spawnSync(process.execPath, [FERRY, 'completion', 'bash'], { encoding: 'utf8' }).stdout;
    const complete = (words: string[]) => spawnSync('bash', ['-c', `source /dev/stdin <<'EOS'\n${script}\nEOS\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _ferry; printf '%s\\n' "\${COMPREPLY[@]}"`], { encoding: 'utf8', cwd: ws.dir }).stdout.trim().split('\n');
    expect(complete(['ferry', 've'])).toEqual(['verify']);
    expect(complete(['ferry', 'run', '--ta'])).toEqual(['--target']);
    expect(complete(['ferry', 'prune', '--j'])).toEqual(['--job', '--json']);
    expect(complete(['ferry', '-c', 'backup.config.y'])).toEqual(['backup.config.yaml']);
    expect(complete(['ferry', '-c', 'x', 'sta'])).toEqual(['stats', 'status']);
  });

  it('ferry completion fish completes commands and options in a real fish', () => {
    const script = completionFile('fish');
    const complete = (line: string) => spawnSync('fish', ['--no-config', '-c', `source ${script}; complete -C '${line}'`], { encoding: 'utf8' });
    const commands = complete('ferry ve');
    expect(commands.error, 'fish must be installed (test/run.sh installs it)').toBeUndefined();
    expect(commands.stdout).toMatch(/^verify\tdownload an archive/m);
    expect(complete('ferry run --ta').stdout).toMatch(/^--target\t/m);
  });

  it('ferry completion zsh loads in a real zsh and registers _ferry for ferry', () => {
    const script = completionFile('zsh');
    const r = spawnSync('zsh', ['-f', '-c', `autoload -U compinit && compinit -u -D && source ${script} && print -r -- $_comps[ferry] $+functions[_ferry]`], { encoding: 'utf8', env: { ...process.env, HOME: ws.dir } });
    expect(r.error, 'zsh must be installed (test/run.sh installs it)').toBeUndefined();
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('_ferry 1');
    expect(spawnSync(process.execPath, [FERRY, 'completion', 'tcsh'], { encoding: 'utf8' }).status).toBe(2);
  });
});
