import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import { waitFor } from '../helpers/wait.js';
import { ferry, workspace, type Workspace } from '../helpers/cli.js';
import { startDriveEmulator, type DriveEmulator } from '../servers/drive-emulator/index.js';

const CLIENT = { clientId: 'ferry-push.apps.googleusercontent.com', clientSecret: 'emulator-client-secret', refreshToken: '1//emulator-refresh-token' };
const isChunk = (method: string, path: string) => method === 'PUT' && path.startsWith('/upload/drive/v3/files');

/**
 * `ferry run` pushing only to Google Drive (so the archive is a live stream
 * that cannot be replayed), with the fault proxy between googleapis and the
 * Drive emulator.
 */
describe('ferry run to Google Drive through a faulty network', () => {
  let ws: Workspace;
  let drive: DriveEmulator;
  let proxy: FaultProxy;

  beforeAll(async () => {
    ws = await workspace();
    drive = await startDriveEmulator();
    drive.addOAuthClient(CLIENT);
    proxy = await startFaultProxy({ host: '127.0.0.1', port: Number(new URL(drive.rootUrl).port) });
    await writeFile(join(ws.dir, 'app', 'media.bin'), randomBytes(1536 * 1024)); // incompressible: several chunks
    await writeFile(join(ws.dir, 'drive.json'), JSON.stringify({ type: 'authorized_user', client_id: CLIENT.clientId, client_secret: CLIENT.clientSecret, refresh_token: CLIENT.refreshToken }));
    const api = `http://127.0.0.1:${proxy.port}/`;
    await ws.writeConfig({
      job: 'app',
      state_dir: './state',
      sources: [{ path: './app', as: 'app' }],
      targets: {
        drive: { type: 'gdrive', folder: 'ferry-faults', credentials_file: './drive.json', api_root: api, token_url: `${api}token`, chunk_size: 256 * 1024, keep: 20 },
      },
    });
  }, 60_000);
  afterAll(async () => {
    await proxy?.close();
    await drive?.stop();
    await ws?.cleanup();
  });
  beforeEach(async () => { await proxy.heal(); });

  /** The archive this run stored in Drive must hash to what its manifest says. */
  function expectStoredArchiveMatchesManifest(archive: string): void {
    const file = drive.files().find((f) => f.name === archive);
    const manifest = drive.files().find((f) => f.name === `${archive}.manifest.json`);
    expect(file?.path, `${archive} in Drive`).toBeDefined();
    const meta = JSON.parse(readFileSync(manifest!.path!, 'utf8')) as { sha256: string; size: number };
    const bytes = readFileSync(file!.path!);
    expect(bytes.length).toBe(meta.size);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(meta.sha256);
  }

  async function run(): Promise<{ code: number | null; stderr: string; archive: string }> {
    const r = await ferry(['run', '--json'], { cwd: ws.dir, timeoutMs: 170_000 }); // outlives the 60 s outage below
    if (!r.stdout) throw new Error(`ferry run printed no result (exit ${r.code}): ${r.stderr}`);
    const archive = (JSON.parse(r.stdout) as { archive?: string }).archive ?? '';
    return { code: r.code, stderr: r.stderr, archive };
  }

  it('connections reset in the middle of the archive: the run resumes, exits 0, and Drive holds the archive byte for byte', async () => {
    proxy.dropAfter(600 * 1024, { times: 2 });
    const r = await run();
    expect(r.code, r.stderr).toBe(0);
    expect(proxy.stats.drops).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`drive: ${r.archive.replace(/\./g, '\\.')} uploaded; resumed [1-9]\\d* times? after interruptions`));
    expectStoredArchiveMatchesManifest(r.archive);
    const verify = await ws.run(['verify', r.archive]);
    expect(verify.code, verify.stderr).toBe(0);
  }, 120_000);

  it('503 answers to chunks are waited out and the run exits 0 with the archive complete', async () => {
    proxy.failHttp(3, 503, { match: isChunk });
    const r = await run();
    expect(r.code, r.stderr).toBe(0);
    expect(proxy.stats.httpFailures).toBeGreaterThanOrEqual(3);
    expect(r.stderr).toMatch(/failed \(HTTP 503\); trying again in/);
    expect(r.stderr).toMatch(/uploaded; resumed [1-3] times? after interruptions/);
    expectStoredArchiveMatchesManifest(r.archive);
  }, 120_000);

  it('429 with Retry-After on Drive requests is honoured and the run exits 0', async () => {
    const before = proxy.stats.httpFailures;
    proxy.failHttp(2, 429, { retryAfter: 2, match: (_m, path) => path.startsWith('/drive/') || path.startsWith('/upload/') });
    const r = await run();
    expect(r.code, r.stderr).toBe(0);
    expect(proxy.stats.httpFailures - before).toBe(2);
    const waits = [...r.stderr.matchAll(/HTTP 429.*trying again in (\d+\.\d) s/g)].map((m) => Number(m[1]));
    expect(waits.length, r.stderr).toBeGreaterThan(0); // a 429 on the free-space probe before the push is not logged
    for (const s of waits) expect(s).toBeGreaterThanOrEqual(2);
    expectStoredArchiveMatchesManifest(r.archive);
  }, 120_000);

  it('a 60-second outage in the middle of the archive (connections refused) is ridden out: exit 0, archive complete', async () => {
    await writeFile(join(ws.dir, 'app', 'media-2.bin'), randomBytes(6 * 1024 * 1024)); // long enough to cut into
    const before = drive.requests.length;
    const running = run();
    await waitFor(() => drive.requests.slice(before).some((q) => q.method === 'PUT' && q.status === 308), { what: 'the first chunk of the archive to be confirmed' });
    await proxy.refuse();
    const outage = new Promise<void>((resolve) => setTimeout(resolve, 61_000)); // the outage under test, not a wait for a condition
    await outage;
    await proxy.heal();
    const r = await running;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/failed \((ECONNREFUSED|ECONNRESET|UND_ERR_SOCKET)\); trying again in/);
    expect(r.stderr).toMatch(/uploaded; resumed [1-9]\d* times? after interruptions/);
    expectStoredArchiveMatchesManifest(r.archive);
  }, 180_000);

  it('`ferry check` on a folder in a shared drive gives no free-space figure and says why', async () => {
    const driveId = drive.createSharedDrive('Team backups');
    const folder = drive.createFolder('ferry', driveId);
    const api = `http://127.0.0.1:${proxy.port}/`;
    await ws.writeConfig({
      job: 'app',
      state_dir: './state',
      sources: [{ path: './app', as: 'app' }],
      targets: { shared: { type: 'gdrive', folder_id: folder, credentials_file: './drive.json', api_root: api, token_url: `${api}token`, keep: 3 } },
    });
    const r = await ws.run(['check', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const [report] = (JSON.parse(r.stdout) as { targets: Array<{ ok: boolean; free_bytes?: number; details: string[] }> }).targets;
    expect(report!.ok).toBe(true);
    expect(report!.free_bytes).toBeUndefined();
    expect(report!.details.join('\n')).toMatch(/in shared drive .*free space unknown/);
  }, 60_000);
});
