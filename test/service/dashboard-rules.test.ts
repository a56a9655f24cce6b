import { describe, expect, it } from 'vitest';
import { fromSameOrigin } from '../../src/service/dashboard/gate.js';
import { SessionStore, SignInThrottle } from '../../src/service/dashboard/sessions.js';
import { targetHealth } from '../../web/health.js';

describe('dashboard rules', () => {
  it.each<[{ origin?: string; 'sec-fetch-site'?: string }, boolean, string]>([
    [{}, true, 'a script (no Origin, no Sec-Fetch-Site)'],
    [{ origin: 'http://ferry.lan:8787', 'sec-fetch-site': 'same-origin' }, true, 'the page itself'],
    [{ 'sec-fetch-site': 'none' }, true, 'typed by the user'],
    [{ origin: 'http://evil.example', 'sec-fetch-site': 'cross-site' }, false, 'another site'],
    [{ 'sec-fetch-site': 'same-site' }, false, 'a sibling subdomain'],
    [{ origin: 'http://ferry.lan:9999' }, false, 'another port'],
    [{ origin: 'null' }, false, 'an opaque origin (sandboxed frame, file:)'],
  ])('a state-changing request %j passes the origin check: %s (%s)', (headers, ok) => {
    expect(fromSameOrigin(headers, 'ferry.lan:8787')).toBe(ok);
  });

  it('a session lasts session_ttl from sign-in, not longer, and sign out ends it at once', () => {
    let now = 1_000_000;
    const store = new SessionStore(60, () => now);
    const a = store.create();
    const b = store.create();
    expect(a.id).not.toBe(b.id);
    expect(a.csrf).not.toBe(a.id);
    now += 59_999;
    expect(store.get(a.id)).toBe(a);
    now += 1;
    expect(store.get(a.id)).toBeUndefined();
    store.end(b.id);
    expect(store.get(b.id)).toBeUndefined();
    expect(store.get(undefined)).toBeUndefined();
  });

  const hour = 3600_000;
  const now = Date.parse('2026-12-02T12:00:00Z');
  it.each([
    [{ newest: now - hour }, 'ok', 'up to date'],
    [{ newest: now - 27 * hour }, 'stale', 'older than stale_after'],
    [{}, 'stale', 'no archive yet'],
    [{ newest: now - hour, lastPush: { status: 'failure' as const, error: 'NOT_MOUNTED' } }, 'failing', 'the last push failed: NOT_MOUNTED'],
    [{ newest: now - hour, listingError: 'AUTH: access denied' }, 'failing', 'cannot be read: AUTH: access denied'],
    [{ newest: now - 27 * hour, lastPush: { status: 'success' as const } }, 'stale', 'older than stale_after'],
    [{ newest: now - hour, lastPush: { status: 'skipped' as const, reason: 'the drive is not mounted' } }, 'ok', 'skipped it: the drive is not mounted'],
    [{ newest: now - 27 * hour, lastPush: { status: 'skipped' as const } }, 'stale', 'older than stale_after'],
  ])('a target with %j is %s', (input, health, reason) => {
    const r = targetHealth({ staleAfterSeconds: 26 * 3600, now, ...input });
    expect(r.health).toBe(health);
    expect(r.reason).toContain(reason);
  });

  it('ten wrong tokens from one address within a minute block that address until the minute has passed', () => {
    let now = 0;
    const t = new SignInThrottle(10, 60, () => now);
    for (let i = 0; i < 9; i++) t.fail('10.0.0.1');
    expect(t.blocked('10.0.0.1')).toBe(false);
    t.fail('10.0.0.1');
    expect(t.blocked('10.0.0.1')).toBe(true);
    expect(t.blocked('10.0.0.2')).toBe(false);
    now += 60_000;
    expect(t.blocked('10.0.0.1')).toBe(false);
  });
});
