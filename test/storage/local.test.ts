import { mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { bufferBody } from '../../src/storage/body.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalAdapter } from '../../adapters/local/adapter.js';
import { testAdapterConformance } from '../conformance/suite.js';

testAdapterConformance('local', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-local-'));
  return { adapter: new LocalAdapter('local', join(dir, 'archives')), cleanup: () => rm(dir, { recursive: true, force: true }) };
});

describe('local target housekeeping', () => {
  it('removes temporary files of uploads killed more than a day ago, and leaves younger ones', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ferry-local-'));
    try {
      const a = new LocalAdapter('local', dir);
      await a.put('first.tar.gz', bufferBody('x'));
      const old = join(dir, '.ferry-partial-abc123-app-20200101T000000Z.tar.gz');
      const young = join(dir, '.ferry-partial-def456-app-20200102T000000Z.tar.gz');
      await writeFile(old, 'half');
      await writeFile(young, 'half');
      const twoDaysAgo = new Date(Date.now() - 2 * 24 * 3600 * 1000);
      await utimes(old, twoDaysAgo, twoDaysAgo);
      await a.put('second.tar.gz', bufferBody('y'));
      expect((await readdir(dir)).sort()).toEqual(['.ferry-partial-def456-app-20200102T000000Z.tar.gz', 'first.tar.gz', 'second.tar.gz']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
