import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import type { LoadedConfig } from '../../config/load.js';
import { ArchiveNotFoundError, FerryError, LockHeldError, UsageError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { isStorageError } from '../../storage/errors.js';
import { redactUrlsIn } from '../../util/redact-url.js';
import { FERRY_VERSION } from '../../version.js';
import { metricsCollector } from '../metrics.js';
import { liveLockHolder, RunInProgressError, type RunManager } from '../runs.js';
import { ForbiddenPath } from './restore-path.js';
import { authorized, parseListen, requiredToken } from './auth.js';
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
 * Every route except `GET /api/health` needs `Authorization: Bearer <token>`.
 * Errors map to status codes in `statusFor`; the message never holds a secret.
 */
export async function startApiServer(config: LoadedConfig, options: { listen: string; runs: RunManager; log: Logger }): Promise<ApiServer> {
  const { host, port } = parseListen(options.listen);
  const token = requiredToken(config.api, host);
  if (!token) options.log.warn(`the API on ${options.listen} has no authentication (api.insecure_no_auth)`);
  const controller = new AbortController();
  const app = Fastify({ logger: false, bodyLimit: 64 * 1024 });
  const metrics = metricsCollector(config, options.log, async () => options.runs.current !== undefined || (await liveLockHolder(config.stateDir)) !== undefined);

  app.addHook('onRequest', async (req, reply) => {
    if (req.url === '/api/health' || token === undefined) return;
    if (!authorized(req.headers.authorization, token)) {
      return reply.code(401).header('WWW-Authenticate', 'Bearer realm="ferry"').send({ error: 'missing or wrong bearer token' });
    }
  });
  app.addHook('onResponse', async (req, reply) => {
    options.log.debug(`api: ${req.method} ${req.url.split('?')[0]} ${reply.statusCode}`);
  });
  app.setErrorHandler((err: FastifyError & { statusCode?: number }, _req, reply) => {
    const status = statusFor(err);
    const message = redactUrlsIn(err.message);
    if (status >= 500) options.log.error(`api: ${message}`);
    void reply.code(status).send({ error: message });
  });

  app.get('/api/health', async () => ({ ok: true, version: FERRY_VERSION, job: config.job }));
  const deps = { config, log: options.log, runs: options.runs, signal: controller.signal, metrics };
  registerReadRoutes(app, deps);
  registerWriteRoutes(app, deps);
  registerIndexRoutes(app, deps);

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

/**
 * The one place errors become HTTP statuses: bad input or a usage problem
 * 400, a restore path outside the root 403, a missing archive 404, the lock
 * or a run in progress 409; fastify's own errors (malformed JSON, a body too
 * large) keep theirs; everything else 500.
 */
function statusFor(err: FastifyError & { statusCode?: number }): number {
  if (err instanceof UsageError) return 400;
  if (err instanceof ForbiddenPath) return 403;
  if (err instanceof ArchiveNotFoundError || isStorageError(err, 'NOT_FOUND')) return 404;
  if (err instanceof LockHeldError || err instanceof RunInProgressError) return 409;
  if (err instanceof FerryError) return 500;
  if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 600) return err.statusCode;
  return 500;
}
