import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { Logger } from '../log.js';
import { InventoryBuilder, type CommandOutput, type InventorySummary } from '../pipeline/inventory.js';
import type { PreparedSource } from '../pipeline/sources/types.js';
import { newestComplete, readCatalog } from '../storage/catalog.js';
import { manifestKey, snapshotName } from '../storage/layout.js';
import { buildManifest } from '../storage/manifest.js';
import type { TreeAdapter } from '../storage/tree-adapter.js';
import { TREE_TEMP_PREFIX, TreeView } from './view.js';
import { writeTree, type TreeWriteResult } from './write.js';

export interface TreePushOptions {
  job: string;
  started: Date;
  sources: PreparedSource[];
  commands: Record<string, CommandOutput>;
  description?: string;
  /** Compare sha256 too before hard-linking a file (`verify_unchanged: hash`). */
  verifyHash: boolean;
  /** The run's staging dir: the inventory's spool files go in a directory of their own there. */
  stagingDir: string;
  log: Logger;
  signal?: AbortSignal;
}

export interface TreePushResult extends TreeWriteResult {
  snapshot: string;
  /** Bytes of inventory.json. */
  sha256: string;
  inventory: InventorySummary;
  /** The snapshot files were hard-linked from, when there was one. */
  previous?: string;
}

/**
 * Stores one run as a snapshot directory on a tree target, in this order:
 * 1. leftovers of killed runs of this job (temporary directories) are
 *    removed: the caller holds the job lock, so none is being written;
 * 2. the snapshot is built under a temporary name (`writeTree`), unchanged
 *    files hard-linked to the newest complete snapshot, then inventory.json
 *    and inventory.txt;
 * 3. it is renamed to `<job>-<timestamp>` (never replacing one);
 * 4. its manifest is written beside it: the commit mark;
 * 5. `<job>-latest` is pointed at it.
 * A run killed before step 4 leaves nothing that counts as complete. On
 * failure the temporary directory is removed and the error is rethrown.
 */
export async function pushTree(tree: TreeAdapter, options: TreePushOptions): Promise<TreePushResult> {
  const { job, signal } = options;
  const name = snapshotName(job, options.started);
  await tree.mkdir('', 0o700, { signal });
  for (const e of await tree.readdir('', { signal })) {
    if (e.type === 'dir' && leftoverJob(e.name) === job) {
      options.log.info(`${tree.name}: removing ${e.name}, left by a run that did not finish`);
      await tree.removeTree(e.name, { signal });
    }
  }
  const now = new Date();
  const previous = newestComplete(await readCatalog(new TreeView(tree), job, { signal }), now)?.name;
  const tmp = `${TREE_TEMP_PREFIX}${randomBytes(6).toString('hex')}-${name}`;
  const spool = await mkdtemp(join(options.stagingDir, 'tree-'));
  const inventory = new InventoryBuilder(job, options.started, options.sources, spool, 'none');
  try {
    await tree.mkdir(tmp, 0o700, { signal });
    const written = await writeTree(tree, options.sources, {
      into: tmp,
      previous,
      verifyHash: options.verifyHash,
      inventory,
      signal,
      report: {
        warn: (path, message) => inventory.addWarning(path, message),
        unreadable: (path, message) => inventory.addUnreadable(path, message),
      },
    });
    const summary = inventory.summary(options.commands, new Date());
    const hash = createHash('sha256');
    for (const file of inventory.files(summary)) {
      const chunks = file.chunks();
      const stream = Readable.from(file.path === 'inventory.json' ? tap(chunks, (c) => hash.update(c)) : chunks);
      await tree.writeFile(`${tmp}/${file.path}`, stream, 0o600, { signal });
    }
    const sha256 = hash.digest('hex');
    await tree.rename(tmp, name, { signal });
    const manifest = buildManifest({
      job,
      archive: name,
      created: options.started.toISOString(),
      size: written.bytes,
      sha256,
      encrypted: false,
      compression: { algorithm: 'gzip', level: 0 },
      description: options.description,
      sources: inventory.summaries().map(({ meta: _m, ...s }) => s),
      warnings: summary.warnings.length,
      layout: 'tree',
    });
    await tree.putFile(manifestKey(name), Buffer.from(JSON.stringify(manifest, null, 2) + '\n'), { signal });
    await tree.replaceSymlink(`${job}-latest`, name, { signal });
    return { ...written, snapshot: name, sha256, inventory: summary, previous };
  } catch (err) {
    await tree.removeTree(tmp).catch(() => {});
    throw err;
  } finally {
    inventory.remove();
    await rm(spool, { recursive: true, force: true });
  }
}

async function* tap(chunks: AsyncIterable<Buffer>, see: (chunk: Buffer) => void): AsyncGenerator<Buffer> {
  for await (const c of chunks) {
    see(c);
    yield c;
  }
}

/** The job of a temporary snapshot directory (`.ferry-tree-[deleting-]<hex>-<job>-<timestamp>`), else undefined. */
function leftoverJob(name: string): string | undefined {
  if (!name.startsWith(TREE_TEMP_PREFIX)) return undefined;
  return /^(?:deleting-)?[0-9a-f]{12}-(.+)-\d{8}T\d{6}Z$/.exec(name.slice(TREE_TEMP_PREFIX.length))?.[1];
}
