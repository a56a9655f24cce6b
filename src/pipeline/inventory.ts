import { randomUUID } from 'node:crypto';
import { hostname, platform, release, arch } from 'node:os';
import { join } from 'node:path';
import { SpoolFile } from '../util/spool-file.js';
import type { StoredFile } from './tar-writer.js';
import { configuredExclusions, describeExclusion, sameRule, type Exclusion, type ExclusionCount } from './exclude.js';
import type { PreparedSource } from './sources/types.js';
import { FERRY_VERSION } from '../version.js';
import type { SourceSummary } from '../storage/manifest.js';
import type { InventoryCommandResult } from './inventory-commands.js';

/** One inventory command's captured output, as stored in inventory.json. */
export type CommandOutput = InventoryCommandResult;


export interface Inventory {
  format: 'ferry-inventory/1';
  job: string;
  host: string;
  os: string;
  ferry_version: string;
  started: string;
  ended: string;
  sources: (SourceSummary & SourceDetails & { entries: StoredFile[] })[];
  warnings: { path: string; message: string }[];
  /**
   * Files and directories that could not be read (permission denied, I/O
   * error) and are missing from the archive (or stored zero-padded). Always
   * present, possibly empty, in inventories written by this version; a
   * non-empty list means the run needs attention (exit 3).
   */
  unreadable?: { path: string; message: string }[];
  commands: Record<string, CommandOutput>;
}

/** Facts about how a source was read, listed in inventory.json only (not the manifest). */
export interface SourceDetails {
  /** The real path that was read, when the configured path is (or goes through) a symlink. */
  resolved?: string;
  /** Archive paths Ferry left out by itself because it writes there (a target, the state or staging directory). */
  excludes?: { path: string; reason: string }[];
  /** Every exclusion rule of the source (exclude patterns, exclude_if_present, ...) with how many entries it left out. */
  excluded?: ExclusionCount[];
}

/** An inventory without its per-file entries: what a run keeps in memory and reports. */
export type InventorySummary = Omit<Inventory, 'sources'> & { sources: (SourceSummary & SourceDetails)[] };

/** A trailing archive file whose bytes are streamed: `size` is exact and known up front. */
export interface InventoryFile {
  path: string;
  size: number;
  chunks(): AsyncIterable<Buffer>;
}

/**
 * Collects what the tar writer stores, to be written as the archive's last
 * two entries. Per-file entries never stay in memory: each one is appended
 * to two spool files in `spoolDir` (the inventory.json line and the
 * inventory.txt line) as the run goes, so memory does not depend on the file
 * count. Files must be added source by source, in archive order (as the tar
 * writer does). Call `remove()` once the archive has ended or failed.
 */
/**
 * Which files inventory.txt lists one per line: every one (a full archive);
 * only those whose bytes the archive `heldBy` holds (an incremental archive:
 * the others are counted per archive that holds them); or none (a tree
 * snapshot, whose directory shows them). inventory.json always lists every
 * file with its sha256.
 */
export type TextListing = 'all' | 'none' | { heldBy: string };

export class InventoryBuilder {
  private readonly counts = new Map<PreparedSource, { files: number; bytes: number; start: number; end: number }>();
  private readonly exclusions = new Map<PreparedSource, ExclusionCount[]>();
  private readonly json: SpoolFile;
  private readonly text: SpoolFile;
  private current: PreparedSource | undefined;
  /** Files inventory.txt does not list one per line, by the archive that holds their bytes ('' for a snapshot). */
  private readonly unlisted = new Map<string, { files: number; bytes: number }>();
  readonly warnings: { path: string; message: string }[] = [];
  readonly unreadable: { path: string; message: string }[] = [];

  constructor(private readonly job: string, private readonly started: Date, private readonly sources: PreparedSource[], spoolDir: string, private readonly listing: TextListing = 'all') {
    for (const s of sources) {
      this.counts.set(s, { files: 0, bytes: 0, start: 0, end: 0 });
      this.exclusions.set(s, configuredExclusions(s));
    }
    this.json = new SpoolFile(join(spoolDir, 'inventory-entries.json'));
    this.text = new SpoolFile(join(spoolDir, 'inventory-files.txt'));
  }

