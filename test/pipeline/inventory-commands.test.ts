import { describe, expect, test } from 'vitest';
import { captureInventoryCommands } from '../../src/pipeline/inventory-commands.js';

describe('inventory commands', () => {
  test('capture output and exit codes; a failing one is noted, not fatal', async () => {
    const results = await captureInventoryCommands({
      hello: 'echo "héllo"',
      broken: 'echo out; echo "no such thing" >&2; exit 2',
      after: 'printf done',
    });
    expect(Object.keys(results)).toEqual(['hello', 'broken', 'after']);
    expect(results.hello).toMatchObject({ command: 'echo "héllo"', exitCode: 0, stdout: 'héllo\n', stderr: '' });
    expect(results.hello!.error).toBeUndefined();
    expect(results.broken).toMatchObject({ exitCode: 2, stdout: 'out\n', stderr: 'no such thing\n', error: 'exited with 2' });
    expect(results.after).toMatchObject({ exitCode: 0, stdout: 'done' });
    expect(results.after!.durationMs).toBeGreaterThanOrEqual(0);
  });

  test('a command that hangs is killed at the timeout and noted', async () => {
    const results = await captureInventoryCommands({ slow: 'echo begun; sleep 30' }, { timeout: 0.5 });
    expect(results.slow).toMatchObject({ exitCode: null, stdout: 'begun\n', error: 'timed out after 0.5 s' });
  });

  test('output over the cap is cut and marked', async () => {
    const results = await captureInventoryCommands({ big: 'head -c 3000000 /dev/zero | tr "\\0" a' }, { maxBytes: 1024 * 1024 });
    expect(results.big!.stdout.length).toBe(1024 * 1024);
    expect(results.big).toMatchObject({ exitCode: 0, truncated: true });
  });

  test('a missing program is noted with the shell exit code', async () => {
    const results = await captureInventoryCommands({ missing: 'definitely-not-a-program-xyz' });
    expect(results.missing).toMatchObject({ exitCode: 127, error: 'exited with 127' });
    expect(results.missing!.stderr).toMatch(/not found/);
  });
});
