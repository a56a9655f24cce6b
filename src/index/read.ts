import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import { pipeline, type Readable } from 'node:stream';
import { DamagedArchiveError, describeError, FerryError } from '../errors.js';
import type { Logger } from '../log.js';
import { makeDecrypter, type DecryptKeys } from '../restore/decrypt.js';
import { normalisePath } from '../restore/entry-check.js';
import { gunzipped, openArchive } from '../restore/open.js';
import { zeros } from '../restore/read-tar.js';
import { readTarEntries, type TarEntry } from '../restore/tar-reader.js';
import { VerifyStream } from '../restore/verify-stream.js';
import { isNotFound } from '../storage/errors.js';
import type { Manifest } from '../storage/manifest.js';
import type { Target } from '../storage/targets.js';
import { INDEX_FORMAT, type EntryType, type IndexEntry, type IndexHeader } from './format.js';

export interface ReadEntriesOptions {
  keys: DecryptKeys;
  log: Logger;
  signal?: AbortSignal;
  /** With no usable sidecar, yield nothing (after `onSource('archive')`) instead of reading the whole archive. */
  sidecarOnly?: boolean;
}

/** Where an archive's entries were read from: its sidecar, or (an archive made without one) the archive itself. */
export type EntriesSource = 'index' | 'archive';

/**
 * Streams every entry of one archive, in archive order. Reads the index
 * sidecar the manifest records, checking it against the manifest's size and
 * sha256 (a mismatch fails with CORRUPT at the end of the stream) and its
 * header against the archive's name. An archive whose manifest records no
 * sidecar (made before sidecars existed), or whose sidecar is gone, is read
 * whole instead (downloaded, verified and decrypted as `verify` does, with a
 * warning), so the answer is the same, only slower. `onSource` learns which
 * was used before the first entry. Encrypted sidecars and archives need
 * `keys`; without them this rejects with a DecryptError saying what to pass.
 */
export async function* archiveEntries(
  target: Target,
  manifest: Manifest,
  options: ReadEntriesOptions,
  onSource?: (source: EntriesSource) => void,
): AsyncGenerator<IndexEntry> {
  let stream: Readable | undefined;
  const instead = options.sidecarOnly ? '' : `; reading the whole archive${manifest.index ? ` ${manifest.archive} instead` : ''}`;
  if (manifest.index) {
    try {
      stream = await target.adapter.get(manifest.index.name, { signal: options.signal });
    } catch (err) {
      if (!isNotFound(err)) throw err;
      options.log.warn(`${target.name}: ${manifest.index.name} is missing${instead}`);
    }
  } else {
    options.log.info(`${manifest.archive} on ${target.name} has no index sidecar (made by an older version)${instead}`);
  }
  if (!stream) {
    onSource?.('archive');
    if (!options.sidecarOnly) yield* entriesFromArchive(target, manifest, options);
    return;
  }
  onSource?.('index');
  yield* entriesFromSidecar(stream, target, manifest, options);
}

async function* entriesFromSidecar(raw: Readable, target: Target, manifest: Manifest, options: ReadEntriesOptions): AsyncGenerator<IndexEntry> {
  const ref = manifest.index!;
  const where = `${ref.name} (from ${target.name})`;
  const verify = new VerifyStream({ archive: ref.name, size: ref.size, sha256: ref.sha256 }, target.name);
  pipeline(raw, verify, () => {});
  const chain: Readable[] = [raw, verify];
  try {
    let bytes: Readable = verify;
    if (manifest.encrypted) {
      const decrypt = await makeDecrypter(options.keys);
      bytes = await decrypt(verify, where);
      chain.push(bytes);
    }
    const plain = gunzipped(bytes);
    chain.push(plain);
    let header: IndexHeader | undefined;
    for await (const line of lines(plain)) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        throw new DamagedArchiveError(`${where} is not a ferry index: a line is not JSON`);
      }
      if (!header) {
        header = parsed as IndexHeader;
        if (header.format !== INDEX_FORMAT) throw new DamagedArchiveError(`${where} is not a ${INDEX_FORMAT} index`);
        if (header.archive !== manifest.archive) throw new DamagedArchiveError(`${where} is the index of ${String(header.archive)}, not of ${manifest.archive}`);
        continue;
      }
      yield parsed as IndexEntry;
    }
    if (!header) throw new DamagedArchiveError(`${where} is empty`);
  } finally {
    for (const s of chain) s.destroy();
  }
}

/** Splits a text stream into lines (no empty ones). */
async function* lines(input: Readable): AsyncGenerator<string> {
  let rest = '';
  for await (const chunk of input) {
    const text = rest + (chunk as Buffer).toString('utf8');
    const parts = text.split('\n');
    rest = parts.pop()!;
    for (const p of parts) if (p) yield p;
  }
  if (rest) yield rest;
}

/** The entries of an archive read whole (verified against the manifest at the end), files hashed as they stream by. */
async function* entriesFromArchive(target: Target, manifest: Manifest, options: ReadEntriesOptions): AsyncGenerator<IndexEntry> {
  const opened = await openArchive(target, manifest, { decrypt: options.keys, signal: options.signal });
  try {
    for await (const entry of readTarEntries(gunzipped(opened.stream))) {
      const e = fromTarEntry(entry);
      if (!e) continue;
      if (e.type === 'file') e.sha256 = await contentHash(entry);
      yield e;
    }
    await opened.verified;
  } catch (err) {
    if (err instanceof FerryError) throw err;
    throw new DamagedArchiveError(`cannot read ${manifest.archive} (from ${target.name}): ${describeError(err)}`, { cause: err });
  } finally {
    opened.destroy();
  }
}

const TYPES: Partial<Record<TarEntry['type'], EntryType>> = {
  File: 'file', ContiguousFile: 'file', Directory: 'dir', SymbolicLink: 'symlink', Link: 'hardlink',
};

/** A tar entry as an index line (paths decoded as UTF-8, with `path_b64` when they are not valid UTF-8). */
export function fromTarEntry(entry: TarEntry): IndexEntry | undefined {
  const bytes = Buffer.from(normalisePath(entry.path), 'latin1');
  if (bytes.length === 0) return undefined;
  const e: IndexEntry = { path: bytes.toString('utf8'), type: TYPES[entry.type] ?? 'other', size: entry.type === 'Directory' ? 0 : entry.size, mode: entry.mode & 0o7777 };
  if (!isUtf8(bytes)) e.path_b64 = bytes.toString('base64');
  if (entry.mtime !== undefined) e.mtime = new Date(entry.mtime * 1000).toISOString();
  if (entry.linkpath !== undefined) e.link = Buffer.from(entry.linkpath, 'latin1').toString('utf8');
  return e;
}

/** sha256 of a file entry's content as restore writes it (holes of sparse files as zeros). */
async function contentHash(entry: TarEntry): Promise<string> {
  const hash = createHash('sha256');
  const whole = entry.whole();
  if (whole) return hash.update(whole).digest('hex');
  let at = 0;
  for await (const { data, position } of entry.chunks()) {
    at = zeros(hash, at, position);
    hash.update(data);
    at += data.length;
  }
  zeros(hash, at, entry.size);
  return hash.digest('hex');
}
