import { randomBytes } from 'node:crypto';
import { checkSources } from '../../check/sources.js';
import type { SourceCheck } from '../../check/types.js';
import { describeError, formatConfigIssue } from '../../errors.js';
import { EXIT } from '../../exit-codes.js';
import { resolveEncryption } from '../../pipeline/encrypt.js';
import { sendTestMessages, type NotifierTest } from '../../service/notify/test-message.js';
import { bufferBody } from '../../storage/body.js';
import { catalogWarnings, readCatalog } from '../../storage/catalog.js';
import { closeTargets, type Target } from '../../storage/targets.js';
import { openTarget } from '../../../adapters/index.js';
import type { CommandContext } from '../context.js';
import { forEachJob } from '../each-job.js';
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

/**
 * `ferry check [--notify]`: predicts tonight's run. The config, every
 * source (read as the run reads it), the commands the run starts, the
 * encryption keys and every target; with `--notify`, a test message
 * through every notifier. Exits 1 when the run would fail or not store
 * everything (or a test message failed), 0 otherwise; warnings alone do not
 * change the exit code.
 */
export function checkCommand(ctx: CommandContext, opts: { notify?: boolean } = {}): Promise<number> {
  return forEachJob(ctx, (jobCtx) => checkOne(jobCtx, opts));
}

async function checkOne(ctx: CommandContext, opts: { notify?: boolean }): Promise<number> {
  const config = ctx.config();
  const sources = await checkSources(config, ctx.signal);
  if (config.encryption) {
    const check: SourceCheck = { name: 'encryption', ok: true, details: [], warnings: [], errors: [], unreadable: [] };
    await resolveEncryption(config.encryption, config.configDir).catch((err: unknown) => {
      check.errors.push(describeError(err));
      check.ok = false;
    });
    sources.push(check);
  }
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
  const notifiers: NotifierTest[] | undefined = opts.notify ? await sendTestMessages(config.notify, config.job) : undefined;
  const failing = [...sources.filter((s) => !s.ok).map((s) => s.name), ...reports.filter((r) => !r.ok).map((r) => r.target)];
  const human = [
    `config ${config.configFile}: ok (job ${config.job}, ${config.sources.length} sources)${config.warnings.map((w) => `\n  warning: ${formatConfigIssue(config.configFile, w)}`).join('')}`,
    ...sources.filter((s) => !s.name.match(/^(hooks|inventory|notify)\./) || !s.ok || s.warnings.length).map(sourceLine),
    ...reports.map((r) => `${r.target} (${r.type}): ${r.ok ? 'ok' : `FAILED${r.code ? ` [${r.code}]` : ''}: ${r.error}`}${r.details.length ? ` — ${r.details.join('; ')}` : ''}${r.warnings.map((w) => `\n  warning: ${w}`).join('')}`),
    ...(notifiers ?? []).map((n) => `${n.notifier}: ${n.ok ? 'test message sent' : `FAILED: ${n.error}`}`),
    ...(opts.notify && config.notify.length === 0 ? ['no notifiers configured (notify:)'] : []),
    failing.length ? `tonight's run would not succeed: ${failing.join(', ')}` : "tonight's run should succeed",
  ].join('\n');
  ctx.output(human, {
    config: { path: config.configPath, job: config.job, ok: true, warnings: config.warnings },
    sources,
    targets: reports,
    notifiers,
    ok: failing.length === 0 && (notifiers ?? []).every((n) => n.ok),
  });
  return failing.length === 0 && (notifiers ?? []).every((n) => n.ok) ? EXIT.OK : EXIT.FAILURE;
}

function sourceLine(s: SourceCheck): string {
  const head = `${s.name}: ${s.errors.length ? `FAILED: ${s.errors.join('; ')}` : s.unreadable.length ? 'NOT ALL READABLE (the run would exit 3)' : 'ok'}`;
  return [
    `${head}${s.details.length ? ` — ${s.details.join('; ')}` : ''}`,
    ...s.unreadable.map((u) => `  unreadable: ${u.path}: ${u.message}`),
    ...s.warnings.map((w) => `  warning: ${w}`),
  ].join('\n');
}
