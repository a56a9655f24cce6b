import { createWriteStream } from 'node:fs';
import { rename, stat, unlink } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { UsageError } from '../../errors.js';
import { EXIT } from '../../exit-codes.js';
import { decryptKeys } from '../../restore/keys.js';
import { withArchive } from '../../restore/locate.js';
import { readArchive } from '../../restore/open.js';
import { parseAt } from '../../restore/select.js';
import type { CommandContext } from '../context.js';

/**
 * Fetches the archive file itself. It is written under a temporary name and
 * renamed to `--out` only after its bytes matched the manifest.
 */
export async function pullCommand(ctx: CommandContext, archive: string, opts: { from?: string; at?: string; out?: string; decrypt?: boolean; identity?: string[] }): Promise<number> {
  const config = ctx.config();
  const at = opts.at ? parseAt(opts.at) : undefined;
  if (opts.out) {
    const dir = dirname(resolve(opts.out));
    const s = await stat(dir).catch(() => undefined);
    if (!s?.isDirectory()) throw new UsageError(`--out ${opts.out}: directory ${dir} does not exist`);
  }
  return withArchive(config, { which: archive, at, from: opts.from }, ctx, async ({ target, manifest }) => {
    const decrypting = Boolean(opts.decrypt && manifest.encrypted);
    const tree = manifest.layout === 'tree';
    const out = resolve(opts.out ?? (tree ? `${manifest.archive}.tar.gz` : decrypting ? manifest.archive.replace(/\.age$/, '') : manifest.archive));
    const tmp = `${out}.ferry-partial-${process.pid}`;
    try {
      await readArchive(target, manifest, { decrypt: decrypting ? decryptKeys(config, opts.identity) : undefined, signal: ctx.signal },
        (stream) => pipeline(stream, createWriteStream(tmp, { mode: 0o600 })));
      await rename(tmp, out);
    } catch (err) {
      await unlink(tmp).catch(() => {});
      throw err;
    }
    const how = tree ? 'snapshot written as tar.gz' : `sha256 verified${decrypting ? ', decrypted' : ''}`;
    ctx.output(`${out} (${manifest.archive} from ${target.name}, ${how})`, {
      file: out, archive: manifest.archive, target: target.name, sha256: manifest.sha256, decrypted: decrypting,
    });
    return EXIT.OK;
  });
}
