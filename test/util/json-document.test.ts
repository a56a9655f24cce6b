import { describe, expect, it } from 'vitest';
import { combinedExitCode } from '../../src/cli/each-job.js';
import { fromDocument, toDocument } from '../../src/util/json-document.js';

describe('documents: one key casing, format_version and exit_code', () => {
  it('writes snake_case keys, format_version first and exit_code last', () => {
    const doc = toDocument({ dryRun: true, targets: [{ target: 'nasBox', durationMs: 5, errorCode: 'AUTH' }], attention: { failedTargets: ['nasBox'] } }, 3);
    expect(JSON.stringify(doc)).toBe('{"format_version":1,"dry_run":true,"targets":[{"target":"nasBox","duration_ms":5,"error_code":"AUTH"}],"attention":{"failed_targets":["nasBox"]},"exit_code":3}');
  });

  it('keeps the keys of maps keyed by names the user chose (targets, units, commands)', () => {
    const doc = toDocument({ progress: { archiveRead: 1, targets: { myNas: 10, offSite: 2 } }, units: { 'ferry-app.timer': 'x' } });
    expect(doc).toMatchObject({ progress: { archive_read: 1, targets: { myNas: 10, offSite: 2 } }, units: { 'ferry-app.timer': 'x' } });
  });

  it('reads back its own documents and older camelCase ones into the same shape', () => {
    const run = { id: 'r', status: 'partial', targets: [{ target: 'usb', durationMs: 7, errorCode: 'NOT_MOUNTED' }], attention: { failedTargets: ['usb'], failedPrunes: [], unreadable: [] } };
    expect(fromDocument(toDocument(run, 3))).toEqual(run);
    expect(fromDocument(run)).toEqual(run);
  });

  it('a run of several jobs exits with the most serious of their exit codes', () => {
    expect(combinedExitCode([0, 0])).toBe(0);
    expect(combinedExitCode([0, 3])).toBe(3);
    expect(combinedExitCode([3, 75, 0])).toBe(75);
    expect(combinedExitCode([75, 1, 3])).toBe(1);
    expect(combinedExitCode([1, 2])).toBe(2);
  });
});
