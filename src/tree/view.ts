import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Capabilities, ObjectInfo, OpOptions, StorageAdapter } from '../storage/adapter.js';
import { StorageError } from '../storage/errors.js';
import { isSnapshotName, manifestKey, MANIFEST_SUFFIX } from '../storage/layout.js';
import type { Target } from '../storage/targets.js';
import type { TreeAdapter } from '../storage/tree-adapter.js';

/** Prefix of snapshot directories being built or deleted; they never list. */
export const TREE_TEMP_PREFIX = '.ferry-tree-';

/**
 * A tree target seen as a `StorageAdapter`, so the core's catalog, retention,
 * list, status, restore, pull, verify, the API and the metrics treat a
 * snapshot like an archive: each snapshot directory `<job>-<timestamp>`
 * lists as an object of that name and its manifest beside it as
 * `<job>-<timestamp>.manifest.json`. `get` of a snapshot streams a standard
 * tar.gz of it (its files in walk order, then inventory.json and
 * inventory.txt, as in an archive). `remove` of a snapshot first renames it
 * to a temporary name, then deletes it, so nothing complete-looking is left
 * half deleted (retention deletes the manifest after it). `put` is refused:
 * snapshots are written by `pushTree`.
 */
export class TreeView implements StorageAdapter {
  readonly capabilities: Capabilities = { streamingPut: true, maxConcurrency: 4 };

  constructor(readonly tree: TreeAdapter) {}

  get name(): string {
    return this.tree.name;
  }

  async put(key: string): Promise<number> {
    throw new StorageError('CONFIG', this.name, `${key}: this target keeps snapshot directories (format: tree), not archive files`);
  }

  async get(key: string, options: OpOptions = {}): Promise<Readable> {
    if (key.endsWith(MANIFEST_SUFFIX)) return this.tree.readFile(key, options);
    const st = await this.tree.lstat(key, options);
    if (st?.type !== 'dir' || !isSnapshotName(key)) throw new StorageError('NOT_FOUND', this.name, `no snapshot ${key}`);
    // Loaded here: the tar writer (and the tar package) is needed only to read a snapshot.
    const { snapshotTarGz } = await import('./tar.js');
    return snapshotTarGz(this.tree, key, options.signal);
  }

  async stat(key: string, options: OpOptions = {}): Promise<ObjectInfo> {
    const st = await this.tree.lstat(key, options);
    if (!st || st.type === 'symlink' || st.type === 'other') throw new StorageError('NOT_FOUND', this.name, `${key} does not exist`);
    return { key, size: st.size, modified: new Date(st.mtimeMs) };
  }

  async list(prefix: string, options: OpOptions = {}): Promise<ObjectInfo[]> {
    const out: ObjectInfo[] = [];
    for (const e of await this.tree.readdir('', options)) {
      if (!e.name.startsWith(prefix) || e.name.startsWith('.')) continue;
      const snapshot = e.type === 'dir' && isSnapshotName(e.name);
      if (!snapshot && !(e.type === 'file' && e.name.endsWith(MANIFEST_SUFFIX))) continue;
      const st = await this.tree.lstat(e.name, options);
      if (st) out.push({ key: e.name, size: snapshot ? await this.snapshotBytes(e.name, options) : st.size, modified: new Date(st.mtimeMs) });
    }
    return out;
  }

  /** A snapshot's size is the bytes of its files, as its manifest says; 0 without a readable manifest. */
  private async snapshotBytes(name: string, options: OpOptions): Promise<number> {
    try {
      const chunks: Buffer[] = [];
      for await (const c of await this.tree.readFile(manifestKey(name), options)) chunks.push(c as Buffer);
      const size = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { size?: unknown }).size;
      return typeof size === 'number' ? size : 0;
    } catch {
      return 0;
    }
  }

  async remove(key: string, options: OpOptions = {}): Promise<void> {
    const st = await this.tree.lstat(key, options);
    if (!st) return;
    if (st.type !== 'dir') return this.tree.remove(key, options);
    const doomed = `${TREE_TEMP_PREFIX}deleting-${randomBytes(6).toString('hex')}-${key}`;
    await this.tree.rename(key, doomed, options);
    await this.tree.removeTree(doomed, options);
  }

  async setLatest(latestKey: string, key: string, options?: OpOptions): Promise<void> {
    await this.tree.replaceSymlink(latestKey, key, options);
  }

  /** The tree adapter's answer: an optional drive that is not mounted is absent. */
  async absent(options?: OpOptions): Promise<string | undefined> {
    return this.tree.absent?.(options);
  }

  probe(options?: OpOptions): Promise<string[]> {
    return this.tree.probe(options);
  }

  async close(): Promise<void> {
    await this.tree.close?.();
  }
}

/** The tree adapter behind a target opened with `format: tree`, or undefined for an archive target. */
export function treeOf(target: Target): TreeAdapter | undefined {
  return target.adapter instanceof TreeView ? target.adapter.tree : undefined;
}
