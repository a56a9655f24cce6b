import { hostname } from 'node:os';
import { FERRY_VERSION } from '../version.js';

/** One source as the manifest and the inventory summarize it. */
export interface SourceSummary {
  as: string;
  kind: string;
  origin?: string;
  files: number;
  bytes: number;
  meta?: Record<string, unknown>;
}

/**
 * `<archive>.manifest.json` (README: The archive). Written last on every target: its
 * presence is what makes an archive complete. It never holds a secret.
 */
export interface Manifest {
  format: 'ferry/1';
  job: string;
  archive: string;
  created: string;
  size: number;
  sha256: string;
  encrypted: boolean;
  /** Recipient fingerprints, or ["scrypt"] for a passphrase. */
  recipients?: string[];
  compression: { algorithm: 'gzip'; level: number };
  description?: string;
  host: string;
  sources: Omit<SourceSummary, 'meta'>[];
  warnings: number;
  /** The index sidecar stored beside the archive (absent for archives made without one). */
  index?: { name: string; size: number; sha256: string };
  ferry_version: string;
  /** Incremental archives (and full ones of a job with `incremental:`): 0 for a full archive, n for the nth archive after it. */
  level?: number;
  /** The archive this one builds on; absent for a full archive. */
  parent?: string;
  /** Every archive needed to restore this one, oldest first, this one last. */
  chain?: string[];
  /**
   * `tree` for a snapshot directory (`format: tree`): `archive` is the
   * directory's name, `size` the bytes of its files and `sha256` that of its
   * inventory.json; each file is checked against the inventory instead.
   */
  layout?: 'tree';
}

export function buildManifest(fields: Omit<Manifest, 'format' | 'host' | 'ferry_version'>): Manifest {
  return { format: 'ferry/1', ...fields, host: hostname(), ferry_version: FERRY_VERSION };
}

/** Parses and checks a manifest read back from a target. */
export function parseManifest(text: string, where: string): Manifest {
  let m: Manifest;
  try {
    m = JSON.parse(text) as Manifest;
  } catch {
    throw new Error(`${where}: manifest is not valid JSON`);
  }
  if (m.format !== 'ferry/1' || typeof m.sha256 !== 'string' || typeof m.size !== 'number') {
    throw new Error(`${where}: not a ferry/1 manifest`);
  }
  return m;
}
