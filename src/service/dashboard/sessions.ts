import { randomBytes } from 'node:crypto';

/** One signed-in browser. */
export interface Session {
  id: string;
  /** Sent back by the page in `X-CSRF-Token` on every state-changing request. */
  csrf: string;
  expires: Date;
}

/** Sessions kept at once; signing in beyond it ends the oldest. */
const MAX_SESSIONS = 1000;

const newSecret = () => randomBytes(32).toString('base64url');

/**
 * Dashboard sessions, in memory: a restart of the server signs everybody
 * out. A session lasts `ttlSeconds` from sign-in (it is not extended by
 * use) and ends earlier with `end`. `now` is injectable for tests of the
 * expiry rule.
 */
export class SessionStore {
  private readonly sessions = new Map<string, Session>();

  constructor(private readonly ttlSeconds: number, private readonly now: () => number = Date.now) {}

  get ttl(): number {
    return this.ttlSeconds;
  }

  create(): Session {
    this.sweep();
    while (this.sessions.size >= MAX_SESSIONS) this.sessions.delete(this.sessions.keys().next().value!);
    const session = { id: newSecret(), csrf: newSecret(), expires: new Date(this.now() + this.ttlSeconds * 1000) };
    this.sessions.set(session.id, session);
    return session;
  }

  /** The live session with this id, or undefined (unknown, ended or expired). */
  get(id: string | undefined): Session | undefined {
    if (!id) return undefined;
    const s = this.sessions.get(id);
    if (!s) return undefined;
    if (s.expires.getTime() <= this.now()) {
      this.sessions.delete(id);
      return undefined;
    }
    return s;
  }

  end(id: string): void {
    this.sessions.delete(id);
  }

  private sweep(): void {
    const now = this.now();
    for (const [id, s] of this.sessions) if (s.expires.getTime() <= now) this.sessions.delete(id);
  }
}
