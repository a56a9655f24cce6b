import { existsSync, lstatSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileWriter } from '../../src/restore/file-writer.js';
import { readTarEntries } from '../../src/restore/tar-reader.js';
import { WriteOpError } from '../../src/restore/write-ops.js';
import { END, file, header, pax } from '../helpers/raw-tar.js';

// The worker runs the compiled module (the suite builds before it runs); "here" is the main thread's own path.
const WORKER = new URL('../../dist/src/restore/write-thread.js', import.meta.url);
const NONE = new URL('file:///nonexistent/write-thread.js');
const AS_ROOT = process.getuid?.() === 0;

/** Feeds a tar's directories and files to a FileWriter the way extractTar does, waiting for its worker first. */
async function write(tar: Buffer, dir: string, thread: URL): Promise<boolean> {
  const writer = new FileWriter(Buffer.from(dir).toString('latin1'), { thread });
  const onWorker = await writer.ready();
  try {
    for await (const entry of readTarEntries(Readable.from([tar]))) {
      const path = entry.path.replace(/\/$/, '');
      if (entry.type === 'Directory') await writer.dir(path, entry.path);
      else await writer.file(entry, path);
    }
    await writer.close();
  } finally {
    await writer.dispose();
  }
  return onWorker;
}

for (const [where, thread] of [['on the writer thread', WORKER], ['on the main thread', NONE]] as const) {
  describe(`restored files written ${where}`, () => {
    let dir: string;
    beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'ferry-writer-')); });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it('get their exact bytes, permission bits (setuid and bits the umask clears included), mtime and owner', async () => {
      const big = Buffer.alloc(3 * 1024 * 1024 + 17);
      for (let i = 0; i < big.length; i++) big[i] = (i * 7919) % 251;
      const tar = Buffer.concat([
        header({ name: 'd/', type: '5' }),
        file('d/plain', 'plain', { mode: 0o644, mtime: 1_600_000_000 }),
        file('d/shared', 'rw for all', { mode: 0o666 }),
        file('d/setuid', 'suid', { mode: 0o4755 }),
        pax([['uid', '1234'], ['gid', '4321']]),
        file('d/owned', 'someone else', { mode: 0o600 }),
        file('d/big', big, { mode: 0o640 }),
        END,
      ]);
      const onWorker = await write(tar, dir, thread);
      expect(onWorker).toBe(thread === WORKER);
      const mode = (p: string) => lstatSync(join(dir, p)).mode & 0o7777;
      expect(readFileSync(join(dir, 'd/plain'), 'utf8')).toBe('plain');
      expect(mode('d/plain')).toBe(0o644);
      expect(lstatSync(join(dir, 'd/plain')).mtimeMs).toBe(1_600_000_000_000);
      expect(mode('d/shared')).toBe(0o666);
      expect(mode('d/setuid')).toBe(0o4755);
      expect(readFileSync(join(dir, 'd/big')).equals(big)).toBe(true);
      expect(mode('d/big')).toBe(0o640);
      if (AS_ROOT) expect([lstatSync(join(dir, 'd/owned')).uid, lstatSync(join(dir, 'd/owned')).gid]).toEqual([1234, 4321]);
    });

    it('follow the archive order: the later of two same-named files wins, with its own mode', async () => {
      const tar = Buffer.concat([file('a', 'first, longer content', { mode: 0o755 }), file('a', 'second', { mode: 0o640 }), END]);
      await write(tar, dir, thread);
      expect(readFileSync(join(dir, 'a'), 'utf8')).toBe('second');
      expect(lstatSync(join(dir, 'a')).mode & 0o7777).toBe(0o640);
    });

    it('stop at the first failure, which names its entry, and write nothing after it', async () => {
      const tar = Buffer.concat([header({ name: 'x/', type: '5' }), file('x', 'a file where a directory is'), file('after', 'not written'), END]);
      const failure = await write(tar, dir, thread).catch((err: unknown) => err);
      expect(failure).toBeInstanceOf(WriteOpError);
      expect((failure as WriteOpError).entry).toBe('x');
      expect((failure as WriteOpError).original.code).toBe('EISDIR');
      expect(existsSync(join(dir, 'after'))).toBe(false);
    });
  });
}
