import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ArchiveNotFoundError } from '../errors.js';
import type { Manifest } from '../storage/manifest.js';
import { readManifest } from '../storage/manifest-read.js';
import { isNotFound } from '../storage/errors.js';
import type { Target } from '../storage/targets.js';
import type { DecryptKeys } from './decrypt.js';
import { extractTar, type ExtractOptions, type ExtractResult } from './extract.js';
import { gunzipped, readArchive, type ReadProgress } from './open.js';

/**
 * The manifests of every archive needed to restore `manifest`, oldest (the
 * full archive) first and `manifest` last; just `[manifest]` for a full
 * archive. Every one is read from the same target, which holds the whole
 * chain (README: Incremental archives). Throws an ArchiveNotFoundError
 * naming the archive the target lacks.
 */
export async function chainOf(target: Target, manifest: Manifest, signal?: AbortSignal): Promise<Manifest[]> {
  const names = manifest.chain && manifest.chain.length > 1 ? manifest.chain : [manifest.archive];
  const out: Manifest[] = [];
  for (const name of names.slice(0, -1)) {
    try {
      out.push(await readManifest(target.adapter, name, signal));
    } catch (err) {
      if (!isNotFound(err)) throw err;
      throw new ArchiveNotFoundError(`${manifest.archive} on target ${target.name} builds on ${name}, which that target does not hold`, { cause: err });
    }
  }
  out.push(manifest);
  return out;
}

/**
 * Extracts `manifest` into the empty directory `dir`: a full archive as is,
 * an incremental one by extracting its chain oldest first into `dir`, each
 * directory's dumpdir removing what was deleted or renamed since. Each
 * archive is checked against its own manifest as it is read; a failure
 * rejects, and `dir` is then to be thrown away (the caller moves it into
 * place only once this resolves). For a chain, the counts are those of the
 * tree it leaves.
 */
export async function extractChain(
  target: Target,
  manifest: Manifest,
  dir: string,
  options: { keys?: DecryptKeys; signal?: AbortSignal; progress?: ReadProgress } & Omit<ExtractOptions, 'purge'>,
): Promise<ExtractResult> {
  const chain = await chainOf(target, manifest, options.signal);
  const { keys, signal, progress, ...extract } = options;
  let result: ExtractResult | undefined;
  for (const m of chain) {
    // Progress restarts for each archive of the chain: each is read whole.
    result = await readArchive(target, m, { decrypt: keys, signal, progress }, (stream) =>
      extractTar(gunzipped(stream), dir, { ...extract, purge: chain.length > 1 }));
  }
  return chain.length > 1 ? countTree(dir) : result!;
}

/** Files, directories and symlinks under `dir` (itself not counted). */
function countTree(dir: string): ExtractResult {
  const out: ExtractResult = { files: 0, directories: 0, symlinks: 0 };
  const visit = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const st = lstatSync(p);
      if (st.isDirectory()) {
        out.directories++;
        visit(p);
      } else if (st.isSymbolicLink()) out.symlinks++;
      else out.files++;
    }
  };
  visit(dir);
  return out;
}
