import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import type { RsyncAdapter } from '../../adapters/rsync/adapter.js';
import { fileBody } from '../../src/storage/body.js';
import { startSshd, type SshdHandle } from '../servers/sshd.js';

/**
 * One real sshd for a test file, a local directory for upload bodies, and
 * every adapter the tests make, closed when the file ends.
 */
export function rsyncServer() {
  const fx = {
    server: undefined as unknown as SshdHandle,
    local: '',
    adapters: [] as RsyncAdapter[],
    track<T extends RsyncAdapter>(a: T): T {
      fx.adapters.push(a);
      return a;
    },
    /** A file body over `data`, staged in the local directory as the file-staging wrapper would. */
    async localFile(data: Buffer | string) {
      const f = join(fx.local, randomBytes(4).toString('hex'));
      await writeFile(f, data);
      return fileBody(f, Buffer.byteLength(data));
    },
  };
  beforeAll(async () => {
    fx.server = await startSshd();
    fx.local = await mkdtemp(join(tmpdir(), 'ferry-rsync-local-'));
  });
  afterAll(async () => {
    await Promise.all(fx.adapters.map((a) => a.close()));
    await fx.server?.dispose();
    if (fx.local) await rm(fx.local, { recursive: true, force: true });
  });
  return fx;
}
