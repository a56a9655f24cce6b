import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import { ArchiveNotFoundError, FerryError, LockHeldError, UsageError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { isStorageError } from '../../storage/errors.js';
import { redactUrlsIn } from '../../util/redact-url.js';
import { FERRY_VERSION } from '../../version.js';
import { EXIT, exitCodeOf } from '../../exit-codes.js';
import { toDocument } from '../../util/json-document.js';
import { apiSettings, UnknownJobError, type ServedJobs } from '../jobs.js';
import { jobsMetrics } from '../metrics.js';
import { RunInProgressError } from '../runs.js';
import { ForbiddenPath } from './restore-path.js';
import { parseListen, requiredToken } from './auth.js';
import cookie from '@fastify/cookie';
import { installGate } from '../dashboard/gate.js';
import { registerDashboard } from '../dashboard/routes.js';
import { SessionStore } from '../dashboard/sessions.js';
import { registerReadRoutes } from './routes-read.js';
import { registerWriteRoutes } from './routes-write.js';
import { registerIndexRoutes } from './routes-index.js';

export interface ApiServer {
  app: FastifyInstance;
  /** The address it listens on, e.g. `127.0.0.1:8787`. */
  address: string;
  close(): Promise<void>;
}

/**
 * Starts the REST API on `listen` (HOST:PORT). Refuses to start (UsageError)
 * without a token unless bound to loopback with `api.insecure_no_auth`.
 * Every route except `GET /api/health` and the dashboard's sign-in needs
 * `Authorization: Bearer <token>` or a dashboard session (see `installGate`).
 * Every URL lies under `api.base_path`.
 * Errors map to status codes in `statusFor`; the message never holds a secret.
 */
export async function startApiServer(jobs: ServedJobs, options: { listen: string; log: Logger }): Promise<ApiServer> {
  const { host, port } = parseListen(options.listen);
  const api = apiSettings(jobs.all.map((j) => j.config));
  const token = requiredToken(api, host);
  if (!token) options.log.warn(`the API on ${options.listen} has no authentication (api.insecure_no_auth)`);
  const controller = new AbortController();
  const app = Fastify({ logger: false, bodyLimit: 64 * 1024, trustProxy: api?.trust_proxy ?? false });
  const base = api?.base_path ?? '';
  const sessions = new SessionStore(api?.session_ttl ?? 12 * 3600);
  const metrics = jobsMetrics(jobs, options.log);

  await app.register(cookie);
  installGate(app, { base, token, sessions });
  app.addHook('onResponse', async (req, reply) => {
    options.log.debug(`api: ${req.method} ${req.url.split('?')[0]} ${reply.statusCode}`);
  });
  app.setErrorHandler((err: FastifyError & { statusCode?: number }, _req, reply) => {
    const status = statusFor(err);
    const message = redactUrlsIn(err.message);
    if (status >= 500) options.log.error(`api: ${message}`);
    void reply.code(status).send({ error: message, exit_code: exitCodeOf(err) });
  });
  // Every JSON answer is a document: snake_case keys, format_version, exit_code (0 unless the route or an error says otherwise).
  app.addHook('preSerialization', async (_req, reply, payload) =>
    payload !== null && typeof payload === 'object' && !Array.isArray(payload) ? toDocument(payload, ownExitCode(payload) ?? (reply.statusCode >= 400 ? EXIT.FAILURE : EXIT.OK)) : payload);

  const deps = { jobs, api, log: options.log, signal: controller.signal, metrics, base };
  await app.register(async (scope) => {
    scope.get('/api/health', async () => ({ ok: true, version: FERRY_VERSION, job: jobs.all[0]!.config.job, jobs: jobs.all.map((j) => j.config.job) }));
    registerReadRoutes(scope, deps);
    registerWriteRoutes(scope, deps);
    registerIndexRoutes(scope, deps);
  }, { prefix: base });
  // The dashboard shows the first job of a directory (one job per served config is the common case).
  await registerDashboard(app, { config: jobs.all[0]!.config, base, token, sessions });

  try {
    await app.listen({ host, port });
  } catch (err) {
    throw new FerryError(`cannot listen on ${options.listen}: ${(err as Error).message}`, { cause: err });
  }
  const addr = app.server.address();
  const address = addr && typeof addr === 'object' ? `${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}` : options.listen;
  options.log.info(`API listening on http://${address}`);
  return {
    app,
    address,
    async close() {
      controller.abort(new Error('server stopping'));
      await app.close();
    },
  };
}

/** A document's own `exit_code`: a number, null (a run still running), or undefined when it has none. */
function ownExitCode(payload: object): number | null | undefined {
  const v = (payload as { exit_code?: unknown }).exit_code;
  return typeof v === 'number' || v === null ? v : undefined;
}

/**
 * The one place errors become HTTP statuses: bad input or a usage problem
 * 400, a restore path outside the root 403, a missing archive 404, the lock
 * or a run in progress 409; fastify's own errors (malformed JSON, a body too
 * large) keep theirs; everything else 500.
 */
function statusFor(err: FastifyError & { statusCode?: number }): number {
  if (err instanceof UnknownJobError || err instanceof UsageError) return 400;
  if (err instanceof ForbiddenPath) return 403;
  if (err instanceof ArchiveNotFoundError || isStorageError(err, 'NOT_FOUND')) return 404;
  if (err instanceof LockHeldError || err instanceof RunInProgressError) return 409;
  if (err instanceof FerryError) return 500;
  if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 600) return err.statusCode;
  return 500;
}
