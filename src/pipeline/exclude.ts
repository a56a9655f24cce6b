import { closeSync, readSync, openSync, type Dirent } from 'node:fs';
import { OPEN_NOFOLLOW } from './open-flags.js';
import type { PreparedSource } from './sources/types.js';

/** The exclusion rules of a `path` source besides its `exclude` patterns (the source's config keys, in the walk's terms). */
export interface ExclusionOptions {
  /** `exclude_if_present`: a directory holding an entry of one of these names is left out. */
  ifPresent: string[];
  /** `exclude_caches`: a directory holding a valid CACHEDIR.TAG is left out. */
  caches: boolean;
  /** `one_file_system`: a directory on another device is stored empty, its contents left out. */
  oneFileSystem: boolean;
  /** `exclude_larger_than`: files larger than this many bytes are left out. */
  largerThan?: number;
}

export type ExclusionRule = 'exclude' | 'exclude_if_present' | 'exclude_caches' | 'one_file_system' | 'exclude_larger_than';

/** The rule that left an entry out; `pattern` for `exclude` and `exclude_if_present`, `limit` (bytes) for `exclude_larger_than`. */
export interface Exclusion {
  rule: ExclusionRule;
  pattern?: string;
  limit?: number;
}

/** How many entries one rule left out, as inventory.json lists it. An excluded directory counts once: nothing under it is looked at. */
export type ExclusionCount = Exclusion & { count: number };

/** The tag file of the Cache Directory Tagging Specification (https://bford.ch/cachedir/) and the 43 bytes it must begin with. */
export const CACHEDIR_TAG = 'CACHEDIR.TAG';
const CACHEDIR_SIGNATURE = Buffer.from('Signature: 8a477f597d28d172789f06886806bc55');

/** Every rule configured on `source`, each with a count of 0, in config order. */
export function configuredExclusions(source: PreparedSource): ExclusionCount[] {
  const rules = source.rules;
  const out: ExclusionCount[] = source.exclude.map((pattern) => ({ rule: 'exclude', pattern, count: 0 }));
  for (const pattern of rules?.ifPresent ?? []) out.push({ rule: 'exclude_if_present', pattern, count: 0 });
  if (rules?.caches) out.push({ rule: 'exclude_caches', count: 0 });
  if (rules?.oneFileSystem) out.push({ rule: 'one_file_system', count: 0 });
  if (rules?.largerThan !== undefined) out.push({ rule: 'exclude_larger_than', limit: rules.largerThan, count: 0 });
  return out;
}

/** Whether `count` is the entry for `exclusion`. */
export function sameRule(count: Exclusion, exclusion: Exclusion): boolean {
  return count.rule === exclusion.rule && count.pattern === exclusion.pattern;
}

/** `rule pattern` as one line of inventory.txt or a log. */
export function describeExclusion(e: Exclusion): string {
  if (e.pattern !== undefined) return `${e.rule}: ${e.pattern}`;
  if (e.limit !== undefined) return `${e.rule}: ${e.limit} bytes`;
  return e.rule;
}

/**
 * The marker rule that leaves out a directory, given its listing: an entry
 * named in `exclude_if_present` (of any type, as restic's
 * `--exclude-if-present`), or with `exclude_caches` a regular file
 * CACHEDIR.TAG that begins with the specification's signature (a tag without
 * it, or a symlink of that name, does not count). `dirPath` reaches the
 * opened directory, so the tag is read without following any symlink.
 */
export function markerExclusion(dirPath: string, dirents: Dirent<Buffer>[], rules: ExclusionOptions | undefined): Exclusion | undefined {
  if (!rules || (!rules.ifPresent.length && !rules.caches)) return undefined;
  for (const d of dirents) {
    const name = d.name.toString('utf8');
    if (rules.ifPresent.includes(name)) return { rule: 'exclude_if_present', pattern: name };
    if (rules.caches && name === CACHEDIR_TAG && !d.isDirectory() && !d.isSymbolicLink() && hasCacheSignature(`${dirPath}/${name}`)) return { rule: 'exclude_caches' };
  }
  return undefined;
}

function hasCacheSignature(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, OPEN_NOFOLLOW);
  } catch {
    return false;
  }
  try {
    const head = Buffer.alloc(CACHEDIR_SIGNATURE.length);
    let got = 0;
    while (got < head.length) {
      const n = readSync(fd, head, got, head.length - got, got);
      if (n === 0) break;
      got += n;
    }
    return got === head.length && head.equals(CACHEDIR_SIGNATURE);
  } catch {
    return false; // not a regular file (EISDIR), or unreadable: not a valid tag
  } finally {
    closeSync(fd);
  }
}
