import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ArchiveNotFoundError, describeError } from '../errors.js';
import { archiveEntries, type EntriesSource } from '../index/read.js';
import type { Logger } from '../log.js';
import type { Manifest } from '../storage/manifest.js';
import { readManifest } from '../storage/manifest-read.js';
import { isNotFound } from '../storage/errors.js';
import type { Target } from '../storage/targets.js';
import type { DecryptKeys } from './decrypt.js';
import { extractTar, type ExtractOptions, type ExtractResult } from './extract.js';
import { gunzipped, readArchive, type ReadProgress } from './open.js';
import { pathSelector, type PathSelector } from './select-paths.js';

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
 * directory's dumpdir removing what was deleted or renamed since. With
 * `only`, just the archives that hold the selected files are read (see
 * `archivesHolding`). Each archive is checked against its own manifest as it
 * is read; a failure rejects, and `dir` is then to be thrown away (the caller
 * moves it into place only once this resolves). For a chain, the counts are
 * those of the tree it leaves.
 */
export async function extractChain(
  target: Target,
  manifest: Manifest,
  dir: string,
  options: { keys?: DecryptKeys; signal?: AbortSignal; progress?: ReadProgress; log: Logger } & Omit<ExtractOptions, 'purge'>,
): Promise<ExtractResult> {
  const { keys, signal, progress, log, ...extract } = options;
  const whole = await chainOf(target, manifest, signal);
  const chain = extract.only?.length && whole.length > 1 ? await archivesHolding(target, whole, pathSelector(extract.only), { keys: keys ?? { identityFiles: [] }, signal, log }) : whole;
  let result: ExtractResult | undefined;
  for (const m of chain) {
    // Progress restarts for each archive of the chain: each is read whole.
    result = await readArchive(target, m, { decrypt: keys, signal, progress }, (stream) =>
      extractTar(gunzipped(stream), dir, { ...extract, purge: whole.length > 1 }));
  }
  return whole.length > 1 ? countTree(dir) : result!;
}

/** How many selected paths are remembered to tell which archive holds a file's newest version; past that, every archive storing a selected file is read. */
const CLAIM_LIMIT = 100_000;

/**
 * The archives of `chain` (oldest first) that restoring the paths `selected`
 * needs: the newest one (its directories say what exists at that point, and
 * it stores every symlink again) and each older one that stores the newest
 * version of a selected file. Found from the index sidecars, newest first, so
 * nothing else is downloaded. An archive whose sidecar is missing or cannot
 * be read is kept (read whole, as a full restore would), and so is every
 * archive storing a selected file once more than CLAIM_LIMIT selected paths
 * were seen, so memory stays bounded and the answer errs only towards
 * reading more. Logs which archives are left out.
 */
async function archivesHolding(
  target: Target,
  chain: Manifest[],
  selected: PathSelector,
  options: { keys: DecryptKeys; signal?: AbortSignal; log: Logger },
): Promise<Manifest[]> {
  const claimed = new Set<string>();
  let precise = true;
  const needed: Manifest[] = [];
  const skipped: string[] = [];
  for (let i = chain.length - 1; i >= 0; i--) {
    const m = chain[i]!;
    let source: EntriesSource = 'index';
    let holds = false;
    const mine: string[] = [];
    try {
      for await (const e of archiveEntries(target, m, { ...options, sidecarOnly: true }, (s) => { source = s; })) {
        if (e.type === 'dir' || !selected(e.path)) continue;
        const key = e.path_b64 ?? e.path;
        if (!precise || !claimed.has(key)) holds = true;
        if (precise) mine.push(key);
      }
    } catch (err) {
      options.log.warn(`cannot read the index of ${m.archive} on target ${target.name} (${describeError(err)}); reading the archive itself`);
      source = 'archive';
    }
    if (source === 'archive') {
      // What it stores is unknown, so nothing older can be left out on its account: keep it, claim nothing.
      needed.push(m);
      continue;
    }
    for (const key of mine) claimed.add(key);
    if (claimed.size > CLAIM_LIMIT) {
      precise = false;
      claimed.clear();
    }
    if (holds || i === chain.length - 1) needed.push(m);
    else skipped.push(m.archive);
  }
  if (skipped.length) options.log.info(`${skipped.length} of ${chain.length} archives of the chain hold none of the selected files and are not read: ${skipped.reverse().join(', ')}`);
  return needed.reverse();
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
