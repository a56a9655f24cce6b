import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { basicConfig, collect, FERRY, workspace, type Workspace } from '../helpers/cli.js';
import { waitFor, waitForExit } from '../helpers/wait.js';

/** A command source that waits until the test creates `./go`, so a run can be caught with its staging files in place. */
const GATED = { command: 'while [ ! -e ./go ]; do sleep 0.05; done; echo done', as: 'gated.txt' };

describe('staging_dir', () => {
  let ws: Workspace;
  beforeEach(async () => { ws = await workspace(); });
  afterEach(async () => {
    await writeFile(join(ws.dir, 'go'), '').catch(() => {}); // releases a gated command a killed run left behind
    await ws.cleanup();
  });

  it("a killed run's staging files are removed by the next run, and nothing else in staging_dir is touched", async () => {
    const staging = join(ws.dir, 'staging');
    await mkdir(staging);
    const others = ['ferry-app-AbC123', 'notes.txt', 'photos'];
    await writeFile(join(staging, 'notes.txt'), 'mine');
    await mkdir(join(staging, 'ferry-app-AbC123'));
    await mkdir(join(staging, 'photos'));
    await ws.writeConfig(basicConfig({ staging_dir: './staging', sources: [{ path: './app', as: 'app' }, GATED] }));

    const child = spawn(process.execPath, [FERRY, 'run'], { cwd: ws.dir, stdio: ['ignore', 'pipe', 'pipe'] });
    const run = collect(child);
    const leftover = await waitFor(async () => {
      if (run.exited) throw new Error(`the run ended before its staging directory appeared:\n${run.stderr}`);
      return (await readdir(staging)).find((n) => !others.includes(n));
    }, { what: 'the run to create its staging directory' });
    await writeFile(join(staging, leftover, 'half-a-dump.sql'), 'partial');
    child.kill('SIGKILL');
    await waitForExit(child.pid!, 'the killed run');
    await writeFile(join(ws.dir, 'go'), '');

    const next = await ws.run(['run']);
    expect(next.code, next.stderr).toBe(0);
    expect(next.stderr).toContain(`removed ${join(staging, leftover)}, left behind by a Ferry process that was killed`);
    expect((await readdir(staging)).sort()).toEqual([...others].sort());
  });

  it('a staging_dir that does not exist is created with mode 0700', async () => {
    await writeFile(join(ws.dir, 'go'), '');
    await ws.writeConfig(basicConfig({ staging_dir: './tmp/staging', sources: [{ path: './app', as: 'app' }, GATED] }));
    const r = await ws.run(['run']);
    expect(r.code, r.stderr).toBe(0);
    expect((await stat(join(ws.dir, 'tmp', 'staging'))).mode & 0o777).toBe(0o700);
    expect(await readdir(join(ws.dir, 'tmp', 'staging'))).toEqual([]);
  });

  it('a staging_dir that cannot be created fails the run before any hook, naming the key', async () => {
    await writeFile(join(ws.dir, 'a-file'), '');
    await ws.writeConfig(basicConfig({ staging_dir: './a-file/staging', hooks: { before: ['touch hook-ran'] } }));
    const r = await ws.run(['run']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`staging_dir: cannot use ${join(ws.dir, 'a-file', 'staging')} for temporary files`);
    expect(r.stderr).not.toMatch(/ENOENT/);
    expect(existsSync(join(ws.dir, 'hook-ran'))).toBe(false);
  });
});
