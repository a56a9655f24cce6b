import { restoreSourceInPlace, type InPlaceResult } from '../../restore/in-place.js';
import { listArchiveSources, type ArchiveSources } from '../../restore/list-sources.js';
import { restoreArchive } from '../../restore/restore.js';
import { parseAt } from '../../restore/select.js';
import { normalizeSourceName, peekArchive, requireArchiveSource, sourceGlobs } from '../../restore/source.js';
import { UsageError } from '../../errors.js';
import { EXIT } from '../../exit-codes.js';
import { decryptKeys } from '../../restore/keys.js';
import type { CommandContext } from '../context.js';
import { formatBytes, table } from '../format.js';
import { createProgress, readProgress, summaryEvent } from '../progress.js';
import { readSummary, summaryLine } from '../summary.js';

export interface RestoreFlags {
  to?: string;
  from?: string;
  only?: string[];
  at?: string;
  force?: boolean;
  identity?: string[];
  source?: string;
  inPlace?: boolean;
  apply?: boolean;
  listSources?: boolean;
}

const usage = (message: string) => new UsageError(message);

/** Rejects flag combinations that have no meaning; every problem is a usage error (exit 2). */
function checkFlags(opts: RestoreFlags): void {
  if (opts.listSources && (opts.source || opts.inPlace || opts.apply || opts.only?.length || opts.to)) {
    throw usage('--list-sources only reads the archive; it takes no --source, --in-place, --apply, --only or --to');
  }
  if (opts.inPlace && !opts.source) throw usage('--in-place needs --source <as-name> (see --list-sources)');
  if (opts.apply && !opts.inPlace) throw usage('--apply needs --source <as-name> --in-place');
  if (opts.source && opts.only?.length) throw usage('--source and --only cannot be combined');
  if (!opts.to && !opts.inPlace && !opts.listSources) throw usage("required option '--to <dir>' not specified (or pass --in-place or --list-sources)");
}

export async function restoreCommand(ctx: CommandContext, archive: string, opts: RestoreFlags): Promise<number> {
  checkFlags(opts);
  const config = ctx.config();
  const at = opts.at ? parseAt(opts.at) : undefined;
  const common = { which: archive, from: opts.from, at, keys: decryptKeys(config, opts.identity), log: ctx.log, signal: ctx.signal };

  if (opts.listSources) {
    const listed = await listArchiveSources(config, common);
    ctx.output(sourcesText(listed), listed);
    return EXIT.OK;
  }
  if (opts.inPlace) {
    const result = await restoreSourceInPlace(config, { ...common, source: opts.source!, apply: opts.apply, to: opts.to, force: opts.force });
    ctx.output(inPlaceText(result), result);
    return EXIT.OK;
  }

  let only = opts.only;
  let which = archive;
  let from = opts.from;
  if (opts.source) {
    // Pin the archive first, so a missing source is reported before anything is downloaded.
    const as = normalizeSourceName(opts.source);
    const peeked = await peekArchive(config, common, ctx.log, ctx.signal);
    requireArchiveSource(peeked, as);
    ({ archive: which, target: from } = peeked);
    only = sourceGlobs(as);
  }
  const startedAt = Date.now();
  const progress = createProgress(ctx, 'restore');
  const reading = readProgress(progress);
  let result: Awaited<ReturnType<typeof restoreArchive>>;
  try {
    result = await restoreArchive(config, { ...common, which, from, at: opts.source ? undefined : at, to: opts.to!, only, force: opts.force, progress: reading });
  } catch (err) {
    progress.finish(false);
    throw err;
  }
  const summary = readSummary(reading.counts, startedAt);
  progress.finish(true);
  summaryEvent(ctx, 'restore', true, summary);
  ctx.output(`restored ${result.archive} from ${result.target} into ${result.to}: ${result.files} files, ${result.directories} directories, ${result.symlinks} symlinks\n${summaryLine(summary)}`, { ...result, summary });
  return EXIT.OK;
}

function sourcesText(listed: ArchiveSources): string {
  const rows = listed.sources.map((s) => [s.as, s.kind, String(s.files), formatBytes(s.bytes), describeOrigin(s)]);
  const note = listed.readFrom === 'manifest' ? ' (summary from the manifest: the archive is encrypted)' : '';
  return `${listed.archive} on ${listed.target}${note}\n${table(['AS', 'KIND', 'FILES', 'SIZE', 'ORIGIN'], rows)}`;
}

function describeOrigin(s: ArchiveSources['sources'][number]): string {
  if (s.origin) return s.origin;
  const meta = s.meta ?? {};
  if (s.kind === 'postgres') return `database ${String(meta.dbname ?? '(default)')}${meta.format ? ` (${String(meta.format)} dump)` : ''}`;
  if (s.kind === 'command') return "a command's output";
  return '-';
}

function inPlaceText(r: InPlaceResult): string {
  const head = `${r.source} (${r.kind}) from ${r.archive} on ${r.target}`;
  switch (r.action) {
    case 'applied':
      return `applied ${head} to database ${r.database}`;
    case 'dump-written':
      return [
        `wrote ${head} to ${r.path}`,
        'to load it into an empty database (the password is asked for, or read from PGPASSWORD or ~/.pgpass):',
        `  ${r.applyCommand}`,
        'or let ferry do it: add --apply (it uses the database in the config)',
      ].join('\n');
    case 'replaced': {
      const lines = [`restored ${head} to ${r.path}${r.pathFrom === 'archive' ? ' (the path recorded in the archive)' : ''}`];
      if (r.previous) lines.push(`the previous data was moved to ${r.previous}`);
      for (const s of r.previousSidecars ?? []) if (s !== r.previous) lines.push(`  with ${s}`);
      if (!r.previous && !r.previousSidecars?.length) lines.push('nothing was at that path before');
      return lines.join('\n');
    }
  }
}
