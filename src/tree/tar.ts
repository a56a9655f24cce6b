import { Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import { isUtf8 } from 'node:buffer';
import { showPath, type TreeAdapter, type TreePath } from '../storage/tree-adapter.js';
import { encodeHeader } from '../pipeline/tar-header.js';

const BLOCK = 512;
const INVENTORY = ['inventory.json', 'inventory.txt'];
const SLASH = Buffer.from('/');

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
  // `rel` is the exact bytes of the directory's path inside the snapshot ('' or ending in '/').
  async function* visit(rel: Buffer): AsyncGenerator<Buffer> {
    const dir = rel.length ? pathIn(snapshot, rel.subarray(0, -1)) : snapshot;
    const entries = (await tree.readdir(dir, { signal }))
      .map((e) => ({ ...e, bytes: e.raw ?? Buffer.from(e.name) }))
      .filter((e) => rel.length || !INVENTORY.includes(e.name))
      .sort((a, b) => Buffer.compare(a.bytes, b.bytes));
    for (const e of entries) {
      const path = Buffer.concat([rel, e.bytes]);
      yield* entry(path);
      if (e.type === 'dir') yield* visit(Buffer.concat([path, SLASH]));
    }
  }
  async function* entry(bytes: Buffer): AsyncGenerator<Buffer> {
    const full = pathIn(snapshot, bytes);
    const shown = `${snapshot}/${showPath(bytes)}`;
    const path = bytes.toString('utf8');
    // Names that are not valid UTF-8 go in pax records holding their exact bytes.
    const raw = isUtf8(bytes) ? undefined : bytes;
    const st = await tree.lstat(full, { signal });
    if (!st) throw new Error(`${shown} vanished while it was read`);
    const mtime = new Date(st.mtimeMs);
    if (st.type === 'dir') {
      yield encodeHeader({ path: `${path}/`, type: 'Directory', size: 0, mode: st.mode, mtime }, raw && { path: Buffer.concat([raw, SLASH]) });
    } else if (st.type === 'symlink') {
      const link = await tree.readlink(full, { signal });
      const exact = raw || !isUtf8(link) ? { path: bytes, linkpath: link } : undefined;
      yield encodeHeader({ path, type: 'SymbolicLink', size: 0, linkpath: link.toString('utf8'), mode: st.mode, mtime }, exact);
    } else if (st.type === 'file') {
      yield encodeHeader({ path, type: 'File', size: st.size, mode: st.mode, mtime }, raw && { path: raw });
      let got = 0;
      for await (const chunk of await tree.readFile(full, { signal })) {
        got += (chunk as Buffer).length;
        if (got > st.size) throw new Error(`${shown} grew while it was read`);
        yield chunk as Buffer;
      }
      if (got !== st.size) throw new Error(`${shown} shrank while it was read (${got} of ${st.size} bytes)`);
      const rest = st.size % BLOCK;
      if (rest) yield Buffer.alloc(BLOCK - rest);
    }
  }
  yield* visit(Buffer.alloc(0));
  for (const name of INVENTORY) {
    if (await tree.lstat(`${snapshot}/${name}`, { signal })) yield* entry(Buffer.from(name));
  }
  yield Buffer.alloc(BLOCK * 2);
}

/** `<snapshot>/<rel>` as the tree adapter takes it: text when `rel` is valid UTF-8, else its bytes. */
function pathIn(snapshot: string, rel: Buffer): TreePath {
  return isUtf8(rel) ? `${snapshot}/${rel.toString('utf8')}` : Buffer.concat([Buffer.from(`${snapshot}/`), rel]);
}
