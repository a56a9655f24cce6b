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

/** The modules `ferry ARGS` (by default `run`) loads with the config `makeConfig` gives for a fresh workspace, after `before` ran there. */
async function loadedBy(makeConfig: (ws: Workspace) => Promise<Record<string, unknown>>, args = ['run'], before: string[][] = []): Promise<string> {
  const ws = await workspace();
  try {
    await ws.writeConfig(await makeConfig(ws));
    for (const command of before) {
      const done = await ws.run(command);
      expect(done.code, done.stderr).toBe(0);
    }
    await writeFile(join(ws.dir, 'recorder.mjs'), RECORDER);
    const log = join(ws.dir, 'loaded.txt');
    const result = await ws.run(args, { NODE_OPTIONS: `--import=${join(ws.dir, 'recorder.mjs')}`, LOADED_LOG: log });
    expect(result.code, result.stderr).toBe(0);
    return await readFile(log, 'utf8');
  } finally {
    await ws.cleanup();
  }
}

/** A config encrypted to a key `ferry keygen` makes in the workspace (key.txt). */
async function encryptedToNewKey(ws: Workspace): Promise<Record<string, unknown>> {
  const key = await ws.run(['keygen', '--out', 'key.txt']);
  expect(key.code, key.stderr).toBe(0);
  const recipient = /age1[0-9a-z]+/.exec(await readFile(join(ws.dir, 'key.txt'), 'utf8'))![0];
  return basicConfig({ encryption: { recipients: [recipient] } });
}

describe('a command loads only the libraries its config needs, so its memory stays small', () => {
  it('an unencrypted run to a local target without notifications or a terminal loads neither age-encryption, @scure/base, ssh2, better-sqlite3, nodemailer nor cli-progress', async () => {
    const loaded = await loadedBy(async () => basicConfig());
    expect(loaded).toContain('/node_modules/zod/');
    for (const lib of ['age-encryption', '@scure/base', 'ssh2', 'better-sqlite3', 'nodemailer', 'cli-progress']) expect(loaded).not.toContain(`/node_modules/${lib}/`);
  });

  it('a run encrypted to an age X25519 recipient does not load age-encryption either (Ferry writes that header itself)', async () => {
    const loaded = await loadedBy(encryptedToNewKey);
    expect(loaded).toContain('/node_modules/@scure/base/');
    expect(loaded).not.toContain('/node_modules/age-encryption/');
  });

  it('restoring an archive encrypted to an age X25519 key does not load age-encryption (Ferry reads that header itself)', async () => {
    const loaded = await loadedBy(encryptedToNewKey, ['restore', 'latest', '--to', 'restored', '--identity', 'key.txt'], [['run']]);
    expect(loaded).toContain('/node_modules/@scure/base/');
    expect(loaded).not.toContain('/node_modules/age-encryption/');
  });

  it('a run encrypted to a post-quantum recipient loads age-encryption, which makes that header', async () => {
    const { generateHybridIdentity, identityToRecipient } = await import('age-encryption');
    const recipient = await identityToRecipient(await generateHybridIdentity());
    const loaded = await loadedBy(async () => basicConfig({ encryption: { recipients: [recipient] } }));
    expect(loaded).toContain('/node_modules/age-encryption/');
  });
});
