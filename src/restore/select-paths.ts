import picomatch from 'picomatch';

/** Decides whether an archive path is selected by `--only` patterns (or a `--source` name). */
export type PathSelector = (path: string) => boolean;

/**
 * The selection `--only` and `--source` make (pure). A path is selected when
 * a pattern, taken literally, equals the path or one of its parent
 * directories (so `app` means the directory and everything under it, and
 * names holding newlines, `*`, `[`, `?` or leading dots match as they are),
 * or else when the pattern, as a glob (dotfiles included), matches the path
 * or one of its parent directories. Leading `./` and `/` and trailing
 * slashes of a pattern are ignored, so `ferry ls` paths (`app/data/`)
 * select as shown. Parents of a selected path are not selected themselves: `--only data/x` never selects a file named `data`.
 */
export function pathSelector(patterns: string[]): PathSelector {
  const cleaned = patterns.map(cleanPattern).filter((p) => p.length > 0);
  const literals = new Set(cleaned);
  const globs = cleaned.filter((p) => picomatch.scan(p).isGlob || /\\/.test(p));
  const glob = globs.length ? picomatch(globs, { dot: true }) : undefined;
  return (path) => {
    const clean = path.replace(/\/+$/, '');
    // `clean` and each parent directory of it, longest first: "a/b/c", "a/b", "a".
    for (let end = clean.length; end > 0; end = clean.lastIndexOf('/', end - 1)) {
      const prefix = clean.slice(0, end);
      if (literals.has(prefix) || glob?.(prefix)) return true;
      if (end <= 0) break;
    }
    return false;
  };
}

function cleanPattern(pattern: string): string {
  let p = pattern;
  // `ferry ls` paths (and the API's) may start with `/` for the archive's top; archive paths never do.
  while (p.startsWith('./') || p.startsWith('/')) p = p.slice(p.startsWith('/') ? 1 : 2);
  return p.replace(/\/+$/, '');
}
