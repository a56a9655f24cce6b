import pLimit from 'p-limit';
import type { LoadedConfig } from '../config/load.js';
import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import { readCatalog } from '../storage/catalog.js';
import { readManifest } from '../storage/manifest-read.js';
import { closeTargets, selectTargetNames } from '../storage/targets.js';
import { openTarget } from '../../adapters/index.js';

/** Manifests read at once per target. */
const MANIFEST_READS = 4;

export interface ArchiveStat {
  archive: string;
  created: string;
  /** Stored bytes of the archive. */
  size: number;
  /** Stored bytes of its index sidecar (0 when it has none). */
  index_size: number;
  /** Files and bytes of the sources it holds, before compression (from the manifest). */
  files: number;
  source_bytes: number;
}

export interface TargetStats {
  target: string;
  archives: number;
  /** Archives, sidecars and nothing else: what this job's complete archives occupy on the target. */
  stored_bytes: number;
  /** Size over time: one line per complete archive, oldest first. */
  history: ArchiveStat[];
  /** Set when the target could not be read; the other fields are then empty. */
  error?: string;
}

/**
 * Per target (README: Looking inside archives): the count of complete
 * archives, the bytes they and their index sidecars occupy, and each
 * archive's size over time. Reads the listing and the manifests only. A
 * target that cannot be read is reported in its `error`.
 */
export async function targetStats(config: LoadedConfig, names: string[] | undefined, options: { log: Logger; signal?: AbortSignal }): Promise<TargetStats[]> {
  const out: TargetStats[] = [];
  for (const name of selectTargetNames(config, names)) {
    try {
      const target = await openTarget(config, name, options.log);
      try {
        const catalog = await readCatalog(target.adapter, config.job, { signal: options.signal });
        const limit = pLimit(MANIFEST_READS);
        const history = await Promise.all(catalog.complete.map((a) => limit(async (): Promise<ArchiveStat> => {
          const m = await readManifest(target.adapter, a.name, options.signal);
          const sources = m.sources ?? [];
          return {
            archive: a.name, created: a.created.toISOString(), size: a.size, index_size: m.index?.size ?? 0,
            files: sources.reduce((n, s) => n + s.files, 0), source_bytes: sources.reduce((n, s) => n + s.bytes, 0),
          };
        })));
        const stored = history.reduce((n, h) => n + h.size + h.index_size, 0);
        out.push({ target: name, archives: history.length, stored_bytes: stored, history });
      } finally {
        await closeTargets([target]);
      }
    } catch (err) {
      out.push({ target: name, archives: 0, stored_bytes: 0, history: [], error: describeError(err) });
    }
  }
  return out;
}
