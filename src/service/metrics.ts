import type { LoadedConfig } from '../config/load.js';
import type { Logger } from '../log.js';
import { readHistory } from '../state/files.js';
import type { RunResult } from '../state/types.js';
import { readCatalog } from '../storage/catalog.js';
import { closeTargets } from '../storage/targets.js';
import { openTarget } from '../../adapters/index.js';

/** One metric family in the Prometheus text exposition format (version 0.0.4). */
export interface MetricFamily {
  name: string;
  help: string;
  type: 'gauge' | 'counter';
  samples: { labels: Record<string, string>; value: number }[];
}

const escapeLabel = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');

/** Renders families as Prometheus text: HELP and TYPE lines, then one line per sample. */
export function renderMetrics(families: MetricFamily[]): string {
  const lines: string[] = [];
  for (const f of families) {
    lines.push(`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} ${f.type}`);
    for (const s of f.samples) {
      const labels = Object.entries(s.labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',');
      lines.push(`${f.name}${labels ? `{${labels}}` : ''} ${Number.isFinite(s.value) ? s.value : 'NaN'}`);
    }
  }
  return lines.join('\n') + '\n';
}

/**
 * Metric families computed from `history.jsonl` (every run, whoever started
 * it) and, when given, the number of complete archives per target. Targets
 * that never ran have no per-target samples; dry runs are not counted.
 */
export function runMetrics(job: string, history: RunResult[], targetNames: string[], archives: Record<string, number | undefined>, running: boolean): MetricFamily[] {
  const runs = history.filter((r) => !r.dryRun);
  const last = runs.at(-1);
  const byResult = { success: 0, partial: 0, failure: 0 };
  for (const r of runs) byResult[r.status]++;
  const lastSuccess: MetricFamily['samples'] = [];
  const lastStatus: MetricFamily['samples'] = [];
  const pushDuration: MetricFamily['samples'] = [];
  const skipped: MetricFamily['samples'] = [];
  for (const target of targetNames) {
    const all = runs.map((r) => r.targets.find((t) => t.target === target)).filter((t) => t !== undefined);
    if (all.length) skipped.push({ labels: { job, target }, value: all.at(-1)!.status === 'skipped' ? 1 : 0 });
    const mine = all.filter((t) => t.status !== 'skipped');
    const lastOk = runs.filter((r) => r.targets.some((t) => t.target === target && t.status === 'success')).at(-1);
    if (lastOk) lastSuccess.push({ labels: { job, target }, value: Math.floor(Date.parse(lastOk.ended) / 1000) });
    const lastT = mine.at(-1);
    if (lastT) {
      lastStatus.push({ labels: { job, target }, value: lastT.status === 'success' ? 1 : 0 });
      pushDuration.push({ labels: { job, target }, value: lastT.durationMs / 1000 });
    }
  }
  const families: MetricFamily[] = [
    { name: 'ferry_runs_total', help: 'Runs recorded in history.jsonl, by result.', type: 'counter',
      samples: Object.entries(byResult).map(([result, value]) => ({ labels: { job, result }, value })) },
    { name: 'ferry_run_in_progress', help: '1 while a run of the job holds its lock.', type: 'gauge', samples: [{ labels: { job }, value: running ? 1 : 0 }] },
    { name: 'ferry_target_last_success_timestamp_seconds', help: 'End of the last run that stored an archive on the target (Unix time).', type: 'gauge', samples: lastSuccess },
    { name: 'ferry_target_last_status', help: 'Outcome of the last push to the target (runs that skipped it aside): 1 success, 0 failure.', type: 'gauge', samples: lastStatus },
    { name: 'ferry_target_skipped', help: 'Whether the last run skipped the target (an optional drive that was not mounted): 1 skipped, 0 tried.', type: 'gauge', samples: skipped },
    { name: 'ferry_target_last_push_duration_seconds', help: 'Duration of the last push to the target.', type: 'gauge', samples: pushDuration },
    { name: 'ferry_target_archives', help: 'Complete archives of the job on the target.', type: 'gauge',
      samples: targetNames.filter((t) => archives[t] !== undefined).map((target) => ({ labels: { job, target }, value: archives[target]! })) },
  ];
  if (last) {
    families.push(
      { name: 'ferry_last_run_timestamp_seconds', help: 'End of the last run (Unix time).', type: 'gauge', samples: [{ labels: { job }, value: Math.floor(Date.parse(last.ended) / 1000) }] },
      { name: 'ferry_last_run_duration_seconds', help: 'Duration of the last run.', type: 'gauge', samples: [{ labels: { job }, value: (Date.parse(last.ended) - Date.parse(last.started)) / 1000 }] },
      { name: 'ferry_last_run_success', help: 'Outcome of the last run: 1 success, 0 partial or failure.', type: 'gauge', samples: [{ labels: { job }, value: last.status === 'success' ? 1 : 0 }] },
      { name: 'ferry_last_run_unreadable_files', help: 'Source files the last run could not read (not stored).', type: 'gauge', samples: [{ labels: { job }, value: last.attention?.unreadable.length ?? 0 }] },
      { name: 'ferry_target_last_prune_failed', help: 'Whether the prune after the last run\'s push to the target failed: 1 failed, 0 ran or was not due.', type: 'gauge',
        samples: last.targets.filter((t) => t.status === 'success').map((t) => ({ labels: { job, target: t.target }, value: t.pruneError !== undefined ? 1 : 0 })) },
    );
    if (last.size !== undefined) {
      families.push({ name: 'ferry_last_archive_bytes', help: 'Size of the archive the last run made.', type: 'gauge', samples: [{ labels: { job }, value: last.size }] });
    }
  }
  return families;
}

const CATALOG_TTL_MS = 60_000;

/**
 * Builds the `/metrics` text. Target listings are cached for a minute so
 * frequent scrapes do not hammer remote targets; a target that cannot be
 * listed simply has no `ferry_target_archives` sample.
 */
export function metricsCollector(config: LoadedConfig, log: Logger, isRunning: () => Promise<boolean>) {
  let cached: { at: number; counts: Record<string, number | undefined> } | undefined;
  const counts = async (): Promise<Record<string, number | undefined>> => {
    if (cached && Date.now() - cached.at < CATALOG_TTL_MS) return cached.counts;
    const out: Record<string, number | undefined> = {};
    await Promise.all(Object.keys(config.targets).map(async (name) => {
      try {
        const t = await openTarget(config, name, log);
        try {
          out[name] = (await readCatalog(t.adapter, config.job, { signal: AbortSignal.timeout(15_000) })).complete.length;
        } finally {
          await closeTargets([t]);
        }
      } catch (err) {
        log.debug(`metrics: ${name}: ${(err as Error).message}`);
      }
    }));
    cached = { at: Date.now(), counts: out };
    return out;
  };
  return {
    /** Forget cached listings (after a run or a delete). */
    invalidate: () => { cached = undefined; },
    async render(): Promise<string> {
      const [history, archives, running] = await Promise.all([readHistory(config.stateDir), counts(), isRunning()]);
      return renderMetrics(runMetrics(config.job, history, Object.keys(config.targets), archives, running));
    },
  };
}
