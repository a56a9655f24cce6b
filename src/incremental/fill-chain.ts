import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import { bufferBody, fileBody } from '../storage/body.js';
import { manifestKey } from '../storage/layout.js';
import { readManifest } from '../storage/manifest-read.js';
import type { Target } from '../storage/targets.js';

/** What a target that missed a run was given so it holds the whole chain again. */
export interface Filled {
  target: string;
  /** The archives copied to it, oldest first, and where from. */
  copied: string[];
  from: string;
}

/**
 * Copies to `target` the archives of the chain it lacks (`missing`, oldest
 * first) from `source`, which holds them all: each archive is downloaded
 * into `stagingDir`, checked against its manifest's size and sha256, put,
 * and then its manifest is put (the manifest last, as for a push). Rejects
 * naming the archive that could not be copied; what was copied before stays
 * (each archive is complete with its manifest).
 */
export async function fillChain(target: Target, source: Target, missing: string[], stagingDir: string, log: Logger, signal?: AbortSignal): Promise<Filled> {
  const dir = await mkdtemp(join(stagingDir, 'ferry-chain-'));
  try {
    for (const name of missing) {
      try {
        const manifest = await readManifest(source.adapter, name, signal);
        const file = join(dir, 'archive');
        const hash = createHash('sha256');
        let size = 0;
        const count = new Transform({ transform(chunk: Buffer, _e, done) { hash.update(chunk); size += chunk.length; done(null, chunk); } });
        await pipeline(await source.adapter.get(name, { signal }), count, createWriteStream(file), { signal });
        const sha256 = hash.digest('hex');
        if (size !== manifest.size || sha256 !== manifest.sha256) throw new Error(`its bytes on target ${source.name} do not match its manifest`);
        await target.adapter.put(name, fileBody(file, size), { signal });
        await target.adapter.put(manifestKey(name), bufferBody(JSON.stringify(manifest, null, 2) + '\n'), { signal });
        await rm(file, { force: true });
        log.info(`${target.name}: copied ${name} from ${source.name}, so it holds the whole chain`);
      } catch (err) {
        throw new Error(`could not copy ${name} from target ${source.name} to target ${target.name}: ${describeError(err)}`, { cause: err });
      }
    }
    return { target: target.name, copied: missing, from: source.name };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
