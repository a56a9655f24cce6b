/** Small pure helpers of the gdrive adapter: naming, ordering and query escaping. */
import type { ObjectInfo } from '../../src/storage/adapter.js';
import type { DriveFile } from './resumable.js';

export const FOLDER_MIME = 'application/vnd.google-apps.folder';

/** Drive query string literal: backslash and single quote escaped. */
export function escapeQ(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/'/g, "\\'");
}

/** Newer means a later createdTime; the id breaks ties so every client agrees on one order. */
export function isNewer(a: DriveFile, b: DriveFile): boolean {
  const ta = a.createdTime ?? '';
  const tb = b.createdTime ?? '';
  return ta !== tb ? Date.parse(ta) > Date.parse(tb) : a.id > b.id;
}

export function toInfo(f: DriveFile): ObjectInfo {
  return { key: f.name ?? '', size: Number(f.size ?? 0), modified: new Date(f.modifiedTime ?? f.createdTime ?? 0) };
}
