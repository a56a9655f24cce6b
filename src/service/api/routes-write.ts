import { basename } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { sourceArchivePath } from '../../config/load.js';
import { describeError } from '../../errors.js';
import { decryptKeys } from '../../restore/keys.js';
import { checkArchiveName } from '../../restore/locate.js';
import { restoreArchive } from '../../restore/restore.js';
import { parseAt } from '../../restore/select.js';
import { applyPrune } from '../../retention/prune.js';
import { planFor } from '../../retention/run-prune.js';
import { acquireLock, type Lock } from '../../state/lock.js';
import { newestComplete, readCatalog } from '../../storage/catalog.js';
import { manifestKey } from '../../storage/layout.js';
import { indexKey } from '../../index/format.js';
import { selectTargetNames } from '../../storage/targets.js';
import { verifyArchive, type VerifyReport } from '../../restore/verify.js';
import { resolveUserPath } from '../../util/paths.js';
import { BadRequest, parseBody, pruneBody, restoreBody, runBody, verifyBody } from './bodies.js';
import { confineToRoot, openInsideRoot } from './restore-path.js';
import { archiveParam, withTarget, type ApiDeps } from './routes-read.js';

/** Endpoints that start or change something: runs, restore, prune, verify, delete. */
export function registerWriteRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const { config, log } = deps;

  app.post('/api/runs', async (req, reply) => {
    const body = parseBody(runBody, req.body);
    if (body.targets) selectTargetNames(config, body.targets);
    const { record, done } = await deps.runs.start({ trigger: 'api', description: body.description, targets: body.targets });
    void done.then(() => deps.metrics.invalidate());
    return reply.code(202).header('Location', `/api/runs/${record.id}`).send({ id: record.id, url: `/api/runs/${record.id}`, state: record.state });
  });

  app.post('/api/restore', async (req, reply) => {
    if (!config.api?.allow_restore) return reply.code(403).send({ error: 'restores through the API are disabled; set api.allow_restore: true and api.restore_root' });
    const body = parseBody(restoreBody, req.body);
    const root = resolveUserPath(config.configDir, config.api.restore_root!);
    let to: string;
    let only = body.only;
    if (body.source !== undefined) {
      const source = config.sources.find((s) => sourceArchivePath(s) === body.source);
      if (!source) throw new BadRequest(`no source is stored as "${body.source}"`);
      only = [body.source, `${body.source}/**`];
      if (body.in_place) {
        if (!('path' in source)) throw new BadRequest('in_place restores only work for path sources');
        const dir = resolveUserPath(config.configDir, source.path.replace(/\/+$/, ''));
        if (basename(dir) !== body.source) throw new BadRequest(`in_place needs the source's "as" (${body.source}) to equal its directory name (${basename(dir)})`);
        to = await confineToRoot(root, resolveUserPath(config.configDir, `${dir}/..`));
      } else {
        to = await confineToRoot(root, body.to!);
      }
    } else {
      to = await confineToRoot(root, body.to!);
    }
    const at = body.at ? parseAt(body.at) : undefined;
    // The destination is opened inside the root now and written only through that descriptor,
    // so swapping a directory under the root for a symlink later cannot redirect the restore.
    const dest = await openInsideRoot(root, to);
    // Messages name the destination as the user gave it, not the descriptor path.
    const named = (m: string) => m.split(dest.viaFd).join(dest.path);
    const restoreLog = { info: (m: string) => log.info(named(m)), warn: (m: string) => log.warn(named(m)), error: (m: string) => log.error(named(m)), debug: (m: string) => log.debug(named(m)) };
    try {
      const result = await restoreArchive(config, {
        which: body.archive, from: body.from, at, to: dest.viaFd, only, force: body.force || body.in_place,
        keys: decryptKeys(config, undefined), log: restoreLog, signal: deps.signal, beforeSwap: () => dest.recheck(),
      });
      return { ...result, to: dest.path };
    } catch (err) {
      if (err instanceof Error) err.message = named(err.message);
      throw err;
    } finally {
      await dest.close();
    }
  });

  // A real prune holds the job lock like a run (409 while a run holds it); a dry run takes none.
  app.post('/api/prune', async (req) => {
    const body = parseBody(pruneBody, req.body);
    const names = selectTargetNames(config, body.targets);
    const lock: Lock | undefined = body.dry_run ? undefined : await acquireLock(config.stateDir, config.job, log);
    try {
      return await pruneTargets(deps, names, body.dry_run);
    } finally {
      await lock?.release();
    }
  });

  app.post('/api/verify', async (req) => {
    const body = parseBody(verifyBody, req.body);
    if (body.archive !== 'latest') checkArchiveName(body.archive, config.job);
    const names: (string | undefined)[] = body.all ? selectTargetNames(config, undefined) : [body.target && selectTargetNames(config, [body.target])[0]];
    const reports: VerifyReport[] = [];
    for (const t of names) {
      try {
        reports.push(await verifyArchive(config, { which: body.archive, from: t }, { keys: decryptKeys(config, undefined), log, signal: deps.signal }));
      } catch (err) {
        reports.push({ target: t ?? '(any)', ok: false, error: describeError(err) });
      }
    }
    return { ok: reports.every((r) => r.ok), reports };
  });

  app.delete<{ Params: { target: string; name: string }; Querystring: { force?: string } }>('/api/archives/:target/:name', async (req, reply) => {
    const name = archiveParam(config, req.params.name);
    const out = await withTarget(deps, req.params.target, async (t) => {
      const c = await readCatalog(t.adapter, config.job, { signal: deps.signal });
      const found = [...c.complete, ...c.incomplete].find((a) => a.name === name);
      if (!found) return { status: 404, body: { error: `${name} is not on target ${t.name}` } };
      if (found.complete && newestComplete(c, new Date())?.name === name && req.query.force !== 'true') {
        return { status: 409, body: { error: `${name} is the newest complete archive on ${t.name}; add ?force=true to delete it` } };
      }
      // The archive goes first, then its index sidecar, and its manifest last, so no complete-looking half remains.
      await t.adapter.remove(name, { signal: deps.signal });
      await t.adapter.remove(indexKey(name), { signal: deps.signal });
      await t.adapter.remove(manifestKey(name), { signal: deps.signal });
      log.info(`api: deleted ${name} on ${t.name}`);
      return { status: 200, body: { deleted: name, target: t.name } };
    });
    deps.metrics.invalidate();
    return reply.code(out.status).send(out.body);
  });

}

/** Applies (or with `dryRun` only plans) retention on each named target; a target's failure is reported in its entry. */
async function pruneTargets(deps: ApiDeps, names: string[], dryRun: boolean) {
  const { config } = deps;
  const targets = await Promise.all(names.map((name) => withTarget(deps, name, async (t) => {
    const plan = await planFor(t, config, new Date(), deps.signal);
    const r = await applyPrune(t.adapter, config.job, plan, { dryRun, signal: deps.signal });
    return {
      target: name,
      plan: plan.decisions.map((d) => ({ name: d.name, action: d.action, reasons: d.reasons })),
      deleted: r.deleted,
      aborted_uploads: r.abortedUploads,
      warnings: r.warnings,
      errors: r.errors.map((e) => ({ name: e.name, error: e.error.message })),
    };
  }).catch((err: unknown) => ({ target: name, error: describeError(err) }))));
  deps.metrics.invalidate();
  return { dry_run: dryRun, targets };
}
