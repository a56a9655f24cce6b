import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { encodeHeader } from '../../src/pipeline/tar-writer.js';
import { manifestKey } from '../../src/storage/layout.js';

export interface CraftEntry {
  path: string;
  type?: 'File' | 'Directory' | 'SymbolicLink' | 'Link';
  data?: string;
  linkpath?: string;
  mode?: number;
}

/** A tar.gz with exactly these raw entries (no checks at all): for restore-safety tests. */
export function craftTarGz(entries: CraftEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const data = Buffer.from(e.data ?? '');
    const type = e.type ?? 'File';
    parts.push(encodeHeader({ path: e.path, type, size: type === 'File' ? data.length : 0, mode: e.mode ?? (type === 'Directory' ? 0o755 : 0o644), mtime: new Date(), linkpath: e.linkpath }));
    if (type === 'File') {
      parts.push(data, Buffer.alloc((512 - (data.length % 512)) % 512));
    }
  }
  parts.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(parts));
}

/** Stores bytes as a complete archive (with a matching manifest) in a local target directory. */
export async function plantArchive(dir: string, job: string, name: string, bytes: Buffer, encrypted = false): Promise<void> {
  await writeFile(join(dir, name), bytes);
  const manifest = {
    format: 'ferry/1', job, archive: name, created: new Date().toISOString(), size: bytes.length,
    sha256: createHash('sha256').update(bytes).digest('hex'), encrypted,
    compression: { algorithm: 'gzip', level: 6 }, host: 'test', sources: [], warnings: 0, ferry_version: 'test',
  };
  await writeFile(join(dir, manifestKey(name)), JSON.stringify(manifest));
}
