import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { LoadedConfig } from '../../src/config/load.js';
import { commandSourceSchema } from '../../src/config/sources.js';
import type { Logger } from '../../src/log.js';
import { prepareCommandSource } from '../../src/pipeline/sources/command.js';
import type { SourceContext } from '../../src/pipeline/sources/types.js';
import { waitForExit } from '../helpers/wait.js';

let dir: string;
let staging: string;
const warnings: string[] = [];
const log: Logger = { info() {}, debug() {}, error() {}, warn: (m) => warnings.push(m) };
let context: SourceContext;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ferry-cmd-'));
  staging = join(dir, 'staging');
  await mkdir(staging);
  context = { config: { configDir: dir } as LoadedConfig, stagingDir: staging, log };
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const source = (raw: Record<string, unknown>) => commandSourceSchema.parse({ as: 'inventory/out.txt', ...raw });

describe('command source', () => {
  test("stores the command's stdout under as, run from the config's directory", async () => {
    const prepared = await prepareCommandSource(source({ command: 'echo "hello wörld"; pwd; echo noise >&2' }), context);
    expect(prepared).toMatchObject({ as: 'inventory/out.txt', kind: 'command', meta: { exit_code: 0 } });
    expect(await readFile(prepared.fsPath, 'utf8')).toBe(`hello wörld\n${dir}\n`);
    await prepared.cleanup();
    expect(await readdir(staging)).toEqual([]);
  });

  test('a non-zero exit fails with the exit code and the last stderr lines', async () => {
    await expect(prepareCommandSource(source({ command: 'echo partial; echo "boom: disk gone" >&2; exit 3' }), context))
      .rejects.toThrow('source command "echo partial; echo "boom: disk gone" >&2; exit 3" exited with 3: boom: disk gone');
    expect(await readdir(staging)).toEqual([]);
  });

  test('with allow_failure the output is stored, the exit code recorded and a warning logged', async () => {
    const prepared = await prepareCommandSource(source({ command: 'echo partial; exit 4', allow_failure: true }), context);
    expect(prepared.meta).toMatchObject({ exit_code: 4, warning: expect.stringContaining('exited with 4') });
    expect(await readFile(prepared.fsPath, 'utf8')).toBe('partial\n');
    expect(warnings.at(-1)).toMatch(/exited with 4; output stored anyway/);
    await prepared.cleanup();
  });

  test('a command that hangs is killed at its timeout, children included', async () => {
    const pidFile = join(dir, 'child.pid');
    const cmd = `sleep 600 & echo $! > ${pidFile}; sleep 600`;
    await expect(prepareCommandSource(source({ command: cmd, timeout: 1 }), context)).rejects.toThrow(/timed out after 1 s/);
    await waitForExit(Number(await readFile(pidFile, 'utf8')), 'the command\'s background child');
  });

  test('large output goes to disk, not memory', async () => {
    const prepared = await prepareCommandSource(source({ command: 'head -c 5000000 /dev/zero' }), context);
    expect(prepared.meta?.bytes).toBe(5_000_000);
    await prepared.cleanup();
  });
});
