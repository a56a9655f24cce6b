import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { authorized } from '../api/auth.js';
import type { Session, SessionStore } from './sessions.js';

export const SESSION_COOKIE = 'ferry_session';
export const CSRF_HEADER = 'x-csrf-token';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * True when a state-changing browser request comes from the page itself:
 * `Sec-Fetch-Site`, when the browser sends it, must say same-origin (or
 * none: typed by the user), and `Origin`, when present, must name the host
 * the request was sent to. Scripts (curl) send neither and pass; they are
 * held by the token instead.
 */
export function fromSameOrigin(headers: { origin?: string; 'sec-fetch-site'?: string }, host: string): boolean {
  const site = headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return false;
  const origin = headers.origin;
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}

/** Compares two secrets in constant time (through the bearer-token comparison). */
const sameSecret = (given: string | undefined, expected: string) => authorized(given === undefined ? undefined : `Bearer ${given}`, expected);

export interface GateOptions {
  /** `api.base_path`: '' or '/prefix'. */
  base: string;
  /** The API token; undefined when the API runs without authentication. */
  token: string | undefined;
  sessions: SessionStore;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The dashboard session that authorised this request, if it came from a signed-in browser. */
    session?: Session;
  }
}

/**
 * Admits each request, before routing:
 * - public: `api/health`, the sign-in page, the hashed assets, and
 *   `POST api/session` (which checks the token itself);
 * - `Authorization: Bearer <token>` (scripts), compared in constant time; no CSRF check, as no browser sends it on its own;
 * - a live session cookie; a state-changing request must then come from
 *   the same origin and carry the session's CSRF token in `X-CSRF-Token`
 *   (else 403);
 * - anything else: a page the browser navigates to is redirected to sign-in (303), any other request gets 401.
 * A state-changing request from another origin is refused (403) even when the API runs without authentication.
 */
export function installGate(app: FastifyInstance, { base, token, sessions }: GateOptions): void {
  const publicPages = new Set([`${base}/api/health`, `${base}/sign-in`, ...(base ? [base] : [])]);
  app.addHook('onRequest', async (req, reply) => {
    const path = req.url.split('?')[0]!;
    const unsafe = !SAFE_METHODS.has(req.method);
    if (unsafe && !req.headers.authorization && !fromSameOrigin(req.headers, req.host)) {
      return reply.code(403).send({ error: 'cross-site request refused' });
    }
    if (token === undefined) return;
    if (req.headers.authorization !== undefined) {
      if (authorized(req.headers.authorization, token)) return;
      return refuse(req, reply, base);
    }
    if (!unsafe && (publicPages.has(path) || path.startsWith(`${base}/assets/`))) return;
    if (path === `${base}/api/session` && req.method === 'POST') return;
    const session = sessions.get(req.cookies[SESSION_COOKIE]);
    if (!session) return refuse(req, reply, base);
    if (unsafe) {
      const given = req.headers[CSRF_HEADER];
      if (typeof given !== 'string' || !sameSecret(given, session.csrf)) {
        return reply.code(403).send({ error: 'missing or wrong CSRF token; reload the page' });
      }
    }
    req.session = session;
  });
}

function refuse(req: FastifyRequest, reply: FastifyReply, base: string) {
  if (req.method === 'GET' && /\btext\/html\b/.test(req.headers.accept ?? '')) {
    return reply.code(303).header('Location', `${base}/sign-in`).header('Cache-Control', 'no-store').send();
  }
  return reply.code(401).header('WWW-Authenticate', 'Bearer realm="ferry"').send({ error: 'missing or wrong bearer token, or no dashboard session' });
}
