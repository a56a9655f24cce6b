import { display, RefusedEntry, type TarEntry } from './tar-reader.js';

/**
 * The one spelling of a stored path that every check and every write uses:
 * empty and `.` segments dropped, so `./src/x`, `src//x`, `src/./x` and
 * `src/x/` are all `src/x`, and `.` is "" (the destination itself). `..`
 * segments are kept, for the checks to refuse. Works on binary strings.
 */
export function normalisePath(path: string): string {
  if (isNormal(path)) return path;
  return path.split('/').filter((s) => s !== '' && s !== '.').join('/');
}

/** Whether `path` has no empty and no `.` segment, so that normalising leaves it as it is (as almost every stored path is). */
function isNormal(path: string): boolean {
  return path !== '' && path !== '.' && !path.startsWith('/') && !path.endsWith('/') && !path.startsWith('./') && !path.endsWith('/.') && !path.includes('//') && !path.includes('/./');
}

/** Whether a normalised path has a `..` segment. */
export function hasDotDot(path: string): boolean {
  return path === '..' || path.startsWith('../') || path.endsWith('/..') || path.includes('/../');
}

/**
 * The entry checks that restore and verify share, so that an archive
 * restore would refuse never verifies as ok. Feed it every entry in archive
 * order (selected by `--only` or not); it remembers directories and links,
 * never the list of files. Refused: absolute paths, `..`, writing through a
 * symlink or hard link stored earlier, a link or file replacing a directory
 * (or a directory replacing a link), and hard links whose target is
 * outside the destination, a directory, or behind a symlink (stored before
 * or after the link: see `finish`).
 */
export class EntryChecker {
  private readonly links = new Map<string, 'symlink' | 'hard link'>();
  private readonly dirs = new Set<string>(['']);
  private readonly hardLinks: { path: string; target: string }[] = [];

  /** How many paths it remembers (directories, links, hard links to re-check): grows with those, never with the number of files. */
  get remembered(): number {
    return this.dirs.size + this.links.size + this.hardLinks.length;
  }

  /** Checks one entry and returns its normalised path ("" for the destination itself); throws a RefusedEntry. */
  admit(entry: TarEntry): string {
    const refuse = (reason: string) => new RefusedEntry(entry.path, reason);
    if (isAbsolute(entry.path)) throw refuse('absolute path');
    const path = normalisePath(entry.path);
    if (hasDotDot(path)) throw refuse('path contains ".."');
    const through = this.linkAbove(path);
    if (through) throw refuse(`it would be written through the ${this.links.get(through)} ${display(through)}`);
    const isDir = entry.type === 'Directory';
    if (!isDir && this.dirs.has(path)) throw refuse(path ? `it would replace the directory ${display(path)}` : 'it would replace the destination itself');
    if (isDir && this.links.has(path)) throw refuse(`it would replace the ${this.links.get(path)} ${display(path)}`);
    if (entry.type === 'Link') {
      const target = entry.linkpath ?? '';
      const clean = normalisePath(target);
      if (isAbsolute(target) || clean === '' || hasDotDot(clean)) throw refuse(`hard link to ${display(target)} leaves the destination`);
      const behind = this.linkAbove(clean) ?? (this.links.get(clean) === 'symlink' ? clean : undefined);
      if (behind) throw refuse(`hard link to ${display(target)} goes through the symlink ${display(behind)}`);
      if (this.dirs.has(clean)) throw refuse(`hard link to the directory ${display(target)}`);
      this.hardLinks.push({ path: entry.path, target: clean });
    }
    this.addParents(path);
    if (isDir) this.dirs.add(path);
    else if (entry.type === 'SymbolicLink') this.links.set(path, 'symlink');
    else if (entry.type === 'Link') this.links.set(path, 'hard link');
    else this.links.delete(path);
    return path;
  }

  /** Checks what only the whole archive shows: a hard link whose target is a symlink, lies behind one, or is a directory, stored after it. */
  finish(): void {
    for (const link of this.hardLinks) {
      const behind = this.linkAbove(link.target) ?? (this.links.get(link.target) === 'symlink' ? link.target : undefined);
      if (behind) throw new RefusedEntry(link.path, `hard link to ${display(link.target)} goes through the symlink ${display(behind)}`);
      if (this.dirs.has(link.target)) throw new RefusedEntry(link.path, `hard link to the directory ${display(link.target)}`);
    }
  }

  /** The first proper prefix of `path` that is a link, if any. */
  private linkAbove(path: string): string | undefined {
    if (this.links.size === 0) return undefined;
    for (let i = path.indexOf('/'); i !== -1; i = path.indexOf('/', i + 1)) {
      if (this.links.has(path.slice(0, i))) return path.slice(0, i);
    }
    return undefined;
  }

  private addParents(path: string): void {
    for (let i = path.lastIndexOf('/'); i > 0; i = path.lastIndexOf('/', i - 1)) {
      const parent = path.slice(0, i);
      if (this.dirs.has(parent)) return;
      this.dirs.add(parent);
    }
  }
}

function isAbsolute(path: string): boolean {
  return path.startsWith('/') || /^[A-Za-z]:/.test(path);
}