  addFile(file: StoredFile, source: PreparedSource): void {
    const c = this.counts.get(source);
    if (!c) return;
    if (this.current !== source) {
      if (c.files > 0) throw new Error(`inventory: files of source "${source.as}" were not added together`);
      this.current = source;
      c.start = this.json.bytes;
    }
    this.json.append(`${c.files ? ',' : ''}\n${ENTRY_INDENT}${JSON.stringify(file)}`);
    c.end = this.json.bytes;
    c.files++;
    c.bytes += file.size;
    const holder = this.listing === 'all' ? undefined : this.listing === 'none' ? '' : file.archive && file.archive !== this.listing.heldBy ? file.archive : undefined;
    if (holder === undefined) {
      this.text.append(`  ${file.sha256}  ${file.size}  ${file.path}\n`);
      return;
    }
    const u = this.unlisted.get(holder) ?? { files: 0, bytes: 0 };
    u.files++;
    u.bytes += file.size;
    this.unlisted.set(holder, u);
  }

  /** Counts one entry an exclusion rule of `source` left out. */
  addExcluded(source: PreparedSource, rule: Exclusion): void {
    const count = this.exclusions.get(source)?.find((c) => sameRule(c, rule));
    if (count) count.count++;
  }

  addWarning(path: string, message: string): void {
    this.warnings.push({ path, message });
  }

  addUnreadable(path: string, message: string): void {
    this.unreadable.push({ path, message });
  }

  summaries(): SourceSummary[] {
    return this.sources.map((s) => {
      const c = this.counts.get(s)!;
      return { as: s.as, kind: s.kind, origin: s.origin, files: c.files, bytes: c.bytes, meta: s.meta };
    });
  }

  /** The inventory without per-file entries (what the run reports). */
  summary(commands: Record<string, CommandOutput>, ended: Date): InventorySummary {
    return {
      format: 'ferry-inventory/1',
      job: this.job,
      host: hostname(),
      os: `${platform()} ${release()} ${arch()}`,
      ferry_version: FERRY_VERSION,
      started: this.started.toISOString(),
      ended: ended.toISOString(),
      sources: this.summaries().map((s, i) => ({ ...s, ...details(this.sources[i]!, this.exclusions.get(this.sources[i]!)!) })),
      warnings: this.warnings,
      unreadable: this.unreadable,
      commands,
    };
  }

  /**
   * inventory.json and inventory.txt as streamed files, their entries read
   * back from the spool files. inventory.json is pretty-printed JSON with
   * each file entry on a line of its own, in archive order.
   */
  files(summary: InventorySummary): [InventoryFile, InventoryFile] {
    this.json.flush();
    this.text.flush();
    const mark = `\u0000ferry-entries-${randomUUID()}`;
    const skeleton = JSON.stringify({ ...summary, sources: summary.sources.map((s, i) => ({ ...s, entries: `${mark}${i}` })) }, null, 2);
    const parts: (string | { start: number; end: number })[] = [];
    let at = 0;
    this.sources.forEach((s, i) => {
      const placeholder = JSON.stringify(`${mark}${i}`);
      const found = skeleton.indexOf(placeholder, at);
      const c = this.counts.get(s)!;
      parts.push(skeleton.slice(at, found));
      if (c.files === 0) parts.push('[]');
      else parts.push('[', { start: c.start, end: c.end }, `\n${ENTRY_INDENT.slice(2)}]`);
      at = found + placeholder.length;
    });
    parts.push(skeleton.slice(at) + '\n');
    const jsonSize = parts.reduce<number>((n, p) => n + (typeof p === 'string' ? Buffer.byteLength(p) : p.end - p.start), 0);
    const head = Buffer.from(inventoryHead(summary) + this.filesHeading());
    const tail = Buffer.from(this.unlistedText());
    const json = this.json;
    const text = this.text;
    return [
      {
        path: 'inventory.json',
        size: jsonSize,
        async *chunks() {
          for (const p of parts) {
            if (typeof p === 'string') yield Buffer.from(p);
            else yield* json.range(p.start, p.end) as AsyncIterable<Buffer>;
          }
        },
      },
      {
        path: 'inventory.txt',
        size: head.length + text.bytes + tail.length,
        async *chunks() {
          yield head;
          if (text.bytes) yield* text.range(0, text.bytes) as AsyncIterable<Buffer>;
          if (tail.length) yield tail;
        },
      },
    ];
  }

