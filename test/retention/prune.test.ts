import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalAdapter } from '../../adapters/local/adapter.js';
import { applyPrune, planTarget } from '../../src/retention/prune.js';
import type { OpOptions, StorageAdapter } from '../../src/storage/adapter.js';
import { readCatalog } from '../../src/storage/catalog.js';
import { StorageError } from '../../src/storage/errors.js';
import { archiveName, manifestKey } from '../../src/storage/layout.js';
import { indexKey } from '../../src/index/format.js';

const JOB = 'mss';
const NOW = new Date('2026-11-20T12:00:00Z');
const FOREIGN = [
  'otherjob-20260101T000000Z.tar.gz',
  'otherjob-20260101T000000Z.tar.gz.manifest.json',
  'notes.txt',
  'mss-backup-notes.txt',
  'mss-20260101.tar.gz',
];

let dir: string;
let adapter: LocalAdapter;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ferry-prune-'));
  await mkdir(join(dir, 'target'));
  adapter = new LocalAdapter('local', join(dir, 'target'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

/** Stores one archive of JOB made `daysAgo` days before NOW; with `complete` its manifest too. */
async function store(daysAgo: number, complete = true): Promise<string> {
  const name = archiveName(JOB, new Date(NOW.getTime() - daysAgo * 86_400_000), false);
  await writeFile(join(dir, 'target', name), `archive ${name}`);
  if (complete) await writeFile(join(dir, 'target', manifestKey(name)), manifestFor(name));
  return name;
}

/** A manifest bound to `archive` of `job` (only the fields the catalog checks). */
function manifestFor(archive: string, job = JOB): string {
  return JSON.stringify({ format: 'ferry/1', job, archive, size: 0, sha256: '0'.repeat(64) });
}

/** Ten complete daily archives, newest first. */
async function tenArchives(): Promise<string[]> {
  const names: string[] = [];
  for (let i = 0; i < 10; i++) names.push(await store(i + 0.5));
  return names;
}

const files = async () => (await readdir(join(dir, 'target'))).sort();

/** Records every remove call; `failOn` makes removing that key fail. */
function recording(inner: StorageAdapter, failOn?: string): StorageAdapter & { removed: string[] } {
  const removed: string[] = [];
  return Object.assign(Object.create(inner) as StorageAdapter, {
    removed,
    async remove(key: string, options?: OpOptions) {
      if (key === failOn) throw new StorageError('AUTH', inner.name, `removing ${key}: permission denied`);
      removed.push(key);
      return inner.remove(key, options);
    },
  });
}

describe('prune', () => {
  it('ten archives with keep: 3 leave exactly the newest 3 complete', async () => {
    const names = await tenArchives();
    const plan = await planTarget(adapter, JOB, 3, NOW);
    const result = await applyPrune(adapter, JOB, plan);

    expect(result.errors).toEqual([]);
    expect(result.deleted).toEqual(names.slice(3));
    const catalog = await readCatalog(adapter, JOB);
    expect(catalog.complete.map((a) => a.name)).toEqual(names.slice(0, 3).reverse());
    expect(catalog.incomplete).toEqual([]);
    expect(await files()).toEqual(names.slice(0, 3).flatMap((n) => [n, manifestKey(n)]).sort());
  });

  it("never touches files in the same folder that are not this job's archives", async () => {
    const names = await tenArchives();
    for (const f of FOREIGN) await writeFile(join(dir, 'target', f), 'not ours');
    await symlink(names[0]!, join(dir, 'target', 'mss-latest.tar.gz'));

    const plan = await planTarget(adapter, JOB, 1, NOW);
    expect(plan.decisions.map((d) => d.name)).toEqual(names);
    const result = await applyPrune(adapter, JOB, plan);

    expect(result.errors).toEqual([]);
    expect(await files()).toEqual([names[0]!, manifestKey(names[0]!), 'mss-latest.tar.gz', ...FOREIGN].sort());
  });

  it('deletes each archive, then its index sidecar, then its manifest, so no complete-looking half remains', async () => {
    const names = await tenArchives();
    const spy = recording(adapter);
    await applyPrune(spy, JOB, await planTarget(spy, JOB, 8, NOW));
    expect(spy.removed).toEqual([names[8]!, indexKey(names[8]!), manifestKey(names[8]!), names[9]!, indexKey(names[9]!), manifestKey(names[9]!)]);
  });

  it('a dry run deletes nothing and reports what it would delete', async () => {
    const names = await tenArchives();
    await store(3.2, false);
    const before = await files();
    const plan = await planTarget(adapter, JOB, 3, NOW);
    const result = await applyPrune(adapter, JOB, plan, { dryRun: true });

    expect(await files()).toEqual(before);
    expect(result).toMatchObject({ dryRun: true, errors: [] });
    expect(result.deleted).toEqual(plan.decisions.filter((d) => d.action === 'delete').map((d) => d.name));
    expect(result.deleted).toHaveLength(8);
    expect(result.deleted).not.toContain(names[0]);
  });

  it('removes incomplete archives older than 24h and keeps younger ones', async () => {
    const names = await tenArchives();
    const young = await store(0.1, false);
    const stale = await store(2, false);
    await applyPrune(adapter, JOB, await planTarget(adapter, JOB, 10, NOW));
    expect(await files()).toEqual([...names.flatMap((n) => [n, manifestKey(n)]), young].sort());
    expect(await files()).not.toContain(stale);
  });

  it("removes this job's manifests whose archive is gone, and only those", async () => {
    const names = await tenArchives();
    const orphan = manifestKey(archiveName(JOB, new Date('2026-01-01T00:00:00Z'), false));
    await writeFile(join(dir, 'target', orphan), '{}');
    await writeFile(join(dir, 'target', 'otherjob-20250101T000000Z.tar.gz.manifest.json'), '{}');

    const result = await applyPrune(adapter, JOB, await planTarget(adapter, JOB, 10, NOW));
    expect(result.orphanManifests).toEqual([orphan]);
    expect(await files()).toEqual([...names.flatMap((n) => [n, manifestKey(n)]), 'otherjob-20250101T000000Z.tar.gz.manifest.json'].sort());
  });

  it('never deletes an archive whose manifest belongs to another archive or job, and reports it', async () => {
    const names = await tenArchives();
    const target = join(dir, 'target');
    const foreign = [archiveName(JOB, new Date('2026-01-01T00:00:00Z'), false), archiveName(JOB, new Date('2026-01-02T00:00:00Z'), false), archiveName(JOB, new Date('2026-01-03T00:00:00Z'), false)];
    await writeFile(join(target, foreign[0]!), 'copied from elsewhere');
    await writeFile(join(target, manifestKey(foreign[0]!)), manifestFor(names[0]!));
    await writeFile(join(target, foreign[1]!), 'another job');
    await writeFile(join(target, manifestKey(foreign[1]!)), manifestFor(foreign[1]!, 'otherjob'));
    await writeFile(join(target, foreign[2]!), 'not ferry');
    await writeFile(join(target, manifestKey(foreign[2]!)), 'not json');

    const plan = await planTarget(adapter, JOB, 3, NOW);
    for (const f of foreign) expect(plan.decisions.map((d) => d.name)).not.toContain(f);
    expect(plan.warnings).toHaveLength(3);
    expect(plan.warnings!.join('\n')).toMatch(new RegExp(`${foreign[0]} is foreign.*for archive "${names[0]}"`));
    expect(plan.warnings!.join('\n')).toMatch(/for job "otherjob"/);
    await applyPrune(adapter, JOB, plan);
    const left = await files();
    for (const f of foreign) expect(left).toEqual(expect.arrayContaining([f, manifestKey(f)]));
    expect(left.filter((n) => names.includes(n))).toEqual(names.slice(0, 3).sort());
  });

  it('keeps archives dated more than an hour in the future, says why, and still keeps the newest real one', async () => {
    const names = await tenArchives();
    const ahead = archiveName(JOB, new Date(NOW.getTime() + 3 * 86_400_000), false);
    await writeFile(join(dir, 'target', ahead), 'from a host with a wrong clock');
    await writeFile(join(dir, 'target', manifestKey(ahead)), manifestFor(ahead));
    const plan = await planTarget(adapter, JOB, 1, NOW);
    expect(plan.decisions.find((d) => d.name === ahead)).toMatchObject({ action: 'keep', reasons: ['dated in the future'] });
    expect(plan.decisions.find((d) => d.name === names[0])).toMatchObject({ action: 'keep', reasons: ['newest complete archive', 'last 1'] });
    expect(plan.warnings!.join('\n')).toMatch(new RegExp(`${ahead} is dated in the future`));
    await applyPrune(adapter, JOB, plan);
    expect(await files()).toEqual([ahead, manifestKey(ahead), names[0]!, manifestKey(names[0]!)].sort());
  });

  it('one failed deletion does not stop the others, and its archive stays complete', async () => {
    const names = await tenArchives();
    const spy = recording(adapter, names[5]);
    const result = await applyPrune(spy, JOB, await planTarget(spy, JOB, 3, NOW));

    expect(result.errors).toHaveLength(1);
    expect(result.errors[0]).toMatchObject({ name: names[5], error: { code: 'AUTH' } });
    expect(result.deleted).toEqual(names.slice(3).filter((n) => n !== names[5]));
    const catalog = await readCatalog(adapter, JOB);
    expect(catalog.complete.map((a) => a.name).reverse()).toEqual([...names.slice(0, 3), names[5]!]);
  });

  it('never deletes a name in the plan that is not this job\'s archive', async () => {
    await tenArchives();
    await writeFile(join(dir, 'target', 'notes.txt'), 'not ours');
    const plan = await planTarget(adapter, JOB, 10, NOW);
    const forged = { ...plan.decisions[0]!, name: 'notes.txt', action: 'delete' as const };
    const result = await applyPrune(adapter, JOB, { decisions: [forged], orphanManifests: ['notes.txt'] });
    expect(result).toMatchObject({ deleted: [], orphanManifests: [], errors: [] });
    expect(await files()).toContain('notes.txt');
  });

  it('stops with ABORTED when cancelled, leaving every archive whole', async () => {
    await tenArchives();
    const before = await files();
    const plan = await planTarget(adapter, JOB, 3, NOW);
    await expect(applyPrune(adapter, JOB, plan, { signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'ABORTED' });
    expect(await files()).toEqual(before);
  });
});
