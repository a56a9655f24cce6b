import { describe, expect, it } from 'vitest';
import { mergeFamilies, runMetrics } from '../../src/service/metrics.js';
import type { RunResult } from '../../src/state/types.js';

const run = (over: Partial<RunResult>): RunResult => ({
  id: 'r', job: 'app', status: 'success', started: '2026-11-01T03:00:00Z', ended: '2026-11-01T03:01:00Z', targets: [], warnings: [], ...over,
});

describe('metrics show what a run that exited 3 needs attention for', () => {
  it('a failed prune and unreadable files of the last run are exported', () => {
    const last = run({
      status: 'partial',
      targets: [
        { target: 'local', status: 'success', bytes: 1, durationMs: 1, pruneError: 'EBUSY' },
        { target: 'usb', status: 'success', bytes: 1, durationMs: 1 },
      ],
      attention: { failedTargets: [], failedPrunes: [{ target: 'local', error: 'EBUSY' }], unreadable: [{ path: 'app/x', message: 'EACCES' }] },
    });
    const families = Object.fromEntries(runMetrics('app', [run({}), last], ['local', 'usb'], {}, false).map((f) => [f.name, f.samples]));
    expect(families.ferry_last_run_unreadable_files).toEqual([{ labels: { job: 'app' }, value: 1 }]);
    expect(families.ferry_target_last_prune_failed).toEqual([
      { labels: { job: 'app', target: 'local' }, value: 1 },
      { labels: { job: 'app', target: 'usb' }, value: 0 },
    ]);
    expect(families.ferry_runs_total).toContainEqual({ labels: { job: 'app', result: 'partial' }, value: 1 });
  });
});

describe('/metrics for several jobs', () => {
  it('merges the jobs\' families by name, each family once with every job\'s samples', () => {
    const families = mergeFamilies([runMetrics('alpha', [run({ job: 'alpha' })], [], {}, false), runMetrics('beta', [run({ job: 'beta' })], [], {}, true)]);
    expect(families.filter((f) => f.name === 'ferry_run_in_progress')).toEqual([
      expect.objectContaining({ samples: [{ labels: { job: 'alpha' }, value: 0 }, { labels: { job: 'beta' }, value: 1 }] }),
    ]);
    expect(new Set(families.map((f) => f.name)).size).toBe(families.length);
  });
});
