import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalAdapter } from '../../adapters/local/adapter.js';
import { testAdapterConformance } from '../conformance/suite.js';

testAdapterConformance('local', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-local-'));
  return { adapter: new LocalAdapter('local', join(dir, 'archives')), cleanup: () => rm(dir, { recursive: true, force: true }) };
});
