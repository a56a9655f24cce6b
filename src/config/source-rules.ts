import { realpathSync, statSync, type Stats } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative } from 'node:path';
import type { ConfigIssue } from '../errors.js';
import { excludedByPatterns } from '../util/exclude-patterns.js';
import { resolveUserPath } from '../util/paths.js';
import type { KeyPath } from './interpolate.js';
import type { Config } from './schema.js';

/**
 * The real path of `p`: symlinks resolved in the part that exists, the rest
 * appended as written (so paths that do not exist yet still compare right).
 */
export function realPathOf(p: string): string {
  const rest: string[] = [];
  let cur = p;
  for (;;) {
    try {
      return join(realpathSync(cur), ...rest);
    } catch {
      const parent = dirname(cur);
      if (parent === cur) return p;
      rest.unshift(basename(cur));
      cur = parent;
    }
  }
}

/** `inner` relative to `outer` when it is `outer` itself ('') or inside it; undefined otherwise. */
export function pathInside(outer: string, inner: string): string | undefined {
  const rel = relative(outer, inner);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel)) ? rel : undefined;
}

const SPECIAL: [(st: Stats) => boolean, string][] = [
  [(st) => st.isFIFO(), 'a FIFO'],
  [(st) => st.isSocket(), 'a socket'],
  [(st) => st.isCharacterDevice() || st.isBlockDevice(), 'a device'],
];

/**
 * Sources that would store the same data twice are config errors naming
 * both: a `path` source containing another path source or a `sqlite`
 * source's file (unless its `exclude` leaves that out), two sources whose
 * `as` paths nest, a `path` source that is a FIFO, socket or device, and a
 * local/usb target whose directory is a `path` source itself. Paths are
 * compared after resolving symlinks where they exist.
 */
export function checkSourceOverlaps(
  config: Config,
  configDir: string,
  /** Each source's path inside the archive. */
  names: string[],
  lineOf: (p: KeyPath) => number | undefined,
  issues: ConfigIssue[],
): void {
  const add = (p: KeyPath, message: string) => issues.push({ path: p.join('.'), line: lineOf(p), message });
  names.forEach((b, j) => {
    for (let i = 0; i < j; i++) {
      const a = names[i]!;
      if (!a || !b || a === b) continue; // equal names are reported with the other name checks
      if (b.startsWith(`${a}/`) || a.startsWith(`${b}/`)) {
        add(['sources', j, config.sources[j]!.as ? 'as' : kindKey(config.sources[j]!)], `"${b}" and "${a}" of sources.${i} nest inside each other in the archive; give them separate paths`);
      }
    }
  });

  // Sources that live on this machine's file system, by real path.
  const onDisk = config.sources.flatMap((s, i): { i: number; key: 'path' | 'sqlite'; configured: string; real: string; exclude: string[] }[] => {
    if ('path' in s) return [{ i, key: 'path', configured: s.path, real: realPathOf(resolveUserPath(configDir, s.path)), exclude: s.exclude }];
    if ('sqlite' in s) return [{ i, key: 'sqlite', configured: s.sqlite, real: realPathOf(resolveUserPath(configDir, s.sqlite)), exclude: [] }];
    return [];
  });
  for (const s of onDisk) {
    if (s.key !== 'path') continue;
    let st: Stats | undefined;
    try {
      st = statSync(s.real);
    } catch {
      // A missing source is reported when the run reads it.
    }
    const special = st && SPECIAL.find(([is]) => is(st));
    if (special) add(['sources', s.i, 'path'], `${s.configured} is ${special[1]}; only directories and files can be backed up`);
  }
  for (const outer of onDisk) {
    if (outer.key !== 'path') continue;
    for (const inner of onDisk) {
      if (inner === outer) continue;
      const rel = pathInside(outer.real, inner.real);
      if (rel === undefined) continue;
      // Two path sources on the same directory: report once, on the later one.
      if (rel === '' && inner.key === 'path' && inner.i < outer.i) continue;
      if (excludedByPatterns(outer.exclude, rel, isDirectory(inner.real))) continue;
      const what = rel === '' ? 'is the same as' : 'is inside';
      add(['sources', inner.i, inner.key], `${inner.configured} ${what} sources.${outer.i}.path (${outer.configured}), so it would be stored twice; exclude it there or remove one`);
    }
  }
  for (const [name, t] of Object.entries(config.targets)) {
    if ((t.type !== 'local' && t.type !== 'usb') || typeof t.path !== 'string') continue;
    const real = realPathOf(resolveUserPath(configDir, t.path));
    for (const s of onDisk) {
      if (s.key === 'path' && pathInside(real, s.real) === '') {
        add(['targets', name, 'path'], `${t.path} is the directory of sources.${s.i}.path (${s.configured}); archives would be written into the source`);
      }
    }
  }
}

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function kindKey(s: Config['sources'][number]): string {
  return Object.keys(s).find((k) => k === 'path' || k === 'sqlite' || k === 'postgres' || k === 'command') ?? 'as';
}
