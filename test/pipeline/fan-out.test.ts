import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalAdapter } from '../../adapters/local/adapter.js';
import { buildArchive } from '../../src/pipeline/archive.js';
import { fanOut } from '../../src/pipeline/fan-out.js';
import { buildManifest } from '../../src/storage/manifest.js';
import type { PreparedSource } from '../../src/pipeline/sources/types.js';
import type { OpOptions, PutBody } from '../../src/storage/adapter.js';
import { StorageError } from '../../src/storage/errors.js';
import { RetryAdapter } from '../../src/storage/wrappers/retry.js';
import type { Target } from '../../src/storage/targets.js';
import { silentLogger } from '../../src/log.js';
import { SAMPLE_APP } from '../helpers/cli.js';

/** Reads part of the first upload, then drops the connection; later uploads work. */
class DropsFirstUpload extends LocalAdapter {
  attempts = 0;
  override async put(key: string, body: PutBody, options?: OpOptions): Promise<number> {
    if (key.endsWith('.tar.gz') && this.attempts++ === 0) {
      for await (const _chunk of body.open()) break;
      throw new StorageError('UNAVAILABLE', this.name, 'connection reset by peer');
    }
    return super.put(key, body, options);
  }
}

describe('fan-out', () => {
  let dir: string;
  beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'ferry-fan-')); });
  afterEach(async () => { await rm(dir, { recursive: true, force: true }); });

  const target = (name: string, adapter: LocalAdapter): Target => ({ name, config: { type: 'local', keep: 3, retries: 2 }, adapter: new RetryAdapter(adapter, { retries: 2, baseDelayMs: 1 }) });

  it('a target whose upload drops mid-stream is uploaded again from the local copy, manifest last', async () => {
    const source: PreparedSource = { as: 'app', kind: 'path', fsPath: SAMPLE_APP, exclude: [], cleanup: async () => {} };
    const built = await buildArchive({ job: 'app', started: new Date(), sources: [source], level: 6, commands: {} });
    const flaky = new DropsFirstUpload('remote', join(dir, 'remote'));
    const archive = 'app-20260101T000000Z.tar.gz';
    const outcomes = await fanOut(built, [target('local', new LocalAdapter('local', join(dir, 'local'))), target('remote', flaky)], {
      job: 'app', archive, encrypted: false, log: silentLogger,
      manifest: (r) => buildManifest({ job: 'app', archive, created: new Date().toISOString(), size: r.size, sha256: r.sha256, encrypted: false, compression: { algorithm: 'gzip', level: 6 }, sources: [], warnings: 0 }),
    });
    expect(outcomes.map((o) => [o.target, o.ok])).toEqual([['local', true], ['remote', true]]);
    expect(flaky.attempts).toBe(2);
    const local = await readFile(join(dir, 'local', archive));
    const remote = await readFile(join(dir, 'remote', archive));
    expect(createHash('sha256').update(remote).digest('hex')).toBe(createHash('sha256').update(local).digest('hex'));
    expect((await readdir(join(dir, 'remote'))).sort()).toEqual([archive, `${archive}.manifest.json`, "app-latest.tar.gz"]);
  });

  it('two runs of one job in the same second never overwrite each other: one stores archive and manifest, the other fails that target with EXISTS', async () => {
    const source: PreparedSource = { as: 'app', kind: 'path', fsPath: SAMPLE_APP, exclude: [], cleanup: async () => {} };
    const archive = 'app-20260101T000000Z.tar.gz';
    const push = async (description: string) => {
      const built = await buildArchive({ job: 'app', started: new Date(), sources: [source], level: 6, commands: {} });
      const [outcome] = await fanOut(built, [target('local', new LocalAdapter('local', join(dir, 'shared')))], {
        job: 'app', archive, encrypted: false, log: silentLogger,
        manifest: (r) => buildManifest({ job: 'app', archive, created: new Date().toISOString(), size: r.size, sha256: r.sha256, encrypted: false, compression: { algorithm: 'gzip', level: 6 }, description, sources: [], warnings: 0 }),
      });
      return { outcome: outcome!, description };
    };
    const runs = await Promise.all([push('first run'), push('second run')]);
    const winners = runs.filter((r) => r.outcome.ok);
    expect(winners).toHaveLength(1);
    const loser = runs.find((r) => !r.outcome.ok)!;
    expect(loser.outcome.error).toBeInstanceOf(StorageError);
    expect((loser.outcome.error as StorageError).code).toBe('EXISTS');
    expect((loser.outcome.error as StorageError).message).toMatch(new RegExp(`target "local" \\[EXISTS\\]: .*${archive.replace(/\./g, '\\.')} already exists`));
    const manifest = JSON.parse(await readFile(join(dir, 'shared', `${archive}.manifest.json`), 'utf8'));
    expect(manifest.description).toBe(winners[0]!.description);
    const stored = await readFile(join(dir, 'shared', archive));
    expect(createHash('sha256').update(stored).digest('hex')).toBe(manifest.sha256);
  });
});
