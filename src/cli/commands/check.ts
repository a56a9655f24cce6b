import { randomBytes } from 'node:crypto';
import { describeError } from '../../errors.js';
import { EXIT } from '../../exit-codes.js';
import { bufferBody } from '../../storage/body.js';
import { catalogWarnings, readCatalog } from '../../storage/catalog.js';
import { closeTargets, type Target } from '../../storage/targets.js';
import { openTarget } from '../../../adapters/index.js';
import type { CommandContext } from '../context.js';
import { formatBytes } from '../format.js';

export interface ProbeReport {
  target: string;
  type: string;
  ok: boolean;
  details: string[];
  freeBytes?: number;
  /** Archives dated in the future and foreign archives on the target (see `catalogWarnings`). */
  warnings: string[];
  error?: string;
  code?: string;
}

/**
 * Probes one target the way a run uses it: its own readiness checks
 * (mounted, right drive...), free space, then write, read back and delete a
 * small probe object that can never be mistaken for an archive. With `job`,
 * the job's archives are listed too, and archives dated in the future or
 * foreign ones are reported as warnings (they do not fail the check).
 */
export async function probeTarget(target: Target, signal?: AbortSignal, job?: string): Promise<ProbeReport> {
  const report: ProbeReport = { target: target.name, type: String(target.config.type), ok: false, details: [], warnings: [] };
  try {
    const absent = await target.adapter.absent?.({ signal });
    if (absent !== undefined) {
      // An optional target that is not there does not make tonight's run fail: runs skip it.
      report.ok = true;
      report.warnings.push(`${absent}; runs skip this optional target until it is back`);
      return report;
    }
    if (target.adapter.probe) report.details.push(...(await target.adapter.probe({ signal })));
    const free = await target.adapter.freeSpace?.({ signal });
    if (free !== undefined) {
      report.freeBytes = free;
      report.details.push(`${formatBytes(free)} free`);
    }
    const key = `ferry-check-${randomBytes(6).toString('hex')}.probe`;
    const payload = `ferry check ${new Date().toISOString()}\n`;
    await target.adapter.put(key, bufferBody(payload), { signal });
    try {
      const chunks: Buffer[] = [];
      for await (const c of await target.adapter.get(key, { signal })) chunks.push(c as Buffer);
      if (Buffer.concat(chunks).toString() !== payload) throw new Error('probe object read back with different content');
    } finally {
      await target.adapter.remove(key, { signal });
    }
    report.details.push('write, read back and delete ok');
    report.ok = true;
    if (job !== undefined) {
      const now = new Date();
      report.warnings.push(...await readCatalog(target.adapter, job, { signal }).then(
        (c) => catalogWarnings(c, now),
        (err: unknown) => [`could not read the archives: ${describeError(err)}`],
      ));
    }
  } catch (err) {
    report.error = describeError(err);
    report.code = (err as { code?: string }).code;
  }
  return report;
}

export async function checkCommand(ctx: CommandContext): Promise<number> {
  const config = ctx.config();
  const reports: ProbeReport[] = [];
  const opened: Target[] = [];
  try {
    for (const name of Object.keys(config.targets)) {
      try {
        const t = await openTarget(config, name, ctx.log);
        opened.push(t);
        reports.push(await probeTarget(t, ctx.signal, config.job));
      } catch (err) {
        reports.push({ target: name, type: String(config.targets[name]!.type), ok: false, details: [], warnings: [], error: describeError(err) });
      }
    }
  } finally {
    await closeTargets(opened);
  }
  const human = [`config ${config.configPath}: ok (job ${config.job}, ${config.sources.length} sources)`,
    ...reports.map((r) => `${r.target} (${r.type}): ${r.ok ? 'ok' : `FAILED${r.code ? ` [${r.code}]` : ''}: ${r.error}`}${r.details.length ? ` — ${r.details.join('; ')}` : ''}${r.warnings.map((w) => `\n  warning: ${w}`).join('')}`)].join('\n');
  ctx.output(human, { config: { path: config.configPath, job: config.job, ok: true }, targets: reports });
  return reports.every((r) => r.ok) ? EXIT.OK : EXIT.FAILURE;
}
