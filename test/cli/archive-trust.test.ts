import { copyFile, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { archiveName, manifestKey } from '../../src/storage/layout.js';
import { basicConfig, workspace, type Workspace } from '../helpers/cli.js';

/**
 * Archives on a target that Ferry must not trust as this job's newest:
 * copies whose manifest belongs to another archive or job, and archives
 * dated in the future by a host with a wrong clock.
 */
describe('foreign archives and archives dated in the future', () => {
  let ws: Workspace;
  let backups: string;
  let real: string;
  beforeEach(async () => {
    ws = await workspace();
    backups = join(ws.dir, 'backups');
    await ws.writeConfig(basicConfig());
    const r = await ws.run(['run']);
    expect(r.code, r.stderr).toBe(0);
    real = (await readdir(backups)).find((n) => /^app-\d{8}T\d{6}Z\.tar\.gz$/.test(n))!;
  });
  afterEach(async () => { await ws.cleanup(); });

  /** Stores a copy of the real archive as `name`, its manifest edited by `edit`. */
  async function plant(name: string, edit: (m: Record<string, unknown>) => void): Promise<void> {
    await copyFile(join(backups, real), join(backups, name));
    const manifest = JSON.parse(await readFile(join(backups, manifestKey(real)), 'utf8')) as Record<string, unknown>;
    edit(manifest);
    await writeFile(join(backups, manifestKey(name)), JSON.stringify(manifest));
  }
  const inMinutes = (m: number) => archiveName('app', new Date(Date.now() + m * 60_000), false);

  it('a manifest bound to another archive or job makes the archive foreign: listed under a warning, never latest, never verified, never pruned', async () => {
    const copied = inMinutes(20);
    const otherJob = inMinutes(40);
    await plant(copied, () => {}); // still names the real archive
    await plant(otherJob, (m) => { m.archive = otherJob; m.job = 'other'; });

    const list = await ws.run(['list', '--json']);
    expect(list.code, list.stderr).toBe(0);
    const [listing] = JSON.parse(list.stdout).targets;
    expect(listing.archives.map((a: { name: string }) => a.name)).toEqual([real]);
    expect(listing.foreign.map((a: { name: string }) => a.name).sort()).toEqual([copied, otherJob].sort());
    const human = await ws.run(['list']);
    expect(human.stdout).toMatch(new RegExp(`warning: ${copied} is foreign and is never restored or pruned: the manifest is for archive "${real}"`));
    expect(human.stdout).toMatch(new RegExp(`warning: ${otherJob} is foreign .*for job "other"`));

    const restored = await ws.run(['restore', 'latest', '--to', 'out', '--json']);
    expect(restored.code, restored.stderr).toBe(0);
    expect(JSON.parse(restored.stdout).archive).toBe(real);
    for (const cmd of [['verify', copied], ['pull', otherJob, '--out', 'x.tar.gz']]) {
      const refused = await ws.run(cmd);
      expect(refused.code).toBe(1);
      expect(refused.stdout + refused.stderr).toMatch(/is foreign and is never restored, pulled or verified/);
    }

    await ws.writeConfig(basicConfig({ targets: { local: { type: 'local', path: './backups', keep: 1 } } }));
    const pruned = await ws.run(['prune']);
    expect(pruned.code, pruned.stderr).toBe(0);
    expect(await readdir(backups)).toEqual(expect.arrayContaining([copied, manifestKey(copied), otherJob, manifestKey(otherJob), real]));
  });

  it('a run never deletes the archive it just pushed, even when the clock stepped back behind archives already stored', async () => {
    const later = [inMinutes(30), inMinutes(50)];
    for (const name of later) await plant(name, (m) => { m.archive = name; });
    await ws.writeConfig(basicConfig({ targets: { local: { type: 'local', path: './backups', keep: 1 } } }));
    const r = await ws.run(['run', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const pushed = JSON.parse(r.stdout).archive as string;
    expect(pushed < later[0]!).toBe(true);
    const left = await readdir(backups);
    expect(left).toEqual(expect.arrayContaining([pushed, manifestKey(pushed), later[1], manifestKey(later[1]!)]));
    expect(left).not.toContain(later[0]);
  });

  it('an archive dated more than an hour ahead is reported by list, check and prune, is never latest, and prune keeps it', async () => {
    const ahead = inMinutes(3 * 24 * 60);
    await plant(ahead, (m) => { m.archive = ahead; });

    const list = await ws.run(['list']);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(new RegExp(`warning: ${ahead} is dated in the future`));
    const check = await ws.run(['check']);
    expect(check.code, check.stderr).toBe(0);
    expect(check.stdout).toMatch(new RegExp(`warning: ${ahead} is dated in the future`));

    const restored = await ws.run(['restore', '--to', 'out', '--json']);
    expect(restored.code, restored.stderr).toBe(0);
    expect(JSON.parse(restored.stdout).archive).toBe(real);

    await ws.writeConfig(basicConfig({ targets: { local: { type: 'local', path: './backups', keep: 1 } } }));
    const pruned = await ws.run(['prune', '--json']);
    expect(pruned.code, pruned.stderr).toBe(0);
    const plan = JSON.parse(pruned.stdout).targets[0].plan as { name: string; action: string; reasons: string[] }[];
    expect(plan.find((d) => d.name === ahead)).toMatchObject({ action: 'keep', reasons: ['dated in the future'] });
    expect(plan.find((d) => d.name === real)).toMatchObject({ action: 'keep', reasons: expect.arrayContaining(['newest complete archive']) });

    // The next run's own archive is the newest real one; the one from the future still stays.
    const again = await ws.run(['run']);
    expect(again.code, again.stderr).toBe(0);
    const left = await readdir(backups);
    expect(left).toContain(ahead);
    expect(left.filter((n) => /^app-\d{8}T\d{6}Z\.tar\.gz$/.test(n))).toHaveLength(2);
  });
});
