import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { plantArchive } from '../helpers/archive.js';
import { basicConfig, workspace, type Workspace } from '../helpers/cli.js';

const sh = (cmd: string, cwd: string) => execFileSync('/bin/sh', ['-c', cmd], { cwd, encoding: 'utf8' });

describe('ferry restore of a tar.gz that GNU tar made', () => {
  let ws: Workspace;
  beforeEach(async () => {
    ws = await workspace();
    await ws.writeConfig(basicConfig());
    await mkdir(join(ws.dir, 'backups'));
  });
  afterEach(async () => { await ws.cleanup(); });

  it('restores sparse files and names that are not valid UTF-8 exactly as GNU tar does, and verify reads it as ok', async () => {
    sh('mkdir src && printf start > src/disk.img && truncate -s 2M src/disk.img && printf end >> src/disk.img', ws.dir);
    writeFileSync(Buffer.from(`${ws.dir}/src/na\xefve`, 'latin1'), 'latin1 name');
    writeFileSync(Buffer.from(`${ws.dir}/src/na\xeeve`, 'latin1'), 'another latin1 name');
    sh('tar --format=posix --sparse -czf foreign.tar.gz -C src .', ws.dir);
    const name = 'app-20200101T000000Z.tar.gz';
    await plantArchive(join(ws.dir, 'backups'), 'app', name, readFileSync(join(ws.dir, 'foreign.tar.gz')));
    const r = await ws.run(['restore', name, '--to', 'dest']);
    expect(r.code, r.stderr).toBe(0);
    sh('mkdir by-gnu-tar && tar -xzf foreign.tar.gz -C by-gnu-tar', ws.dir);
    expect(sh('diff -r by-gnu-tar dest && echo same', ws.dir)).toBe('same\n');
    expect(readdirSync(join(ws.dir, 'dest'), { encoding: 'buffer' }).length).toBe(3);
    const v = await ws.run(['verify', name]);
    expect(v.code, v.stdout + v.stderr).toBe(0);
  });
});
