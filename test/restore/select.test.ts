import { describe, expect, it } from 'vitest';
import { parseAt, selectArchive } from '../../src/restore/select.js';
import type { StoredArchive } from '../../src/storage/catalog.js';

const archive = (iso: string): StoredArchive => ({
  job: 'app', name: `app-${iso.replace(/[-:]/g, '').replace('.000', '')}.tar.gz`, created: new Date(iso), encrypted: false, size: 1, modified: new Date(iso), complete: true,
});
const all = ['2026-11-01T03:15:00Z', '2026-11-02T03:15:00Z', '2026-11-03T03:15:00Z'].map(archive);

describe('choosing the archive to restore', () => {
  it('latest is the newest complete archive, whatever the listing order', () => {
    expect(selectArchive([...all].reverse(), 'latest', undefined, 't').name).toBe('app-20261103T031500Z.tar.gz');
    expect(selectArchive(all, undefined, undefined, 't').name).toBe('app-20261103T031500Z.tar.gz');
  });

  it('--at picks the newest archive made at or before that time', () => {
    expect(selectArchive(all, 'latest', new Date('2026-11-02T03:15:00Z'), 't').name).toBe('app-20261102T031500Z.tar.gz');
    expect(selectArchive(all, 'latest', new Date('2026-11-02T23:00:00Z'), 't').name).toBe('app-20261102T031500Z.tar.gz');
    expect(() => selectArchive(all, 'latest', new Date('2026-10-01T00:00:00Z'), 'target x')).toThrow(/no complete archive on target x was made at or before 2026-10-01/);
  });

  it('an explicit name must be complete on that target', () => {
    expect(selectArchive(all, 'app-20261101T031500Z.tar.gz', undefined, 't').created.toISOString()).toBe('2026-11-01T03:15:00.000Z');
    expect(() => selectArchive(all, 'app-20990101T000000Z.tar.gz', undefined, 'target t')).toThrow(/not on target t \(or it is incomplete/);
  });

  it('an archive dated more than an hour in the future is never latest, nor picked by --at', () => {
    const now = new Date('2026-11-03T12:00:00Z');
    const ahead = [...all, archive('2026-11-03T13:30:00Z'), archive('2027-06-01T00:00:00Z')];
    expect(selectArchive(ahead, 'latest', undefined, 't', now).name).toBe('app-20261103T031500Z.tar.gz');
    expect(selectArchive(ahead, 'latest', new Date('2028-01-01T00:00:00Z'), 't', now).name).toBe('app-20261103T031500Z.tar.gz');
    expect(selectArchive([...all, archive('2026-11-03T12:45:00Z')], 'latest', undefined, 't', now).name).toBe('app-20261103T124500Z.tar.gz');
    expect(selectArchive(ahead, 'app-20270601T000000Z.tar.gz', undefined, 't', now).name).toBe('app-20270601T000000Z.tar.gz');
    expect(() => selectArchive([archive('2027-06-01T00:00:00Z')], 'latest', undefined, 'target t', now)).toThrow(/no complete archive on target t \(1 dated in the future is not used\)/);
  });

  it('--at accepts a date (end of that day, UTC) or a date-time, and rejects anything else', () => {
    expect(parseAt('2026-11-02').toISOString()).toBe('2026-11-02T23:59:59.999Z');
    expect(parseAt('2026-11-02T03:00:00+01:00').toISOString()).toBe('2026-11-02T02:00:00.000Z');
    expect(() => parseAt('yesterday')).toThrow(/--at: "yesterday" is not an ISO date/);
  });
});
