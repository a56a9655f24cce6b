import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { readTar } from '../../src/restore/read-tar.js';
import { END, file } from '../helpers/raw-tar.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const latin1 = (s: string) => Buffer.from(s, 'latin1');

/** An archive with two files whose names differ only in a byte that is not valid UTF-8, and an inventory listing them. */
function archive(hashes: [string, string]): Buffer {
  const entries = [
    { path: 'app/caf\ufffd', path_b64: latin1('app/caf\xe9').toString('base64'), size: 7, sha256: hashes[0] },
    { path: 'app/caf\ufffd', path_b64: latin1('app/caf\xe8').toString('base64'), size: 7, sha256: hashes[1] },
    { path: 'app/plain.txt', size: 5, sha256: sha('plain') },
  ];
  const inventory = JSON.stringify({ format: 'ferry-inventory/1', sources: [{ as: 'app', kind: 'path', files: 3, bytes: 19, entries }] });
  return Buffer.concat([
    file(latin1('app/caf\xe9'), 'e acute'),
    file(latin1('app/caf\xe8'), 'e grave'),
    file('./app/plain.txt', 'plain'),
    file('inventory.json', inventory),
    END,
  ]);
}

describe('verify compares files by their exact name bytes', () => {
  it('two names that differ only in bytes that are not UTF-8 are checked each against its own inventory entry (path_b64)', async () => {
    const ok = await readTar(Readable.from([archive([sha('e acute'), sha('e grave')])]));
    expect(ok.mismatches).toEqual([]);
    expect(ok.files).toBe(4);
  });

  it('a file whose bytes do not match its own inventory entry is reported, even when another name decodes to the same text', async () => {
    const swapped = await readTar(Readable.from([archive([sha('e grave'), sha('e acute')])]));
    expect(swapped.mismatches).toEqual(['app/caf\ufffd', 'app/caf\ufffd']);
  });
});
