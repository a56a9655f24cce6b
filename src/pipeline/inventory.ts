import { hostname, platform, release, arch } from 'node:os';
import type { StoredFile } from './tar-writer.js';
import type { PreparedSource } from './sources/types.js';
import { FERRY_VERSION } from '../version.js';
import type { InventoryCommandResult } from './inventory-commands.js';

/** One inventory command's captured output, as stored in inventory.json. */
export type CommandOutput = InventoryCommandResult;

export interface SourceSummary {
  as: string;
  kind: string;
  origin?: string;
  files: number;
  bytes: number;
  meta?: Record<string, unknown>;
}

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
}

/** Collects what the tar writer stores, to be written as the archive's last two entries. */
export class InventoryBuilder {
  private readonly bySource = new Map<PreparedSource, StoredFile[]>();
  readonly warnings: { path: string; message: string }[] = [];
  readonly unreadable: { path: string; message: string }[] = [];

  constructor(private readonly job: string, private readonly started: Date, private readonly sources: PreparedSource[]) {
    for (const s of sources) this.bySource.set(s, []);
  }

  addFile(file: StoredFile, source: PreparedSource): void {
    this.bySource.get(source)?.push(file);
  }

  addWarning(path: string, message: string): void {
    this.warnings.push({ path, message });
  }

  addUnreadable(path: string, message: string): void {
    this.unreadable.push({ path, message });
  }

  summaries(): SourceSummary[] {
    return this.sources.map((s) => {
      const files = this.bySource.get(s) ?? [];
      return { as: s.as, kind: s.kind, origin: s.origin, files: files.length, bytes: files.reduce((n, f) => n + f.size, 0), meta: s.meta };
    });
  }

  build(commands: Record<string, CommandOutput>, ended = new Date()): Inventory {
    return {
      format: 'ferry-inventory/1',
      job: this.job,
      host: hostname(),
      os: `${platform()} ${release()} ${arch()}`,
      ferry_version: FERRY_VERSION,
      started: this.started.toISOString(),
      ended: ended.toISOString(),
      sources: this.summaries().map((s, i) => ({ ...s, ...details(this.sources[i]!), entries: this.bySource.get(this.sources[i]!) ?? [] })),
      warnings: this.warnings,
      unreadable: this.unreadable,
      commands,
    };
  }
}

function details(source: PreparedSource): SourceDetails {
  const d: SourceDetails = {};
  if (source.resolved) d.resolved = source.resolved;
  if (source.autoExclude?.length) d.excludes = source.autoExclude.map((e) => ({ path: `${source.as}/${e.path}`, reason: e.reason }));
  return d;
}

/** The human-readable twin of inventory.json. */
export function inventoryText(inv: Inventory): string {
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
  lines.push('', 'Files:');
  for (const s of inv.sources) for (const f of s.entries) lines.push(`  ${f.sha256}  ${f.size}  ${f.path}`);
  return lines.join('\n') + '\n';
}
