import { lutimes, mkdir, symlink, utimes } from 'node:fs/promises';
import { isAbsolute, join, posix } from 'node:path';
import type { Readable } from 'node:stream';
import picomatch from 'picomatch';
import { Unpack, type ReadEntry } from 'tar';

export interface ExtractOptions {
  /** Globs over archive paths; only matching entries (and their contents) are extracted. */
  only?: string[];
  /** The inventory files are metadata; they are extracted only when `only` names them. */
  skip?: string[];
}

export interface ExtractResult {
  files: number;
  directories: number;
  symlinks: number;
}

/**
 * Extracts a plain tar stream into `dir` (an empty temporary directory).
 *
 * Refused, failing the whole extraction: absolute paths, `..` segments, an
 * entry whose path passes through a symlink stored earlier in the archive,
 * and anything node-tar warns about (strict mode). Symlinks are created only
 * after every other entry is written, so no entry can be written through
 * one; their targets are kept exactly as stored. Modes and mtimes are
 * restored, directory mtimes last (deepest first) so writing their contents
 * does not disturb them.
 */
export async function extractTar(input: Readable, dir: string, options: ExtractOptions = {}): Promise<ExtractResult> {
  const only = options.only?.length ? picomatch(options.only, { dot: true }) : undefined;
  const skip = new Set(options.skip ?? []);
  const links: { path: string; target: string; mtime?: Date }[] = [];
  const linkPaths = new Set<string>();
  const dirs: { path: string; mtime?: Date }[] = [];
  const result: ExtractResult = { files: 0, directories: 0, symlinks: 0 };
  let refused: Error | undefined;

  const unpack = new Unpack({
    cwd: dir,
    strict: true,
    chmod: true,
    processUmask: 0,
    umask: 0,
    filter: (path, entry) => {
      const e = entry as ReadEntry;
      const clean = path.replace(/\/+$/, '');
      const problem = checkPath(clean, linkPaths);
      if (problem) {
        refused ??= new Error(`refusing archive entry "${path}": ${problem}`);
        unpack.abort(refused);
        return false;
      }
      const wanted = only ? only(clean) || (e.type === 'Directory' && only(`${clean}/`)) || isAncestorOfMatch(clean, options.only!) : !skip.has(clean);
      if (!wanted) return false;
      if (e.type === 'SymbolicLink') {
        links.push({ path: clean, target: String(e.linkpath), mtime: e.mtime });
        linkPaths.add(clean);
        return false;
      }
      if (e.type === 'Directory') dirs.push({ path: clean, mtime: e.mtime });
      else result.files++;
      return true;
    },
  });
  await new Promise<void>((resolve, reject) => {
    unpack.on('error', (err: Error) => reject(refused ?? err));
    input.on('error', reject);
    unpack.on('close', resolve);
    input.pipe(unpack);
  });
  if (refused) throw refused;

  for (const link of links) {
    const at = join(dir, link.path);
    await mkdir(join(at, '..'), { recursive: true });
    await symlink(link.target, at);
    if (link.mtime) await lutimes(at, link.mtime, link.mtime);
  }
  dirs.sort((a, b) => b.path.split('/').length - a.path.split('/').length);
  for (const d of dirs) if (d.mtime) await utimes(join(dir, d.path), d.mtime, d.mtime);
  result.directories = dirs.length;
  result.symlinks = links.length;
  return result;
}

/** Why a path may not be extracted, or undefined when it is fine. */
function checkPath(path: string, links: Set<string>): string | undefined {
  if (isAbsolute(path) || /^[A-Za-z]:/.test(path)) return 'absolute path';
  const parts = path.split('/');
  if (parts.includes('..')) return 'path contains ".."';
  for (let i = 1; i < parts.length; i++) {
    const prefix = parts.slice(0, i).join('/');
    if (links.has(prefix)) return `it would be written through the symlink "${prefix}"`;
  }
  if (posix.normalize(path).startsWith('../')) return 'path leaves the destination';
  return undefined;
}

/** True when some `--only` glob starts inside `dir`, so the directory itself is needed. */
function isAncestorOfMatch(dir: string, globs: string[]): boolean {
  return globs.some((g) => g.startsWith(`${dir}/`));
}
