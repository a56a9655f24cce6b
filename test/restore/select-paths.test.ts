import { describe, expect, it } from 'vitest';
import { pathSelector } from '../../src/restore/select-paths.js';

const selected = (patterns: string[], paths: string[]) => paths.filter(pathSelector(patterns));

describe('--only selects exactly', () => {
  it('a bare directory means the directory and everything under it, nothing beside it', () => {
    expect(selected(['app'], ['app', 'app/a.txt', 'app/sub/b', 'apple', 'apps/x', 'other/app'])).toEqual(['app', 'app/a.txt', 'app/sub/b']);
    expect(selected(['./app/'], ['app', 'app/a.txt', 'apple'])).toEqual(['app', 'app/a.txt']);
  });

  it('a file named data is not selected by --only data/x, and a parent is never selected for its child', () => {
    expect(selected(['data/x'], ['data', 'data/x', 'data/x/y', 'data/xy'])).toEqual(['data/x', 'data/x/y']);
  });

  it('names with newlines, *, [, ? and leading dots match as they are', () => {
    for (const name of ['odd\nname', 'star*', 'br[ack]et', 'what?', '.hidden', 'a/.git']) {
      expect(selected([name], [name, `${name}/inside`, 'plain'])).toEqual([name, `${name}/inside`]);
    }
  });

  it('globs still work, dotfiles included, and a matched directory brings its contents', () => {
    expect(selected(['app/*.txt'], ['app/a.txt', 'app/.b.txt', 'app/c.md', 'app/sub/d.txt'])).toEqual(['app/a.txt', 'app/.b.txt']);
    expect(selected(['app/s*'], ['app/sub', 'app/sub/deep/file', 'app/x'])).toEqual(['app/sub', 'app/sub/deep/file']);
  });

  it('a pattern that matches nothing selects nothing', () => {
    expect(selected(['missing', 'nope/*'], ['app', 'app/a'])).toEqual([]);
  });
});
