import { describe, expect, it } from 'vitest';
import type { KeepPolicy } from '../../src/config/keep.js';
import { planRetention, type PlanArchive, type RetentionDecision } from '../../src/retention/plan.js';
import { archiveName } from '../../src/storage/layout.js';

const JOB = 'mss';
const NOW = new Date('2026-11-20T12:00:00Z');

function archive(iso: string, complete = true): PlanArchive {
  const created = new Date(iso);
  return { name: archiveName(JOB, created, false), created, complete };
}

/** One complete archive per day at 03:15 UTC, from `first` to `last` inclusive. */
function daily(first: string, last: string): PlanArchive[] {
  const out: PlanArchive[] = [];
  for (let t = Date.parse(`${first}T03:15:00Z`); t <= Date.parse(`${last}T03:15:00Z`); t += 86_400_000) {
    out.push(archive(new Date(t).toISOString()));
  }
  return out;
}

function plan(archives: PlanArchive[], policy: KeepPolicy, timezone = 'UTC', now = NOW): RetentionDecision[] {
  return planRetention(archives, policy, { job: JOB, now, timezone });
}

const keptDays = (decisions: RetentionDecision[]) =>
  decisions.filter((d) => d.action === 'keep').map((d) => d.created.toISOString().slice(0, 10));
const keptTimes = (decisions: RetentionDecision[]) =>
  decisions.filter((d) => d.action === 'keep').map((d) => d.created.toISOString().slice(0, 16));
const byDay = (decisions: RetentionDecision[], day: string) => decisions.find((d) => d.created.toISOString().startsWith(day))!;

