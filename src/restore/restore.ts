import { access, chmod, mkdir, mkdtemp, readdir, rename, rm, rmdir, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { LoadedConfig } from '../config/load.js';
import { ExitError } from '../errors.js';
import type { Logger } from '../log.js';
import { closeTargets } from '../storage/targets.js';
import type { DecryptKeys } from './decrypt.js';
import { extractTar, type ExtractResult } from './extract.js';
import { readManifest } from './fetch.js';
import { locateArchive } from './locate.js';
import { gunzipped, readArchive } from './open.js';
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
 * Restores one archive into `to`. The archive is extracted into a temporary
 * directory beside `to`, and moved into place only after every byte was read
 * and matched the manifest: a damaged archive, a wrong key or a refused
 * entry leaves `to` exactly as it was. A non-empty `to` needs `force`, and
 * then archive files replace same-named files while other files stay.
 */
export async function restoreArchive(config: LoadedConfig, options: RestoreOptions): Promise<RestoreResult> {
  const to = resolve(options.to);
  const state = await destinationState(to);
  if (state === 'non-empty' && !options.force) {
    throw new ExitError(2, `${to} is not empty; pass --force to restore into it`);
  }
  const { target, archive, opened } = await locateArchive(config, { which: options.which, at: options.at, from: options.from }, options.log, options.signal);
  await mkdir(dirname(to), { recursive: true });
  const tmp = await mkdtemp(join(dirname(to), `.${basename(to)}.ferry-restore-`));
  try {
    const manifest = await readManifest(target.adapter, archive.name, options.signal);
    options.log.info(`restoring ${archive.name} from ${target.name} into ${to}`);
    const only = options.only?.length ? options.only : undefined;
    const onWarning = (path: string, message: string) => options.log.warn(`${path}: ${message}`);
    const extracted = await readArchive(target, manifest, { decrypt: options.keys, signal: options.signal },
      (stream) => extractTar(gunzipped(stream), tmp, { only, skip: only ? [] : INVENTORY, onWarning }));
    if (only && extracted.files + extracted.directories + extracted.symlinks === 0) {
      throw new ExitError(1, `${only.map((p) => JSON.stringify(p)).join(', ')} matched nothing in ${archive.name}; nothing was restored`);
    }
    await chmod(tmp, 0o777 & ~process.umask());
    await options.beforeSwap?.();
    if (state === 'missing') await rename(tmp, to);
    else if (state === 'empty') {
      await rmdir(to);
      await rename(tmp, to);
    } else {
      await mergeInto(tmp, to);
    }
    return { ...extracted, archive: archive.name, target: target.name, to };
  } finally {
    await removeTree(tmp);
    await closeTargets(opened);
  }
}

async function destinationState(dir: string): Promise<'missing' | 'empty' | 'non-empty'> {
  try {
    const s = await stat(dir);
    if (!s.isDirectory()) throw new ExitError(2, `--to ${dir} exists and is not a directory`);
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
