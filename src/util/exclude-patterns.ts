import ignore from 'ignore';

/**
 * `exclude` patterns of a `path` source, read as a `.gitignore` at the
 * source's root: a pattern without a slash (other than a trailing one)
 * matches a name at any depth, one with a slash in front or in the middle
 * is anchored at the root, a trailing slash matches only directories, `**`
 * spans directories, `!` re-includes what an earlier pattern excluded, and
 * the last pattern that matches decides. Matching is case-sensitive.
 */
export interface ExcludePatterns {
  /** The pattern that leaves out `rel` (a path relative to the source root), or undefined when it is kept. */
  excludedBy(rel: string, isDir: boolean): string | undefined;
}

export function excludePatterns(patterns: readonly string[]): ExcludePatterns {
  if (!patterns.length) return { excludedBy: () => undefined };
  const ig = ignore({ ignorecase: false, allowRelativePaths: true }).add(patterns.map((pattern) => ({ pattern })));
  return {
    excludedBy(rel, isDir) {
      if (rel === '') return undefined;
      const result = ig.test(isDir ? `${rel}/` : rel);
      return result.ignored ? result.rule?.pattern ?? '(a parent directory)' : undefined;
    },
  };
}

/**
 * Whether a walk with these patterns leaves out `rel` or a directory above it
 * (the walk never descends into an excluded directory, so a `!` pattern
 * cannot bring back what is under one, as in git).
 */
export function excludedByPatterns(patterns: readonly string[], rel: string, isDir: boolean): boolean {
  return excludePatterns(patterns).excludedBy(rel, isDir) !== undefined;
}