describe('retention plan', () => {
  const year = daily('2025-11-21', '2026-11-20');
  const monthEnds = ['2026-10-31', '2026-09-30', '2026-08-31', '2026-07-31', '2026-06-30', '2026-05-31', '2026-04-30', '2026-03-31', '2026-02-28', '2026-01-31', '2025-12-31'];
  const lastWeek = ['2026-11-20', '2026-11-19', '2026-11-18', '2026-11-17', '2026-11-16', '2026-11-15', '2026-11-14'];

  it.each<{ rule: string; archives: PlanArchive[]; policy: KeepPolicy; tz?: string; kept: string[] }>([
    { rule: 'keep: 3 keeps the newest 3', archives: daily('2026-11-01', '2026-11-10'), policy: 3, kept: ['2026-11-10', '2026-11-09', '2026-11-08'] },
    { rule: 'keep: N larger than the count keeps everything', archives: daily('2026-11-01', '2026-11-03'), policy: 7, kept: ['2026-11-03', '2026-11-02', '2026-11-01'] },
    { rule: 'last: 2 matches keep: 2', archives: daily('2026-11-01', '2026-11-10'), policy: { last: 2 }, kept: ['2026-11-10', '2026-11-09'] },
    { rule: 'daily 7 + weekly 4 + monthly 12 over a year of daily archives keeps 20', archives: year, policy: { daily: 7, weekly: 4, monthly: 12 }, kept: [...lastWeek, '2026-11-08', '2026-11-01', ...monthEnds] },
    { rule: 'a yearly rule with count left also keeps the oldest archive', archives: year, policy: { daily: 7, weekly: 4, monthly: 12, yearly: 3 }, kept: [...lastWeek, '2026-11-08', '2026-11-01', ...monthEnds, '2025-11-21'] },
    { rule: 'weekly 3 keeps the last archive of each ISO week (Sunday)', archives: daily('2026-10-20', '2026-11-20'), policy: { weekly: 3 }, kept: ['2026-11-20', '2026-11-15', '2026-11-08'] },
    { rule: 'monthly counts only months that have an archive', archives: [...daily('2026-01-10', '2026-01-12'), ...daily('2026-06-01', '2026-06-02'), ...daily('2026-11-19', '2026-11-20')], policy: { monthly: 2 }, kept: ['2026-11-20', '2026-06-02'] },
    { rule: 'yearly 1 over a year keeps only the newest', archives: year, policy: { yearly: 1 }, kept: ['2026-11-20'] },
  ])('$rule', ({ archives, policy, tz, kept }) => {
    const decisions = plan(archives, policy, tz);
    expect(keptDays(decisions)).toEqual(kept);
    expect(decisions).toHaveLength(archives.length);
  });

  it('lists every rule that keeps an archive', () => {
    const decisions = plan(year, { daily: 7, weekly: 4, monthly: 12, yearly: 3 });
    expect(byDay(decisions, '2026-11-20').reasons).toEqual(['newest complete archive', 'daily 2026-11-20', 'weekly 2026-W47', 'monthly 2026-11', 'yearly 2026']);
    expect(byDay(decisions, '2026-11-15').reasons).toEqual(['daily 2026-11-15', 'weekly 2026-W46']);
    expect(byDay(decisions, '2025-12-31').reasons).toEqual(['monthly 2025-12', 'yearly 2025']);
    expect(byDay(decisions, '2025-11-21').reasons).toEqual(['oldest yearly 2025']);
    expect(byDay(decisions, '2026-11-10')).toMatchObject({ action: 'delete', reasons: ['beyond every keep rule'] });
  });

  it('keep: N gives each kept archive the rule as its reason', () => {
    const decisions = plan(daily('2026-11-01', '2026-11-05'), 2);
    expect(decisions.map((d) => [d.action, d.reasons])).toEqual([
      ['keep', ['newest complete archive', 'last 2']],
      ['keep', ['last 2']],
      ['delete', ['beyond every keep rule']],
      ['delete', ['beyond every keep rule']],
      ['delete', ['beyond every keep rule']],
    ]);
  });

  it('decisions come newest first, incomplete archives in between', () => {
    const archives = [archive('2026-11-18T03:00:00Z'), archive('2026-11-20T03:00:00Z'), archive('2026-11-19T03:00:00Z', false)];
    expect(plan(archives, 5).map((d) => d.created.toISOString().slice(0, 10))).toEqual(['2026-11-20', '2026-11-19', '2026-11-18']);
  });

  describe('hourly', () => {
    const archives = ['10:05', '10:35', '11:05', '11:35', '12:05'].map((t) => archive(`2026-11-20T${t}:00Z`));

    it('keeps only the newest archive of each hour', () => {
      const decisions = plan(archives, { hourly: 2 });
      expect(keptTimes(decisions)).toEqual(['2026-11-20T12:05', '2026-11-20T11:35']);
      expect(decisions[1]!.reasons).toEqual(['hourly 2026-11-20 11:00']);
    });

    it('with count left, keeps one per hour plus the oldest archive, as restic does', () => {
      const decisions = plan(archives, { hourly: 24 });
      expect(keptTimes(decisions)).toEqual(['2026-11-20T12:05', '2026-11-20T11:35', '2026-11-20T10:35', '2026-11-20T10:05']);
      expect(decisions.map((d) => d.action)).toEqual(['keep', 'keep', 'delete', 'keep', 'keep']);
      expect(decisions[4]!.reasons).toEqual(['oldest hourly 2026-11-20 10:00']);
    });
  });

  describe('time zones', () => {
    const archives = ['2026-11-19T12:00:00Z', '2026-11-20T06:00:00Z', '2026-11-20T12:00:00Z', '2026-11-20T23:30:00Z'].map((t) => archive(t));
    const later = new Date('2026-11-21T00:00:00Z');

    it('an archive at 23:30 UTC belongs to the next day in Europe/Berlin', () => {
      const berlin = plan(archives, { daily: 2 }, 'Europe/Berlin', later);
      expect(keptTimes(berlin)).toEqual(['2026-11-20T23:30', '2026-11-20T12:00']);
      expect(berlin[0]!.reasons).toContain('daily 2026-11-21');
      expect(berlin[1]!.reasons).toEqual(['daily 2026-11-20']);

      const utc = plan(archives, { daily: 2 }, 'UTC', later);
      expect(keptTimes(utc)).toEqual(['2026-11-20T23:30', '2026-11-19T12:00']);
      expect(utc[0]!.reasons).toContain('daily 2026-11-20');
    });

    it('Sunday 23:30 UTC is Monday, the next ISO week, in Europe/Berlin', () => {
      const sunday = [archive('2026-11-15T12:00:00Z'), archive('2026-11-15T23:30:00Z')];
      expect(keptTimes(plan(sunday, { weekly: 1 }, 'UTC'))).toEqual(['2026-11-15T23:30']);
      expect(plan(sunday, { weekly: 2 }, 'Europe/Berlin').map((d) => d.reasons)).toEqual([
        ['newest complete archive', 'weekly 2026-W47'],
        ['weekly 2026-W46'],
      ]);
    });

    it('an ISO week spanning New Year is one bucket', () => {
      const decisions = plan([archive('2026-12-31T10:00:00Z'), archive('2027-01-01T10:00:00Z')], { weekly: 1 }, 'UTC', new Date('2027-01-01T12:00:00Z'));
      expect(decisions.map((d) => [d.action, d.reasons])).toEqual([
        ['keep', ['newest complete archive', 'weekly 2026-W53']],
        ['delete', ['beyond every keep rule']],
      ]);
    });

    it('no time zone means the local one', () => {
      const local = Intl.DateTimeFormat().resolvedOptions().timeZone;
      const implicit = planRetention(archives, { daily: 2, hourly: 3 }, { job: JOB, now: later });
      expect(implicit).toEqual(plan(archives, { daily: 2, hourly: 3 }, local, later));
    });

    it('an unknown time zone is an error naming it', () => {
      expect(() => plan(archives, { daily: 1 }, 'Mars/Olympus')).toThrow(/Mars\/Olympus/);
    });
  });

  describe('safety', () => {
    it('never deletes the newest complete archive, whatever the policy', () => {
      const archives = [archive('2026-11-20T03:00:00Z'), archive('2026-11-19T03:00:00Z'), archive('2026-11-18T03:00:00Z')];
      for (const policy of [1, { yearly: 1 }, { hourly: 1 }, { last: 0, daily: 0, monthly: 1 }, { daily: 0 }] as KeepPolicy[]) {
        const newest = plan(archives, policy)[0]!;
        expect(newest).toMatchObject({ name: archives[0]!.name, action: 'keep' });
        expect(newest.reasons[0]).toBe('newest complete archive');
      }
    });

    it('the newest complete archive is kept even when newer incomplete ones exist', () => {
      const archives = [archive('2026-11-20T11:00:00Z', false), archive('2026-11-10T03:00:00Z'), archive('2026-11-09T03:00:00Z')];
      const decisions = plan(archives, 1, 'UTC', new Date('2026-11-25T00:00:00Z'));
      expect(decisions.map((d) => d.action)).toEqual(['delete', 'keep', 'delete']);
      expect(decisions[1]!.reasons).toContain('newest complete archive');
    });

    it('incomplete archives are deleted only when older than 24 hours', () => {
      const archives = [
        archive('2026-11-20T11:00:00Z', false), // 1 hour old: may be a push in progress
        archive('2026-11-19T12:00:00Z', false), // exactly 24 hours old
        archive('2026-11-19T11:59:00Z', false), // just over 24 hours old
        archive('2026-11-01T00:00:00Z', false),
        archive('2026-11-18T00:00:00Z'),
      ];
      const decisions = plan(archives, 1);
      expect(decisions.map((d) => [d.created.toISOString(), d.action, d.reasons])).toEqual([
        ['2026-11-20T11:00:00.000Z', 'keep', ['incomplete, younger than 24h']],
        ['2026-11-19T12:00:00.000Z', 'keep', ['incomplete, younger than 24h']],
        ['2026-11-19T11:59:00.000Z', 'delete', ['incomplete for more than 24h']],
        ['2026-11-18T00:00:00.000Z', 'keep', ['newest complete archive', 'last 1']],
        ['2026-11-01T00:00:00.000Z', 'delete', ['incomplete for more than 24h']],
      ]);
    });

    it('incomplete archives never count towards keep rules', () => {
      const archives = [archive('2026-11-20T11:00:00Z', false), ...daily('2026-11-17', '2026-11-19')];
      expect(keptDays(plan(archives, 2))).toEqual(['2026-11-20', '2026-11-19', '2026-11-18']);
    });

    it("files that are not this job's archives are never deleted", () => {
      const created = new Date('2026-01-01T00:00:00Z');
      const foreign: PlanArchive[] = [
        { name: 'otherjob-20260101T000000Z.tar.gz', created, complete: true },
        { name: 'otherjob-20260101T000000Z.tar.gz', created, complete: false },
        { name: 'notes.txt', created, complete: false },
        { name: 'mss-latest.tar.gz', created, complete: true },
        { name: 'mss-20260101T000000Z.tar.gz.partial', created, complete: false },
      ];
      const decisions = plan([...daily('2026-11-15', '2026-11-20'), ...foreign], 1, 'UTC', new Date('2027-01-01T00:00:00Z'));
      const deleted = decisions.filter((d) => d.action === 'delete').map((d) => d.name);
      expect(deleted).toHaveLength(5);
      for (const f of foreign) expect(deleted).not.toContain(f.name);
      expect(decisions.map((d) => d.name).every((n) => n.startsWith('mss-2026'))).toBe(true);
    });

    const future = (hours: number) => archive(new Date(NOW.getTime() + hours * 3_600_000).toISOString());

    it.each<{ rule: string; archives: PlanArchive[]; policy: KeepPolicy; protect?: string[]; expected: [string, string, string[]][] }>([
      {
        rule: 'an archive dated more than an hour ahead is kept and is not the newest archive',
        archives: [future(30 * 24), ...daily('2026-11-18', '2026-11-20')],
        policy: 1,
        expected: [
          ['2026-12-20T12:00', 'keep', ['dated in the future']],
          ['2026-11-20T03:15', 'keep', ['newest complete archive', 'last 1']],
          ['2026-11-19T03:15', 'delete', ['beyond every keep rule']],
          ['2026-11-18T03:15', 'delete', ['beyond every keep rule']],
        ],
      },
      {
        rule: 'archives dated in the future never use up a keep rule',
        archives: [future(2), future(5), ...daily('2026-11-19', '2026-11-20')],
        policy: { daily: 2 },
        expected: [
          ['2026-11-20T17:00', 'keep', ['dated in the future']],
          ['2026-11-20T14:00', 'keep', ['dated in the future']],
          ['2026-11-20T03:15', 'keep', ['newest complete archive', 'daily 2026-11-20']],
          ['2026-11-19T03:15', 'keep', ['daily 2026-11-19']],
        ],
      },
      {
        rule: 'up to an hour ahead is ordinary clock drift, not the future',
        archives: [future(1), ...daily('2026-11-19', '2026-11-20')],
        policy: 1,
        expected: [
          ['2026-11-20T13:00', 'keep', ['newest complete archive', 'last 1']],
          ['2026-11-20T03:15', 'delete', ['beyond every keep rule']],
          ['2026-11-19T03:15', 'delete', ['beyond every keep rule']],
        ],
      },
      {
        rule: 'the archive this run pushed is kept even when the clock stepped back and newer-dated archives exist',
        archives: [archive('2026-11-20T11:30:00Z'), archive('2026-11-20T11:00:00Z'), archive('2026-11-20T10:00:00Z')],
        policy: 1,
        protect: [archiveName(JOB, new Date('2026-11-20T10:00:00Z'), false)],
        expected: [
          ['2026-11-20T11:30', 'keep', ['newest complete archive', 'last 1']],
          ['2026-11-20T11:00', 'delete', ['beyond every keep rule']],
          ['2026-11-20T10:00', 'keep', ['pushed by this run']],
        ],
      },
      {
        rule: 'the archive this run pushed keeps its other reasons too',
        archives: daily('2026-11-19', '2026-11-20'),
        policy: 1,
        protect: [archiveName(JOB, new Date('2026-11-20T03:15:00Z'), false)],
        expected: [
          ['2026-11-20T03:15', 'keep', ['newest complete archive', 'last 1', 'pushed by this run']],
          ['2026-11-19T03:15', 'delete', ['beyond every keep rule']],
        ],
      },
    ])('$rule', ({ archives, policy, protect, expected }) => {
      const decisions = planRetention(archives, policy, { job: JOB, now: NOW, timezone: 'UTC', protect });
      expect(decisions.map((d) => [d.created.toISOString().slice(0, 16), d.action, d.reasons])).toEqual(expected);
    });

    it('a policy with every rule at 0 deletes nothing', () => {
      const decisions = plan(daily('2026-11-15', '2026-11-20'), { daily: 0 });
      expect(decisions.every((d) => d.action === 'keep' && d.reasons.includes('policy is empty'))).toBe(true);
    });
  });
});

