import { createWriteStream } from 'node:fs';
import { link, rename, stat, unlink } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { UsageError } from '../../errors.js';
import { EXIT } from '../../exit-codes.js';
import { decryptKeys } from '../../restore/keys.js';
import { withArchive } from '../../restore/locate.js';
import { readArchive } from '../../restore/open.js';
import { parseAt } from '../../restore/select.js';
import { chainOf } from '../../restore/chain.js';
import type { Manifest } from '../../storage/manifest.js';
import type { CommandContext } from '../context.js';
import { createProgress, readProgress, summaryEvent } from '../progress.js';
import { readSummary, summaryLine } from '../summary.js';

/**
 * Fetches the archive file itself (an incremental archive with its whole
 * chain, into the directory `--out`, default the current one). Each file is
 * written under a temporary name and renamed only after its bytes matched its manifest.
 * An existing file there is refused (before anything is downloaded, and
 * again at the end, without replacing it) unless `--force` is given.
 */
export async function pullCommand(ctx: CommandContext, archive: string, opts: { from?: string; at?: string; out?: string; decrypt?: boolean; identity?: string[]; force?: boolean }): Promise<number> {
  const config = ctx.config();
  const at = opts.at ? parseAt(opts.at) : undefined;
  if (opts.out && !(await stat(opts.out).catch(() => undefined))?.isDirectory()) {
    const dir = dirname(resolve(opts.out));
    const s = await stat(dir).catch(() => undefined);
    if (!s?.isDirectory()) throw new UsageError(`--out ${opts.out}: directory ${dir} does not exist`);
  }
  const startedAt = Date.now();
  const progress = createProgress(ctx, 'pull');
  const reading = readProgress(progress, false);
  return withArchive(config, { which: archive, at, from: opts.from }, ctx, async ({ target, manifest }) => {
    const decrypting = Boolean(opts.decrypt && manifest.encrypted);
    const tree = manifest.layout === 'tree';
    // A snapshot (`format: tree`) is written as a standard tar.gz of it.
    const fileName = (name: string) => (tree ? `${name}.tar.gz` : decrypting ? name.replace(/\.age$/, '') : name);
    const pullOne = async (m: Manifest, out: string) => {
      const tmp = `${out}.ferry-partial-${process.pid}`;
      if (!opts.force && await stat(out).then(() => true, () => false)) throw exists(out);
      try {
        await readArchive(target, m, { decrypt: decrypting ? decryptKeys(config, opts.identity) : undefined, signal: ctx.signal, progress: reading },
          (stream) => pipeline(stream, createWriteStream(tmp, { mode: 0o600 })));
        if (opts.force) await rename(tmp, out);
        else await moveIntoPlace(tmp, out);
      } catch (err) {
        progress.finish(false);
        await unlink(tmp).catch(() => {});
        throw err;
      }
    };
    // The archive's files are not read: their count and bytes (of the whole tree, for a chain) come from its manifest.
    // A snapshot's stored bytes are its files, all of which went into the tar.gz.
    const summarize = () => readSummary({
      bytes: tree ? manifest.size : reading.counts.bytes, files: sumOf(manifest.sources, 'files'), content: sumOf(manifest.sources, 'bytes'),
    }, startedAt);
    if (manifest.chain && manifest.chain.length > 1) {
      // An incremental archive comes with its chain: `--out` names the directory the archives are written to.
      const dir = resolve(opts.out ?? '.');
      if (!(await stat(dir).catch(() => undefined))?.isDirectory()) throw new UsageError(`--out ${dir}: an incremental archive is pulled with its chain into a directory, and this is not one`);
      const files: string[] = [];
      const chain = await chainOf(target, manifest, ctx.signal);
      for (const m of chain) {
        const out = join(dir, fileName(m.archive));
        await pullOne(m, out);
        files.push(out);
      }
      const summary = summarize();
      progress.finish(true);
      summaryEvent(ctx, 'pull', true, summary);
      ctx.output(`${files.join('\n')}\n(the chain of ${manifest.archive} from ${target.name}, oldest first, sha256 verified${decrypting ? ', decrypted' : ''})\n${summaryLine(summary)}`, {
        files, chain: manifest.chain, archive: manifest.archive, target: target.name, decrypted: decrypting, summary,
      });
      return EXIT.OK;
    }
    const out = resolve(opts.out ?? fileName(manifest.archive));
    await pullOne(manifest, out);
    const summary = summarize();
    progress.finish(true);
    summaryEvent(ctx, 'pull', true, summary);
    const how = tree ? 'snapshot written as tar.gz' : `sha256 verified${decrypting ? ', decrypted' : ''}`;
    ctx.output(`${out} (${manifest.archive} from ${target.name}, ${how})\n${summaryLine(summary)}`, {
      file: out, archive: manifest.archive, target: target.name, sha256: manifest.sha256, decrypted: decrypting, summary,
    });
    return EXIT.OK;
  });
}

function sumOf(sources: { files: number; bytes: number }[], key: 'files' | 'bytes'): number {
  return sources.reduce((n, s) => n + s[key], 0);
}

const exists = (out: string) => new UsageError(`${out} already exists; pass --force to replace it, or --out another file`);

/**
 * Moves `tmp` to `out` without ever replacing a file that appeared there
 * meanwhile: a hard link fails when `out` exists. On a filesystem without
 * hard links, `out` is checked once more and `tmp` renamed.
 */
async function moveIntoPlace(tmp: string, out: string): Promise<void> {
  try {
    await link(tmp, out);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw exists(out);
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw err;
    if (await stat(out).then(() => true, () => false)) throw exists(out);
    await rename(tmp, out);
    return;
  }
  await unlink(tmp);
}
