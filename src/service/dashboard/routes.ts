import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import type { LoadedConfig } from '../../config/load.js';
import { resolveUserPath } from '../../util/paths.js';
import { authorized } from '../api/auth.js';
import { parseBody } from '../api/bodies.js';
import { CSP, loadAssets, pageHtml, sendAsset } from './assets.js';
import { SESSION_COOKIE } from './gate.js';
import { SignInThrottle, type SessionStore } from './sessions.js';

const signInBody = z.strictObject({ token: z.string().min(1).max(4096) });

/**
 * The dashboard's routes inside the base path: the page (`/` and
 * `/sign-in`), its hashed assets, and the session (`POST api/session` signs
 * in with the API token, `GET` describes it, `DELETE` signs out). Security
 * headers go on every answer of the server.
 */
export async function registerDashboard(app: FastifyInstance, opts: { config: LoadedConfig; base: string; token: string | undefined; sessions: SessionStore }): Promise<void> {
  const { config, base, token, sessions } = opts;
  const assets = await loadAssets();
  const cookiePath = `${base}/`;
  const throttle = new SignInThrottle();

  app.addHook('onSend', async (_req, reply) => {
    reply.header('Content-Security-Policy', CSP);
    reply.header('X-Content-Type-Options', 'nosniff');
    reply.header('Referrer-Policy', 'no-referrer');
    reply.header('X-Frame-Options', 'DENY');
    if (!reply.hasHeader('Cache-Control')) reply.header('Cache-Control', 'no-store');
  });

  const page = (_req: unknown, reply: FastifyReply) => {
    if (!assets) return reply.code(503).type('text/plain; charset=utf-8').send('the dashboard was not built: run npm run build');
    return reply.type('text/html; charset=utf-8').send(pageHtml(assets, config.job));
  };
  if (base) app.get(base, (_req, reply) => reply.redirect(`${base}/`, 308));
  app.get(`${base}/`, page);
  app.get(`${base}/sign-in`, page);
  app.get<{ Params: { file: string } }>(`${base}/assets/:file`, (req, reply) => {
    if (!assets) return reply.code(404).send({ error: 'the dashboard was not built' });
    return sendAsset(assets, req.params.file, req, reply);
  });

  app.post(`${base}/api/session`, async (req, reply) => {
    const body = parseBody(signInBody, req.body);
    if (token === undefined) return reply.code(400).send({ error: 'this server runs without authentication; there is nothing to sign in to' });
    if (throttle.blocked(req.ip)) return reply.code(429).header('Retry-After', '60').send({ error: 'too many wrong tokens; try again in a minute' });
    if (!authorized(`Bearer ${body.token}`, token)) {
      throttle.fail(req.ip);
      return reply.code(401).send({ error: 'wrong token' });
    }
    const session = sessions.create();
    reply.setCookie(SESSION_COOKIE, session.id, {
      path: cookiePath, httpOnly: true, sameSite: 'strict', secure: req.protocol === 'https', maxAge: sessions.ttl,
    });
    return { csrf: session.csrf, expires: session.expires.toISOString() };
  });

  app.get(`${base}/api/session`, async (req) => {
    const api = config.api;
    return {
      job: config.job,
      auth: token === undefined ? 'none' : req.session ? 'session' : 'bearer',
      csrf: req.session?.csrf ?? null,
      expires: req.session?.expires.toISOString() ?? null,
      restore: { allowed: api?.allow_restore === true, root: api?.allow_restore && api.restore_root ? resolveUserPath(config.configDir, api.restore_root) : null },
    };
  });

  app.delete(`${base}/api/session`, async (req, reply) => {
    if (req.session) sessions.end(req.session.id);
    reply.clearCookie(SESSION_COOKIE, { path: cookiePath, httpOnly: true, sameSite: 'strict', secure: req.protocol === 'https' });
    return reply.code(204).send();
  });
}
