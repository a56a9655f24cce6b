import { describeError, EXIT, ExitError } from '../../errors.js';
import { readManifest, checkStoredBytes } from '../../restore/fetch.js';
import { locateArchive } from '../../restore/locate.js';
import { gunzipped, readArchive } from '../../restore/open.js';
import { readTar } from '../../restore/read-tar.js';
import { closeTargets, selectTargetNames } from '../../storage/targets.js';
import type { CommandContext } from '../context.js';
import { decryptKeys } from './keys.js';

export interface VerifyReport {
  target: string;
  archive?: string;
  ok: boolean;
  files?: number;
  bytes?: number;
  /** False when the archive is encrypted and no key was given: only the stored bytes were checked. */
  contentsRead?: boolean;
  error?: string;
}

/** Verifies one archive on one target: stored bytes against the manifest, then (when it can decrypt) every file against the inventory. */
export async function verifyOne(ctx: CommandContext, target: string | undefined, which: string, identities?: string[]): Promise<VerifyReport> {
  const config = ctx.config();
  const keys = decryptKeys(config, identities);
  const located = await locateArchive(config, { which, from: target }, ctx.log, ctx.signal);
  const where = located.target.name;
  try {
    const manifest = await readManifest(located.target.adapter, located.archive.name, ctx.signal);
    const canDecrypt = !manifest.encrypted || keys.identityFiles.length > 0 || keys.passphrase !== undefined;
    if (!canDecrypt) {
      await checkStoredBytes(located.target.adapter, manifest, ctx.signal);
      ctx.log.warn(`${where}: ${manifest.archive} is encrypted and no identity was given; checked its sha256 only`);
      return { target: where, archive: manifest.archive, ok: true, contentsRead: false };
    }
    const check = await readArchive(located.target, manifest, { decrypt: keys, signal: ctx.signal }, (stream) => readTar(gunzipped(stream), { spoolDir: config.stagingDir }));
    if (check.mismatched) {
      throw new ExitError(EXIT.FAILURE, `${where}: ${manifest.archive}: ${check.mismatched} file(s) differ from the inventory, first ${check.mismatches[0]}`);
    }
    return { target: where, archive: manifest.archive, ok: true, files: check.files, bytes: check.bytes, contentsRead: true };
  } finally {
    await closeTargets(located.opened);
  }
}

/** Verifies on one target, or with `all` on each; exit 0 only when every target verified, 1 when any failed (the others are still reported). */
export async function verifyCommand(ctx: CommandContext, archive: string, opts: { target?: string; all?: boolean; identity?: string[] }): Promise<number> {
  const config = ctx.config();
  const targets = opts.all ? selectTargetNames(config, undefined) : [opts.target];
  if (opts.target) selectTargetNames(config, [opts.target]); // an unknown --target is a usage error (exit 2)
  decryptKeys(config, opts.identity); // usage errors (an empty FERRY_PASSPHRASE) are exit 2, not a failed target
  const reports: VerifyReport[] = [];
  for (const t of targets) {
    try {
      reports.push(await verifyOne(ctx, t, archive, opts.identity));
    } catch (err) {
      reports.push({ target: t ?? '(any)', ok: false, error: describeError(err) });
    }
  }
  const human = reports.map((r) => r.ok
    ? `${r.target}: ok ${r.archive}${r.contentsRead === false ? ' (sha256 only; encrypted, no identity)' : ` (${r.files} files)`}`
    : `${r.target}: FAILED: ${r.error}`).join('\n');
  ctx.output(human, { reports });
  // Exit 3 means "stored, but look at this" for runs; for verify, an archive that fails on any target is a failure.
  return reports.every((r) => r.ok) ? EXIT.OK : EXIT.FAILURE;
}
