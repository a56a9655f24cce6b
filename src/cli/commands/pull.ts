import { createWriteStream } from 'node:fs';
import { rename, stat, unlink } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { EXIT, ExitError } from '../../errors.js';
import { readManifest } from '../../restore/fetch.js';
import { locateArchive } from '../../restore/locate.js';
import { readArchive } from '../../restore/open.js';
import { parseAt } from '../../restore/select.js';
import { closeTargets } from '../../storage/targets.js';
import type { CommandContext } from '../context.js';
import { decryptKeys } from './keys.js';

/**
 * Fetches the archive file itself. It is written under a temporary name and
 * renamed to `--out` only after its bytes matched the manifest.
 */
export async function pullCommand(ctx: CommandContext, archive: string, opts: { from?: string; at?: string; out?: string; decrypt?: boolean; identity?: string[] }): Promise<number> {
  const config = ctx.config();
  let at: Date | undefined;
  try {
    at = opts.at ? parseAt(opts.at) : undefined;
  } catch (err) {
    throw new ExitError(EXIT.USAGE, (err as Error).message);
  }
  if (opts.out) {
    const dir = dirname(resolve(opts.out));
    const s = await stat(dir).catch(() => undefined);
    if (!s?.isDirectory()) throw new ExitError(EXIT.USAGE, `--out ${opts.out}: directory ${dir} does not exist`);
  }
  const located = await locateArchive(config, { which: archive, at, from: opts.from }, ctx.log, ctx.signal);
  try {
    const manifest = await readManifest(located.target.adapter, located.archive.name, ctx.signal);
    const decrypting = Boolean(opts.decrypt && manifest.encrypted);
    const out = resolve(opts.out ?? (decrypting ? manifest.archive.replace(/\.age$/, '') : manifest.archive));
    const tmp = `${out}.ferry-partial-${process.pid}`;
    try {
      await readArchive(located.target, manifest, { decrypt: decrypting ? decryptKeys(config, opts.identity) : undefined, signal: ctx.signal },
        (stream) => pipeline(stream, createWriteStream(tmp, { mode: 0o600 })));
      await rename(tmp, out);
    } catch (err) {
      await unlink(tmp).catch(() => {});
      throw err;
    }
    ctx.output(`${out} (${manifest.archive} from ${located.target.name}, sha256 verified${decrypting ? ', decrypted' : ''})`, {
      file: out, archive: manifest.archive, target: located.target.name, sha256: manifest.sha256, decrypted: decrypting,
    });
    return EXIT.OK;
  } finally {
    await closeTargets(located.opened);
  }
}
