import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { processStart } from '../../src/state/lock.js';
import { makeStagingDir, sweepStagingDirs } from '../../src/state/staging-dirs.js';

/** A pid that belonged to a process that has exited. */
function deadPid(): number {
  return Number(spawnSync('/bin/sh', ['-c', 'echo $$'], { encoding: 'utf8' }).stdout.trim());
}

describe('staging directories', () => {
  let parent: string;
  beforeEach(async () => { parent = await mkdtemp(join(tmpdir(), 'ferry-staging-test-')); });
  afterEach(async () => { await rm(parent, { recursive: true, force: true }); });

  it('a missing staging_dir is created with mode 0700, and each working directory is private', async () => {
    const staging = join(parent, 'a', 'b');
    const dir = await makeStagingDir(staging, 'job');
    expect((await stat(staging)).mode & 0o777).toBe(0o700);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
  });

  it('the sweep removes what killed processes left and nothing else', async () => {
    const mine = await makeStagingDir(parent, 'job');
    await writeFile(join(mine, 'pgdump.sql'), 'in use');
    const killed = join(parent, `ferry-job-p${deadPid()}s1234-AbC123`);
    // This pid is alive, but the name records another start time: the pid was reused, its owner is gone.
    const reused = join(parent, `ferry-stage-p${process.pid}s${Number(processStart(process.pid) ?? 0) + 1}-XyZ789`);
    for (const d of [killed, reused]) {
      await mkdir(d);
      await writeFile(join(d, 'archive.part'), 'half an archive');
    }
    const others = ['ferry-job-Ab12Cd', 'ferry-notes', 'my-ferry-job-p1s1-AbC123', 'photos'];
    for (const o of others) await mkdir(join(parent, o));
    await writeFile(join(parent, `ferry-job-p${deadPid()}s1-file00`), 'a file, not a directory');

    const removed = await sweepStagingDirs(parent);
    expect(removed.sort()).toEqual([killed, reused].map((d) => d.slice(parent.length + 1)).sort());
    expect(existsSync(join(mine, 'pgdump.sql'))).toBe(true);
    expect((await readdir(parent)).length).toBe(others.length + 2);
  });

  it('sweeping a staging_dir that does not exist finds nothing', async () => {
    expect(await sweepStagingDirs(join(parent, 'missing'))).toEqual([]);
  });
});
