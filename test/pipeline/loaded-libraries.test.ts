import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { basicConfig, workspace, type Workspace } from '../helpers/cli.js';

/**
 * Preloaded into the ferry process: records every package an ES import
 * resolves and, at exit, every CommonJS module in require's cache.
 */
const RECORDER = `
import { register, createRequire } from 'node:module';
import { appendFileSync } from 'node:fs';
const out = process.env.LOADED_LOG;
const { port1, port2 } = new MessageChannel();
port1.on('message', (url) => appendFileSync(out, url + '\\n'));
port1.unref();
register('data:text/javascript,' + encodeURIComponent(\`
  let port;
  export function initialize(data) { port = data.port; }
  export async function resolve(specifier, context, next) {
    const r = await next(specifier, context);
    port.postMessage(r.url);
    return r;
  }\`), { data: { port: port2 }, transferList: [port2] });
const require = createRequire(import.meta.url);
process.on('exit', () => appendFileSync(out, Object.keys(require.cache).join('\\n') + '\\n'));
`;

/** The modules `ferry run` loads with the config `makeConfig` gives for a fresh workspace. */
async function loadedByRun(makeConfig: (ws: Workspace) => Promise<Record<string, unknown>>): Promise<string> {
  const ws = await workspace();
  try {
    await ws.writeConfig(await makeConfig(ws));
    await writeFile(join(ws.dir, 'recorder.mjs'), RECORDER);
    const log = join(ws.dir, 'loaded.txt');
    const result = await ws.run(['run'], { NODE_OPTIONS: `--import=${join(ws.dir, 'recorder.mjs')}`, LOADED_LOG: log });
    expect(result.code, result.stderr).toBe(0);
    return await readFile(log, 'utf8');
  } finally {
    await ws.cleanup();
  }
}

describe('a run loads only the libraries its config needs, so its memory stays small', () => {
  it('an unencrypted run to a local target without notifications or a terminal loads neither age-encryption, ssh2, better-sqlite3, nodemailer nor cli-progress', async () => {
    const loaded = await loadedByRun(async () => basicConfig());
    expect(loaded).toContain('/node_modules/zod/');
    for (const lib of ['age-encryption', 'ssh2', 'better-sqlite3', 'nodemailer', 'cli-progress']) expect(loaded).not.toContain(`/node_modules/${lib}/`);
  });

  it('an encrypted run loads age-encryption', async () => {
    const loaded = await loadedByRun(async (ws) => {
      const key = await ws.run(['keygen', '--out', 'key.txt']);
      expect(key.code, key.stderr).toBe(0);
      const recipient = /age1[0-9a-z]+/.exec(await readFile(join(ws.dir, 'key.txt'), 'utf8'))![0];
      return basicConfig({ encryption: { recipients: [recipient] } });
    });
    expect(loaded).toContain('/node_modules/age-encryption/');
  });
});