/** Daily archives from `first` to `last`, in chains of `fullEvery` (a full archive, then incrementals on it). */
function chains(first: string, last: string, fullEvery: number): PlanArchive[] {
  const out: PlanArchive[] = [];
  daily(first, last).forEach((a, i) => {
    const incremental = i % fullEvery !== 0;
    const name = archiveName(JOB, a.created, false, incremental);
    out.push({ ...a, name, ...(incremental ? { parent: out[i - 1]!.name } : {}) });
  });
  return out;
}

describe('retention plan with incremental chains', () => {
  it.each<{ rule: string; archives: PlanArchive[]; policy: KeepPolicy; kept: string[] }>([
    { rule: 'keep: 2 on a chain keeps the whole chain below the newest', archives: chains('2026-11-01', '2026-11-10', 7), policy: 2, kept: ['2026-11-10', '2026-11-09', '2026-11-08'] },
    { rule: 'keep: 1 right after a full keeps only the full', archives: chains('2026-11-01', '2026-11-08', 7), policy: 1, kept: ['2026-11-08'] },
    { rule: 'keep: 3 across two chains keeps the old chain up to its kept incremental', archives: chains('2026-11-01', '2026-11-09', 7), policy: 3, kept: ['2026-11-09', '2026-11-08', '2026-11-07', '2026-11-06', '2026-11-05', '2026-11-04', '2026-11-03', '2026-11-02', '2026-11-01'] },
    { rule: 'weekly 2 keeps each kept Sunday with its chain', archives: chains('2026-11-02', '2026-11-20', 7), policy: { weekly: 2 }, kept: ['2026-11-20', '2026-11-19', '2026-11-18', '2026-11-17', '2026-11-16', '2026-11-15', '2026-11-14', '2026-11-13', '2026-11-12', '2026-11-11', '2026-11-10', '2026-11-09'] },
  ])('$rule', ({ archives, policy, kept }) => {
    const decisions = plan(archives, policy);
    expect(keptDays(decisions)).toEqual(kept);
    expect(decisions).toHaveLength(archives.length);
  });

  it('an archive kept only for a chain says which archive needs it', () => {
    const decisions = plan(chains('2026-11-01', '2026-11-03', 7), 1);
    expect(byDay(decisions, '2026-11-02')).toMatchObject({ action: 'keep', reasons: ['base of mss-20261103T031500Z.incr.tar.gz'] });
    expect(byDay(decisions, '2026-11-01').reasons).toEqual(['base of mss-20261103T031500Z.incr.tar.gz']);
  });

  it('prune never leaves an incremental archive without its parent', () => {
    for (const policy of [1, 2, 5, { daily: 3 }, { weekly: 1, monthly: 1 }] as KeepPolicy[]) {
      const archives = chains('2026-10-01', '2026-11-20', 7);
      const decisions = plan(archives, policy);
      const kept = new Set(decisions.filter((d) => d.action === 'keep').map((d) => d.name));
      for (const a of archives) if (kept.has(a.name) && a.parent) expect(kept.has(a.parent), `${a.name} kept without ${a.parent}`).toBe(true);
    }
  });

  it('the archive this run pushed keeps its chain even when the clock stepped back', () => {
    const archives = chains('2026-11-01', '2026-11-04', 7);
    const pushed = archives[1]!.name;
    const decisions = planRetention(archives, 1, { job: JOB, now: NOW, timezone: 'UTC', protect: [pushed] });
    expect(byDay(decisions, '2026-11-01').reasons).toContain(`base of ${pushed}`);
  });
});
