import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { plantArchive } from '../helpers/archive.js';
import { basicConfig, workspace, type Workspace } from '../helpers/cli.js';

const sh = (cmd: string, cwd: string) => execFileSync('/bin/sh', ['-c', cmd], { cwd, encoding: 'utf8' });

/** Special-mode files and directories, each owned by someone other than root (as the tests run as root). */
const SPECIAL = [
  'mkdir shared sticky',
  'printf "#!/bin/sh\\n" > suid && printf "#!/bin/sh\\n" > sgid && touch sticky/inside',
  'chown 1234:1234 suid shared sticky/inside && chown 1234:5678 sgid sticky',
  'chmod 4755 suid && chmod 2755 sgid && chmod 2775 shared && chmod 1777 sticky',
].join(' && ');
const STAT = 'stat -c "%n %a %u:%g" suid sgid shared sticky sticky/inside';
const EXPECTED = 'suid 4755 1234:1234\nsgid 2755 1234:5678\nshared 2775 1234:1234\nsticky 1777 1234:5678\nsticky/inside 644 1234:1234\n';

describe('a root restore keeps setuid, setgid and sticky bits', () => {
  let ws: Workspace;
  beforeEach(async () => {
    ws = await workspace();
    sh(SPECIAL, join(ws.dir, 'app'));
    expect(sh(STAT, join(ws.dir, 'app'))).toBe(EXPECTED);
    await ws.writeConfig(basicConfig());
  });
  afterEach(async () => { await ws.cleanup(); });

  it('from Ferry\'s own archives: owner first, then mode, files and directories alike', async () => {
    expect((await ws.run(['run'])).code).toBe(0);
    const r = await ws.run(['restore', '--to', 'dest']);
    expect(r.code, r.stderr).toBe(0);
    expect(sh(STAT, join(ws.dir, 'dest', 'app'))).toBe(EXPECTED);
  });

  it('from an archive GNU tar made, as GNU tar itself restores them', async () => {
    sh('mkdir backups && tar --format=gnu -czf foreign.tar.gz -C app .', ws.dir);
    const name = 'app-20200101T000000Z.tar.gz';
    await plantArchive(join(ws.dir, 'backups'), 'app', name, await readFile(join(ws.dir, 'foreign.tar.gz')));
    const r = await ws.run(['restore', name, '--to', 'dest']);
    expect(r.code, r.stderr).toBe(0);
    expect(sh(STAT, join(ws.dir, 'dest'))).toBe(EXPECTED);
    sh('mkdir by-gnu-tar && tar -xzf foreign.tar.gz -C by-gnu-tar', ws.dir);
    expect(sh(STAT, join(ws.dir, 'by-gnu-tar'))).toBe(EXPECTED);
  });
});
