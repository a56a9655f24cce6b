import { describe, expect, it } from 'vitest';
import {
  ArchiveNotFoundError, ConfigError, DamagedArchiveError, DecryptError, FerryError, LockHeldError, UnsafeEntryError, UsageError, userMessage,
} from '../src/errors.js';
import { exitCodeForStatus, exitCodeOf } from '../src/exit-codes.js';
import { StorageError } from '../src/storage/errors.js';

describe('exit codes come from the kind of error, never from its message', () => {
  const table: [string, unknown, number][] = [
    ['a usage problem', new UsageError('pass exactly one of --user or --system'), 2],
    ['a config problem', new ConfigError('backup.config.yaml', [{ path: 'job', message: 'required' }]), 2],
    ['another run holding the lock', new LockHeldError('job app: another run holds the lock'), 75],
    ['an archive that is not there', new ArchiveNotFoundError('no complete archive on target local'), 1],
    ['a damaged archive', new DamagedArchiveError('archive x is damaged'), 1],
    ['a key that does not match', new DecryptError('cannot decrypt x'), 1],
    ['a refused archive entry', new UnsafeEntryError('refusing archive entry "../x"'), 1],
    ["a target's failure", new StorageError('UNAVAILABLE', 'offsite', 'connect refused'), 1],
    ['any other failure', new FerryError('cannot listen on 127.0.0.1:1'), 1],
    ['an error from a library', new Error('usage: 2 words that look like a usage error'), 1],
    ['a thrown string', 'exit 2', 1],
  ];
  for (const [what, err, code] of table) {
    it(`${what}: exit ${code}`, () => expect(exitCodeOf(err)).toBe(code));
  }

  it("a run's or verification's outcome: success 0, partial 3, failure 1", () => {
    expect([exitCodeForStatus('success'), exitCodeForStatus('partial'), exitCodeForStatus('failure')]).toEqual([0, 3, 1]);
  });

  it("a Ferry error is shown as its own message; a library error gets its cause's message added", () => {
    const cause = new Error('ECONNREFUSED 10.0.0.1:22');
    expect(userMessage(new FerryError('cannot reach offsite', { cause }))).toBe('cannot reach offsite');
    expect(userMessage(new Error('connect failed', { cause }))).toBe('connect failed (ECONNREFUSED 10.0.0.1:22)');
  });

  it('every domain error keeps what it was made from as its cause, and is named by its class', () => {
    const cause = new Error('EACCES');
    const err = new DamagedArchiveError('archive x is damaged', { cause });
    expect(err.cause).toBe(cause);
    expect(err.name).toBe('DamagedArchiveError');
    expect(err).toBeInstanceOf(FerryError);
  });
});
