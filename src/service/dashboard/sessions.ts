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

/**
 * Counts wrong sign-in tokens per client address: after `limit` failures
 * within `windowSeconds`, that address is refused (429) until the window
 * has passed, so the token cannot be guessed at network speed.
 */
export class SignInThrottle {
  private readonly failures = new Map<string, { count: number; since: number }>();

  constructor(private readonly limit = 10, private readonly windowSeconds = 60, private readonly now: () => number = Date.now) {}

  /** True while `client` may not try again. */
  blocked(client: string): boolean {
    const f = this.failures.get(client);
    if (!f) return false;
    if (this.now() - f.since >= this.windowSeconds * 1000) {
      this.failures.delete(client);
      return false;
    }
    return f.count >= this.limit;
  }

  fail(client: string): void {
    const f = this.failures.get(client);
    if (f && this.now() - f.since < this.windowSeconds * 1000) f.count++;
    else this.failures.set(client, { count: 1, since: this.now() });
    if (this.failures.size > 10_000) this.failures.delete(this.failures.keys().next().value!);
  }
}
