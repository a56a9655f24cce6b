import { spawn } from 'node:child_process';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commandNames } from '../../src/check/commands.js';
import { basicConfig, collect, FERRY, workspace, type Workspace } from '../helpers/cli.js';

let ws: Workspace;
beforeAll(async () => { ws = await workspace(); });
afterAll(async () => { await ws.cleanup(); });

interface CheckJson {
  ok: boolean;
  sources: { name: string; ok: boolean; errors: string[]; warnings: string[]; unreadable: { path: string; message: string }[] }[];
}
const sourceNamed = (doc: CheckJson, prefix: string) => doc.sources.find((s) => s.name.startsWith(prefix))!;

describe('ferry check predicts tonight\'s run', () => {
  it('a healthy config passes with exit 0', async () => {
    await ws.writeConfig(basicConfig());
    const r = await ws.run(['check']);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.stdout).toMatch(/^sources\.0 \(path \.\/app\): ok — \d+ files, \d+ bytes$/m);
    expect(r.stdout).toContain("tonight's run should succeed");
  });

  it('a missing source path fails check with exit 1, naming it', async () => {
    await ws.writeConfig(basicConfig({ sources: [{ path: './app' }, { path: './gone', as: 'gone' }] }));
    const r = await ws.run(['check']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/sources\.1 \(path \.\/gone\): FAILED: source \.\/gone: cannot read .*gone: ENOENT/);
    expect(r.stdout).toMatch(/tonight's run would not succeed: sources\.1/);
  });

  it('files the run could not read are listed, and check exits 1', async () => {
    await mkdir(join(ws.dir, 'locked-app', 'sealed'), { recursive: true });
    await writeFile(join(ws.dir, 'locked-app', 'open.txt'), 'ok');
    await writeFile(join(ws.dir, 'locked-app', 'secret.txt'), 'no');
    await writeFile(join(ws.dir, 'locked-app', 'sealed', 'inner.txt'), 'no');
    await chmod(join(ws.dir, 'locked-app', 'secret.txt'), 0o000);
    await chmod(join(ws.dir, 'locked-app', 'sealed'), 0o000);
    try {
      await ws.writeConfig(basicConfig({ sources: [{ path: './locked-app', as: 'app' }] }));
      // Root reads everything, so check runs without the capabilities that let it ignore modes.
      const drop = '-dac_override,-dac_read_search';
      const child = spawn('setpriv', ['--bounding-set', drop, '--inh-caps', drop, '--', process.execPath, FERRY, '--json', 'check'], { cwd: ws.dir, stdio: ['ignore', 'pipe', 'pipe'] });
      const r = await collect(child).done;
      expect(r.code, r.stderr).toBe(1);
      const doc = JSON.parse(r.stdout) as CheckJson;
      expect(sourceNamed(doc, 'sources.0').unreadable).toEqual([
        { path: 'app/sealed', message: 'directory could not be read (EACCES); not stored' },
        { path: 'app/secret.txt', message: 'file could not be opened (EACCES); the run would not store it' },
      ]);
    } finally {
      await chmod(join(ws.dir, 'locked-app', 'sealed'), 0o755);
    }
  });

  it('an exclude that matches nothing is a warning, not a failure', async () => {
    await ws.writeConfig(basicConfig({ sources: [{ path: './app', as: 'app', exclude: ['**/*.yaml', 'no-such-dir/'] }] }));
    const r = await ws.run(['--json', 'check']);
    expect(r.code, r.stdout).toBe(0);
    expect(sourceNamed(JSON.parse(r.stdout) as CheckJson, 'sources.0').warnings).toEqual([
      'exclude "no-such-dir/" leaves nothing out of ./app (patterns are relative to the source path)',
    ]);
  });

  it('a SQLite file that fails PRAGMA quick_check fails check', async () => {
    const good = join(ws.dir, 'good.db');
    const db = new Database(good);
    db.exec('CREATE TABLE t (x TEXT); INSERT INTO t VALUES (\'hello\')');
    db.close();
    await writeFile(join(ws.dir, 'bad.db'), Buffer.concat([Buffer.from('SQLite format 3\0'), Buffer.alloc(4096, 0xff)]));
    await ws.writeConfig(basicConfig({ sources: [{ sqlite: './good.db' }, { sqlite: './bad.db' }] }));
    const r = await ws.run(['--json', 'check']);
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout) as CheckJson;
    expect(sourceNamed(doc, 'sources.0').ok).toBe(true);
    expect(sourceNamed(doc, 'sources.1').errors.join()).toMatch(/bad\.db/);
  });

  it('commands that are not on PATH fail a command source and a before hook, and only warn for after hooks', async () => {
    await writeFile(join(ws.dir, 'tool.sh'), '#!/bin/sh\necho hi\n', { mode: 0o755 });
    await ws.writeConfig(basicConfig({
      sources: [{ path: './app' }, { command: 'ferry-no-such-tool --all | gzip', as: 'out.gz' }, { command: './tool.sh && echo ok', as: 'ok.txt' }],
      hooks: { before: ['FOO=1 ferry-no-such-hook stop'], after: ['ferry-no-such-after'] },
    }));
    const r = await ws.run(['--json', 'check']);
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout) as CheckJson;
    expect(sourceNamed(doc, 'sources.1').errors).toEqual(['"ferry-no-such-tool" not found on PATH']);
    expect(sourceNamed(doc, 'sources.2').ok).toBe(true);
    expect(sourceNamed(doc, 'hooks.before.0').errors[0]).toMatch(/"ferry-no-such-hook" not found on PATH.*the run would stop/);
    expect(sourceNamed(doc, 'hooks.after.0')).toMatchObject({ ok: true, warnings: [expect.stringMatching(/"ferry-no-such-after" not found/)] });
  });

  it('finds the command names of a shell line: after assignments, operators and reserved words, not arguments or files', () => {
    expect(commandNames('FOO=1 docker compose stop app && cd /x; pg_dumpall -U $USER | gzip > out.gz 2>&1 & echo "a b" # c')).toEqual(['docker', 'cd', 'pg_dumpall', 'gzip', 'echo']);
    expect(commandNames('if test -f x; then rsync a b; fi\n(cd /; ls)')).toEqual(['test', 'rsync', 'cd', 'ls']);
    expect(commandNames('$TOOL --x; for f in a b; do nothing-checked; done')).toEqual([]);
  });
});
