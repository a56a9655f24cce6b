import { readdir } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { basicConfig, workspace, type Workspace } from '../helpers/cli.js';

describe('target settings that would break retention are refused when the config loads', () => {
  let ws: Workspace;
  beforeEach(async () => { ws = await workspace(); });
  afterEach(async () => { await ws.cleanup(); });

  it('an unknown timezone fails check and run with exit 2, naming the key and line, and stores nothing', async () => {
    await ws.writeConfig(basicConfig({ timezone: 'Europe/Berln' }));
    for (const args of [['check'], ['run'], ['prune']]) {
      const r = await ws.run(args);
      expect(r.code, r.stdout).toBe(2);
      expect(r.stderr).toMatch(/backup\.config\.yaml:\d+:\d+: timezone: unknown time zone "Europe\/Berln"/);
    }
    expect(await readdir(ws.dir)).not.toContain('backups');
  });

  it('two targets in the same directory fail run with exit 2 naming both, and store nothing', async () => {
    await ws.writeConfig(basicConfig({ targets: { daily: { type: 'local', path: './backups', keep: 7 }, weekly: { type: 'local', path: './backups/', keep: 2 } } }));
    const r = await ws.run(['run']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/targets daily and weekly resolve to the same place/);
    expect(await readdir(ws.dir)).not.toContain('backups');
  });
});
