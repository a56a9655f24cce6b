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
  sources: (SourceSummary & { entries: StoredFile[] })[];
  warnings: { path: string; message: string }[];
  /** Files or directories of a source that could not be read (not stored); the run exits 3. */
  unreadable?: { path: string; message: string }[];
  commands: Record<string, CommandOutput>;
}

/** Collects what the tar writer stores, to be written as the archive's last two entries. */
export class InventoryBuilder {
  private readonly bySource = new Map<PreparedSource, StoredFile[]>();
  readonly warnings: { path: string; message: string }[] = [];

  constructor(private readonly job: string, private readonly started: Date, private readonly sources: PreparedSource[]) {
    for (const s of sources) this.bySource.set(s, []);
  }

  addFile(file: StoredFile, source: PreparedSource): void {
    this.bySource.get(source)?.push(file);
  }

  addWarning(path: string, message: string): void {
    this.warnings.push({ path, message });
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
      sources: this.summaries().map((s, i) => ({ ...s, entries: this.bySource.get(this.sources[i]!) ?? [] })),
      warnings: this.warnings,
      commands,
    };
  }
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
    lines.push(`  ${s.as}  [${s.kind}]  ${s.files} files, ${s.bytes} bytes${s.origin ? `  from ${s.origin}` : ''}`);
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