  private filesHeading(): string {
    if (this.listing === 'none') return '';
    return this.unlisted.size ? 'Files stored in this archive:\n' : 'Files:\n';
  }

  /** What inventory.txt says of the files it does not list one per line. */
  private unlistedText(): string {
    if (this.listing === 'all') return '';
    if (this.listing === 'none') {
      const u = this.unlisted.get('') ?? { files: 0, bytes: 0 };
      return `Files: ${u.files} files, ${u.bytes} bytes, in this snapshot's directories; inventory.json lists each one with its sha256.\n`;
    }
    if (!this.unlisted.size) return '';
    const lines = ['', 'Unchanged files, stored in earlier archives of the chain (inventory.json lists each one with its sha256):'];
    for (const [archive, u] of this.unlisted) lines.push(`  ${archive}  ${u.files} files, ${u.bytes} bytes`);
    return lines.join('\n') + '\n';
  }

  /** Deletes the spool files (idempotent). */
  remove(): void {
    this.json.remove();
    this.text.remove();
  }
}

/**
 * Indentation of a file entry in inventory.json (sources[i].entries[j]).
 * Each entry is one line: this indent, the entry's JSON, and a comma unless
 * it is the source's last; a reader after the entries alone may rely on it.
 */
export const ENTRY_INDENT = '        ';

function details(source: PreparedSource, excluded: ExclusionCount[]): SourceDetails {
  const d: SourceDetails = {};
  if (source.resolved) d.resolved = source.resolved;
  if (source.autoExclude?.length) d.excludes = source.autoExclude.map((e) => ({ path: `${source.as}/${e.path}`, reason: e.reason }));
  if (excluded.length) d.excluded = excluded.map((e) => ({ ...e }));
  return d;
}

/** The human-readable twin of inventory.json. */
export function inventoryText(inv: Inventory): string {
  const lines = ['Files:'];
  for (const s of inv.sources) for (const f of s.entries) lines.push(`  ${f.sha256}  ${f.size}  ${f.path}`);
  return inventoryHead(inv) + lines.join('\n') + '\n';
}

/** inventory.txt up to (not including) its "Files:" section. */
function inventoryHead(inv: InventorySummary): string {
  const lines = [
    `Ferry archive inventory`,
    `job:      ${inv.job}`,
    `host:     ${inv.host} (${inv.os})`,
    `ferry:    ${inv.ferry_version}`,
    `started:  ${inv.started}`,
    `ended:    ${inv.ended}`,
    '',
    'Sources:',
  ];
  for (const s of inv.sources) {
    lines.push(`  ${s.as}  [${s.kind}]  ${s.files} files, ${s.bytes} bytes${s.origin ? `  from ${s.origin}` : ''}${s.resolved ? ` (a symlink to ${s.resolved})` : ''}`);
    for (const e of s.excludes ?? []) lines.push(`    excluded ${e.path} (${e.reason})`);
    for (const e of s.excluded ?? []) lines.push(`    left out by ${describeExclusion(e)}: ${e.count}`);
  }
  if (inv.unreadable?.length) {
    lines.push('', 'Could not be read (not stored):');
    for (const u of inv.unreadable) lines.push(`  ${u.path}: ${u.message}`);
  }
  if (inv.warnings.length) {
    lines.push('', 'Warnings:');
    for (const w of inv.warnings) lines.push(`  ${w.path}: ${w.message}`);
  }
  for (const [name, c] of Object.entries(inv.commands)) {
    lines.push('', `Command ${name}: ${c.command}  (exit ${c.exitCode ?? c.error ?? 'none'})`);
    lines.push(...c.stdout.replace(/\n$/, '').split('\n').map((l) => `  ${l}`));
  }
  lines.push('', '');
  return lines.join('\n');
}
