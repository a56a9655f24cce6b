import { access, chmod, mkdir, mkdtemp, readdir, rename, rm, rmdir, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { LoadedConfig } from '../config/load.js';
import { ArchiveNotFoundError, UsageError } from '../errors.js';
import type { Logger } from '../log.js';
import type { DecryptKeys } from './decrypt.js';
import { extractChain } from './chain.js';
import type { ExtractResult } from './extract.js';
import { withArchive } from './locate.js';
import type { ReadProgress } from './open.js';
import { mergeInto } from './merge.js';

export interface RestoreOptions {
  which?: string;
  from?: string;
  at?: Date;
  to: string;
  only?: string[];
  force?: boolean;
  keys: DecryptKeys;
  log: Logger;
  signal?: AbortSignal;
  /** Told how far the download and extraction got. */
  progress?: ReadProgress;
  /** Called after extraction, right before the restored tree is moved into `to`; a rejection aborts the restore and leaves `to` unchanged. */
  beforeSwap?: () => Promise<void>;
}

export interface RestoreResult extends ExtractResult {
  archive: string;
  target: string;
  to: string;
}

const INVENTORY = ['inventory.json', 'inventory.txt'];

/**
 * Restores one archive into `to` (an incremental one through its chain, see
 * `extractChain`). The archive is extracted into a temporary
 * directory beside `to`, and moved into place only after every byte was read
 * and matched the manifest: a damaged archive, a wrong key or a refused
 * entry leaves `to` exactly as it was. A non-empty `to` needs `force`, and
 * then archive files replace same-named files while other files stay.
 */
export async function restoreArchive(config: LoadedConfig, options: RestoreOptions): Promise<RestoreResult> {
  const to = resolve(options.to);
  const state = await destinationState(to);
  if (state === 'non-empty' && !options.force) {
    throw new UsageError(`${to} is not empty; pass --force to restore into it`);
  }
  const query = { which: options.which, at: options.at, from: options.from };
  return withArchive(config, query, options, async ({ target, manifest }) => {
    const archive = manifest.archive;
    await mkdir(dirname(to), { recursive: true });
    const tmp = await mkdtemp(join(dirname(to), `.${basename(to)}.ferry-restore-`));
    try {
      options.log.info(`restoring ${archive} from ${target.name} into ${to}`);
      const only = options.only?.length ? options.only : undefined;
      const onWarning = (path: string, message: string) => options.log.warn(`${path}: ${message}`);
      // With --only, how many files are selected is not known up front.
      const progress = options.progress && only ? { ...options.progress, start: (t: { bytes: number; byFile?: boolean }) => options.progress!.start({ bytes: t.bytes, byFile: t.byFile }) } : options.progress;
      const extracted = await extractChain(target, manifest, tmp, {
        keys: options.keys, signal: options.signal, log: options.log, progress, only, skip: only ? [] : INVENTORY, onWarning, onFile: progress && ((bytes) => progress.file(bytes)),
      });
      if (only && extracted.files + extracted.directories + extracted.symlinks === 0) {
        throw new ArchiveNotFoundError(`${only.map((p) => JSON.stringify(p)).join(', ')} matched nothing in ${archive}; nothing was restored`);
      }
      await chmod(tmp, 0o777 & ~process.umask());
      await options.beforeSwap?.();
      await moveIntoPlace(tmp, to, state);
      return { ...extracted, archive, target: target.name, to };
    } finally {
      await removeTree(tmp);
    }
  });
}

/** Moves the extracted tree `tmp` to `to`: a rename when `to` is missing or empty, else a merge (archive files win). */
async function moveIntoPlace(tmp: string, to: string, state: 'missing' | 'empty' | 'non-empty'): Promise<void> {
  if (state === 'missing') await rename(tmp, to);
  else if (state === 'empty') {
    await rmdir(to);
    await rename(tmp, to);
  } else {
    await mergeInto(tmp, to);
  }
}

async function destinationState(dir: string): Promise<'missing' | 'empty' | 'non-empty'> {
  try {
    const s = await stat(dir);
    if (!s.isDirectory()) throw new UsageError(`--to ${dir} exists and is not a directory`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw err;
  }
  return (await readdir(dir)).length === 0 ? 'empty' : 'non-empty';
}

/** Removes the temporary tree; after a failure the extractor may still be finishing writes, so retry until it is gone. */
async function removeTree(dir: string): Promise<void> {
  for (let i = 0; i < 50; i++) {
    await rm(dir, { recursive: true, force: true }).catch(() => {});
    if (await access(dir).then(() => false, () => true)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}
