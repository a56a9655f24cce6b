import type { FastifyInstance } from 'fastify';
import { redact } from '../../config/redact.js';
import type { LoadedConfig } from '../../config/load.js';
import type { ApiConfig } from '../../config/service.js';
import type { Logger } from '../../log.js';
import { checkArchiveName } from '../../restore/locate.js';
import { nextScheduledRun } from '../schedule.js';
import { targetHistory } from '../../job/target-history.js';
import { readHistory, readLastRun } from '../../state/files.js';
import { listTarget } from '../../storage/catalog.js';
import { readManifest } from '../../storage/manifest-read.js';
import { closeTargets, selectTargetNames, type Target } from '../../storage/targets.js';
import { openTarget } from '../../../adapters/index.js';
import type { ServedJob, ServedJobs } from '../jobs.js';
import { liveLockHolder } from '../runs.js';

export interface ApiDeps {
  /** Every job served; a request picks one with `?job=` (needed when there are several). */
  jobs: ServedJobs;
  /** The `api:` settings every job shares (see `apiSettings`). */
  api: Partial<ApiConfig> | undefined;
  log: Logger;
  /** Aborted when the server shuts down. */
  signal: AbortSignal;
  metrics: { render(job?: string): Promise<string>; invalidate(): void };
  /** `api.base_path`: '' or '/prefix', for URLs in answers. */
  base: string;
}

/** The `?job=` every route accepts. */
export type JobQuery = { Querystring: { job?: string } };

/** Opens one target of `config` for the length of `fn`, and always closes it. */
export async function withTarget<T>(config: LoadedConfig, log: Logger, name: string, fn: (t: Target) => Promise<T>): Promise<T> {
  const [only] = selectTargetNames(config, [name]);
  const t = await openTarget(config, only!, log);
  try {
    return await fn(t);
  } finally {
    await closeTargets([t]);
  }
}

/** An archive name from a URL: it must be one of this job's archives (else a UsageError: 400). */
export function archiveParam(config: LoadedConfig, name: string): string {
  return checkArchiveName(name, config.job);
}

async function jobStatus({ config, runs }: ServedJob) {
  const [last, running, history] = await Promise.all([readLastRun(config.stateDir), liveLockHolder(config.stateDir), readHistory(config.stateDir)]);
  const next = nextScheduledRun(config.schedule, config.timezone);
  return {
    job: config.job,
    last_run: last ?? null,
    next_run: next?.toISOString() ?? null,
    running: running ?? null,
    current_run: runs.current?.id ?? null,
    targets: targetHistory(history, Object.keys(config.targets)),
  };
}

/**
 * Read-only endpoints: status, targets, archives, manifests, runs, metrics.
 * With one job they answer for it; with several, `?job=NAME` answers for
 * that one, and without it status and archives list every job under
 * `jobs`, targets and runs carry a `job` field, and /metrics has every
 * job's samples (each labelled `job`).
 */
export function registerReadRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const { jobs, log } = deps;

  app.get<JobQuery>('/api/status', async (req) => {
    if (req.query.job !== undefined || !jobs.several) return jobStatus(jobs.pick(req.query.job));
    return { jobs: await Promise.all(jobs.all.map(jobStatus)) };
  });

  app.get<JobQuery>('/api/targets', async (req) => ({
    targets: jobs.select(req.query.job).flatMap(({ config }) => Object.entries(config.targets).map(([name, t]) => {
      const { type, keep, timezone } = redact(t);
      return { job: config.job, name, type, keep, timezone, stale_after: t.stale_after ?? config.stale_after };
    })),
  }));

  app.get<{ Querystring: { target?: string; job?: string } }>('/api/archives', async (req) => {
    const listing = async ({ config }: ServedJob) => {
      const names = selectTargetNames(config, req.query.target ? [req.query.target] : undefined);
      const targets = await Promise.all(names.map((name) =>
        listTarget(name, config.job, (read) => withTarget(config, log, name, (t) => read(t.adapter)), { signal: deps.signal })));
      return { job: config.job, targets };
    };
    if (req.query.job !== undefined || !jobs.several) return listing(jobs.pick(req.query.job));
    return { jobs: await Promise.all(jobs.all.map(listing)) };
  });

  app.get<{ Params: { target: string; name: string } } & JobQuery>('/api/archives/:target/:name', async (req) => {
    const { config } = jobs.pick(req.query.job);
    const name = archiveParam(config, req.params.name);
    return withTarget(config, log, req.params.target, (t) => readManifest(t.adapter, name, deps.signal));
  });

  app.get<JobQuery>('/api/runs', async (req) => ({ runs: jobs.select(req.query.job).flatMap((j) => j.runs.list()) }));

  app.get<{ Params: { id: string } }>('/api/runs/:id', async (req, reply) => {
    const record = jobs.all.map((j) => j.runs.get(req.params.id)).find((r) => r !== undefined);
    if (!record) return reply.code(404).send({ error: `no run ${req.params.id} (runs are kept in memory; see /api/status for the last one)` });
    return record;
  });

  app.get<JobQuery>('/metrics', async (req, reply) => {
    if (req.query.job !== undefined) jobs.pick(req.query.job);
    reply.type('text/plain; version=0.0.4; charset=utf-8');
    return deps.metrics.render(req.query.job);
  });
}
