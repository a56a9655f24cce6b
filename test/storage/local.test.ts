import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalAdapter } from '../../adapters/local/adapter.js';
import { testAdapterConformance } from '../conformance/suite.js';

testAdapterConformance('local', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-local-'));
  const root = join(dir, 'archives');
  return { adapter: new LocalAdapter('local', root), cleanup: () => rm(dir, { recursive: true, force: true }), rootOnDisk: root };
});
