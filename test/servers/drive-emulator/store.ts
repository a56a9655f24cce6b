/**
 * EMULATOR: the file table of the Google Drive v3 emulator. Metadata lives
 * in memory; file bodies live in a temporary directory on disk, so large
 * uploads never sit in memory. Resource shapes follow Drive v3's `File`
 * and `FileList` (int64 fields such as `size` are JSON strings).
 */
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { QueryableFile } from './query.js';

export const FOLDER_MIME = 'application/vnd.google-apps.folder';

export interface FileRecord extends QueryableFile {
  id: string;
  /** The shared drive holding the file (absent in My Drive). */
  driveId?: string;
  /** Body on disk (absent for folders). */
  path?: string;
  size?: number;
  md5?: string;
}

export class FileStore {
  readonly rootId = `0AEmuRoot${randomBytes(4).toString('hex')}`;
  private readonly files = new Map<string, FileRecord>();
  /** Uploads still to be stored with a wrong `md5Checksum` (see `corruptNextUploads`). */
  corruptUploads = 0;

  constructor(readonly dir: string) {}

  /** Maps the `root` alias to My Drive's id. */
  resolve(id: string): string {
    return id === 'root' ? this.rootId : id;
  }

  newId(): string {
    return randomBytes(16).toString('base64url').replace(/[-_]/g, 'x');
  }

  /** A fresh path in the store directory for an upload in progress. */
  tempPath(): string {
    return join(this.dir, `part-${randomBytes(8).toString('hex')}`);
  }

  /** Adds a file or folder from request metadata; `parents` default to My Drive. */
  create(meta: Record<string, unknown>, body?: { path: string; size: number; md5: string }): FileRecord {
    const now = new Date().toISOString();
    const parents = Array.isArray(meta.parents) && meta.parents.length > 0 ? meta.parents.map((p) => this.resolve(String(p))) : [this.rootId];
    const mimeType = typeof meta.mimeType === 'string' ? meta.mimeType : 'application/octet-stream';
    let md5 = body?.md5 ?? 'd41d8cd98f00b204e9800998ecf8427e';
    if (body && this.corruptUploads > 0) {
      this.corruptUploads--;
      md5 = md5.replace(/^./, (c) => (c === '0' ? '1' : '0'));
    }
    const driveId = parents.map((p) => this.files.get(p)?.driveId).find((d) => d !== undefined);
    const rec: FileRecord = {
      id: this.newId(),
      ...(driveId ? { driveId } : {}),
      name: typeof meta.name === 'string' ? meta.name : 'Untitled',
      mimeType,
      parents,
      trashed: false,
      createdTime: now,
      modifiedTime: now,
      ...(mimeType === FOLDER_MIME ? {} : { path: body?.path, size: body?.size ?? 0, md5 }),
    };
    this.files.set(rec.id, rec);
    return rec;
  }

  /** Adds a shared drive: its root is a folder whose id is the drive's id, as on Drive. */
  createSharedDrive(name: string): string {
    const id = `0ASd${randomBytes(8).toString('hex')}`;
    const now = new Date().toISOString();
    this.files.set(id, { id, driveId: id, name, mimeType: FOLDER_MIME, parents: [], trashed: false, createdTime: now, modifiedTime: now });
    return id;
  }

  get(id: string): FileRecord | undefined {
    return this.files.get(this.resolve(id));
  }

  all(): FileRecord[] {
    return [...this.files.values()];
  }

  /** Permanently deletes a file, or a folder and everything under it. */
  async delete(id: string): Promise<boolean> {
    const rec = this.files.get(id);
    if (!rec) return false;
    this.files.delete(id);
    if (rec.path) await rm(rec.path, { force: true });
    for (const child of this.all().filter((f) => f.parents.includes(id))) await this.delete(child.id);
    return true;
  }

  /** Bytes used by file bodies (trashed files count, as on Drive). */
  usage(): number {
    let n = 0;
    for (const f of this.files.values()) n += f.size ?? 0;
    return n;
  }
}

/** The Drive v3 JSON representation of a record, every field present. */
export function toResource(f: FileRecord): Record<string, unknown> {
  return {
    kind: 'drive#file',
    id: f.id,
    ...(f.driveId ? { driveId: f.driveId } : {}),
    name: f.name,
    mimeType: f.mimeType,
    parents: f.parents,
    trashed: f.trashed,
    createdTime: f.createdTime,
    modifiedTime: f.modifiedTime,
    ...(f.size !== undefined ? { size: String(f.size), md5Checksum: f.md5 } : {}),
  };
}

