import { Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import type { TreeAdapter } from '../storage/tree-adapter.js';
import { encodeHeader } from '../pipeline/tar-header.js';

const BLOCK = 512;
const INVENTORY = ['inventory.json', 'inventory.txt'];

/**
 * A standard tar.gz of one snapshot directory, streamed: its entries in walk
 * order (directories before their contents, names in byte order), modes and
 * mtimes as stored, symlinks as links, then inventory.json and
 * inventory.txt last, as in an archive, so `tar -xzf` and every reader of
 * archives (restore, verify, pull) take it as one. One directory listing per
 * level is held, never the whole tree. A file whose size changes while it is
 * read fails the stream (a snapshot is never modified after its commit).
 */
export function snapshotTarGz(tree: TreeAdapter, snapshot: string, signal?: AbortSignal): Readable {
  const tar = Readable.from(snapshotTar(tree, snapshot, signal), { objectMode: false, highWaterMark: 1 << 20 });
  const gzip = createGzip({ level: 1 });
  tar.on('error', (err) => gzip.destroy(err));
  return tar.pipe(gzip);
}

async function* snapshotTar(tree: TreeAdapter, snapshot: string, signal?: AbortSignal): AsyncGenerator<Buffer> {
  async function* visit(rel: string): AsyncGenerator<Buffer> {
    const entries = (await tree.readdir(`${snapshot}/${rel}`.replace(/\/$/, ''), { signal }))
      .filter((e) => rel !== '' || !INVENTORY.includes(e.name))
      .sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)));
    for (const e of entries) {
      const path = rel ? `${rel}${e.name}` : e.name;
      yield* entry(path);
      if (e.type === 'dir') yield* visit(`${path}/`);
    }
  }
  async function* entry(path: string): AsyncGenerator<Buffer> {
    const full = `${snapshot}/${path}`;
    const st = await tree.lstat(full, { signal });
    if (!st) throw new Error(`${full} vanished while it was read`);
    const mtime = new Date(st.mtimeMs);
    if (st.type === 'dir') {
      yield encodeHeader({ path: `${path}/`, type: 'Directory', size: 0, mode: st.mode, mtime });
    } else if (st.type === 'symlink') {
      yield encodeHeader({ path, type: 'SymbolicLink', size: 0, linkpath: await tree.readlink(full, { signal }), mode: st.mode, mtime });
    } else if (st.type === 'file') {
      yield encodeHeader({ path, type: 'File', size: st.size, mode: st.mode, mtime });
      let got = 0;
      for await (const chunk of await tree.readFile(full, { signal })) {
        got += (chunk as Buffer).length;
        if (got > st.size) throw new Error(`${full} grew while it was read`);
        yield chunk as Buffer;
      }
      if (got !== st.size) throw new Error(`${full} shrank while it was read (${got} of ${st.size} bytes)`);
      const rest = st.size % BLOCK;
      if (rest) yield Buffer.alloc(BLOCK - rest);
    }
  }
  yield* visit('');
  for (const name of INVENTORY) {
    if (await tree.lstat(`${snapshot}/${name}`, { signal })) yield* entry(name);
  }
  yield Buffer.alloc(BLOCK * 2);
}
