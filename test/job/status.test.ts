import { describe, expect, it } from 'vitest';
import { exitCodeForStatus } from '../../src/exit-codes.js';
import { decideRun, type RunFacts } from '../../src/job/status.js';

const ok = (target: string, pruneError?: string) => ({ target, status: 'success' as const, pruneError });
const bad = (target: string) => ({ target, status: 'failure' as const });
const skip = (target: string) => ({ target, status: 'skipped' as const });
const file = { path: 'app/secret.key', message: 'EACCES: permission denied' };

describe('exit code: 0 only when everything was stored and pruned, 3 when stored but something needs attention', () => {
  const table: [string, RunFacts, 'success' | 'partial' | 'failure', number][] = [
    ['every target stored and pruned', { targets: [ok('a'), ok('b')], unreadable: [] }, 'success', 0],
    ['one of two targets failed', { targets: [ok('a'), bad('b')], unreadable: [] }, 'partial', 3],
    ['a prune failed', { targets: [ok('a', 'EBUSY'), ok('b')], unreadable: [] }, 'partial', 3],
    ['a file could not be read', { targets: [ok('a')], unreadable: [file] }, 'partial', 3],
    ['every target failed', { targets: [bad('a'), bad('b')], unreadable: [file] }, 'failure', 1],
    ['an optional target was skipped, the others stored', { targets: [ok('a'), skip('usb')], unreadable: [] }, 'success', 0],
    ['an optional target was skipped and another failed', { targets: [ok('a'), skip('usb'), bad('b')], unreadable: [] }, 'partial', 3],
    ['every target was skipped', { targets: [skip('usb')], unreadable: [] }, 'failure', 1],
    ['no target at all', { targets: [], unreadable: [] }, 'failure', 1],
    ['the run failed as a whole', { targets: [ok('a')], unreadable: [], failed: true }, 'failure', 1],
  ];
  for (const [what, facts, status, code] of table) {
    it(`${what}: ${status}, exit ${code}`, () => {
      const decided = decideRun(facts);
      expect(decided.status).toBe(status);
      expect(exitCodeForStatus(decided.status)).toBe(code);
    });
  }

  it('attention names the failed targets, the failed prunes and the unreadable files', () => {
    expect(decideRun({ targets: [ok('a', 'EBUSY'), bad('b'), ok('c')], unreadable: [file] }).attention).toEqual({
      failedTargets: ['b'],
      failedPrunes: [{ target: 'a', error: 'EBUSY' }],
      unreadable: [file],
    });
    expect(decideRun({ targets: [ok('a')], unreadable: [] }).attention).toBeUndefined();
  });
});
