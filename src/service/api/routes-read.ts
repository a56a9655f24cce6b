import type { FastifyInstance } from 'fastify';
import { redact } from '../../config/redact.js';
import type { LoadedConfig } from '../../config/load.js';
import type { Logger } from '../../log.js';
import { checkArchiveName } from '../../restore/locate.js';
import { nextScheduledRun } from '../schedule.js';
import { targetHistory } from '../../job/target-history.js';
import { readHistory, readLastRun } from '../../state/files.js';
import { listTarget } from '../../storage/catalog.js';
import { readManifest } from '../../storage/manifest-read.js';
import { closeTargets, selectTargetNames, type Target } from '../../storage/targets.js';
import { openTarget } from '../../../adapters/index.js';
import type { RunManager } from '../runs.js';
import { liveLockHolder } from '../runs.js';

export interface ApiDeps {
  config: LoadedConfig;
  log: Logger;
  runs: RunManager;
  /** Aborted when the server shuts down. */
  signal: AbortSignal;
  metrics: { render(): Promise<string>; invalidate(): void };
  /** `api.base_path`: '' or '/prefix', for URLs in answers. */
  base: string;
}

/** Opens one target for the length of `fn`, and always closes it. */
export async function withTarget<T>(deps: ApiDeps, name: string, fn: (t: Target) => Promise<T>): Promise<T> {
  const [only] = selectTargetNames(deps.config, [name]);
  const t = await openTarget(deps.config, only!, deps.log);
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

/** Read-only endpoints: status, targets, archives, manifests, runs, metrics. */
export function registerReadRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const { config } = deps;

  app.get('/api/status', async () => {
    const [last, running, history] = await Promise.all([readLastRun(config.stateDir), liveLockHolder(config.stateDir), readHistory(config.stateDir)]);
    const next = nextScheduledRun(config.schedule, config.timezone);
    return {
      job: config.job,
      last_run: last ?? null,
      next_run: next?.toISOString() ?? null,
      running: running ?? null,
      current_run: deps.runs.current?.id ?? null,
      targets: targetHistory(history, Object.keys(config.targets)),
    };
  });

  app.get('/api/targets', async () => ({
    targets: Object.entries(config.targets).map(([name, t]) => {
      const { type, keep, timezone } = redact(t);
      return { name, type, keep, timezone, stale_after: t.stale_after ?? config.stale_after };
    }),
  }));

  app.get<{ Querystring: { target?: string } }>('/api/archives', async (req) => {
    const names = selectTargetNames(config, req.query.target ? [req.query.target] : undefined);
    const targets = await Promise.all(names.map((name) =>
      listTarget(name, config.job, (read) => withTarget(deps, name, (t) => read(t.adapter)), { signal: deps.signal })));
    return { job: config.job, targets };
  });

  app.get<{ Params: { target: string; name: string } }>('/api/archives/:target/:name', async (req) => {
    const name = archiveParam(config, req.params.name);
    return withTarget(deps, req.params.target, (t) => readManifest(t.adapter, name, deps.signal));
  });

  app.get('/api/runs', async () => ({ runs: deps.runs.list() }));

  app.get<{ Params: { id: string } }>('/api/runs/:id', async (req, reply) => {
    const record = deps.runs.get(req.params.id);
    if (!record) return reply.code(404).send({ error: `no run ${req.params.id} (runs are kept in memory; see /api/status for the last one)` });
    return record;
  });

  app.get('/metrics', async (_req, reply) => {
    reply.type('text/plain; version=0.0.4; charset=utf-8');
    return deps.metrics.render();
  });
}
