import { describe, expect, it } from 'vitest';
import { differences } from '../../src/index/diff.js';
import { findMatcher } from '../../src/index/find.js';
import { modeString, type IndexEntry } from '../../src/index/format.js';
import { cleanArchivePath, directorySelector } from '../../src/index/ls.js';
import { pathSelector } from '../../src/restore/select-paths.js';

const file = (path: string, extra: Partial<IndexEntry> = {}): IndexEntry => ({ path, type: 'file', size: 1, mode: 0o644, mtime: '2026-01-01T00:00:00.000Z', sha256: 'a', ...extra });
const dir = (path: string): IndexEntry => ({ path, type: 'dir', size: 0, mode: 0o755 });

describe('looking inside archives (pure parts)', () => {
  const archive = [dir('app'), file('app/a.txt'), dir('app/sub'), file('app/sub/b.txt'), file('data/app.db'), file('inventory.json')];
  const list = (path: string, recursive = false) => {
    const select = directorySelector(cleanArchivePath(path), recursive);
    return archive.map(select).filter((e) => e !== undefined).map((e) => `${e.path}${e.type === 'dir' ? '/' : ''}${'implied' in e ? ' (implied)' : ''}`);
  };

  it('ls shows direct children once each, directories without an entry of their own as implied, and a file path as itself', () => {
    expect(list('')).toEqual(['app/', 'data/ (implied)', 'inventory.json']);
    expect(list('/app/')).toEqual(['app/a.txt', 'app/sub/']);
    expect(list('./data')).toEqual(['data/app.db']);
    expect(list('app/sub/b.txt')).toEqual(['app/sub/b.txt']);
    expect(list('app', true)).toEqual(['app/a.txt', 'app/sub/', 'app/sub/b.txt']);
  });

  it('find: a pattern without a slash matches names at any depth, one with a slash whole paths', () => {
    expect(findMatcher('*.txt')('app/sub/b.txt')).toBe(true);
    expect(findMatcher('.env')('app/.env')).toBe(true);
    expect(findMatcher('app/*.txt')('app/sub/b.txt')).toBe(false);
    expect(findMatcher('app/**/*.txt')('app/sub/b.txt')).toBe(true);
    expect(() => findMatcher('/')).toThrow(/empty/);
  });

  it('diff tells data changes from metadata-only changes', () => {
    expect(differences(file('x'), file('x'))).toEqual([]);
    expect(differences(file('x'), file('x', { sha256: 'b' }))).toEqual(['content']);
    expect(differences(file('x'), file('x', { mode: 0o600, mtime: '2026-01-02T00:00:00.000Z' }))).toEqual(['mode', 'mtime']);
    expect(differences(file('x'), { ...dir('x'), mode: 0o644, mtime: '2026-01-01T00:00:00.000Z' })).toEqual(['type']);
    expect(differences({ path: 'l', type: 'symlink', size: 0, mode: 0o777, link: 'a' }, { path: 'l', type: 'symlink', size: 0, mode: 0o777, link: 'b' })).toEqual(['link']);
  });

  it('modes print as ls -l does, special bits included', () => {
    expect(modeString(file('x', { mode: 0o4755 }))).toBe('-rwsr-xr-x');
    expect(modeString({ type: 'dir', mode: 0o1777 })).toBe('drwxrwxrwt');
    expect(modeString(file('x', { mode: 0o2640 }))).toBe('-rw-r-S---');
  });

  it('restore --only takes ls paths: a leading slash and a trailing slash are ignored', () => {
    const only = pathSelector(['/app/sub/']);
    expect(['app/sub', 'app/sub/b.txt', 'app/a.txt'].map(only)).toEqual([true, true, false]);
  });
});
