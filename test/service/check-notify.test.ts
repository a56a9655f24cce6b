import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basicConfig, workspace, type Workspace } from '../helpers/cli.js';

interface Received { method: string; url: string; headers: IncomingHttpHeaders; body: string }

let server: Server;
let base: string;
const got: Received[] = [];
let ws: Workspace;

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => { body += d.toString(); });
    req.on('end', () => {
      got.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      res.writeHead(req.url === '/broken' ? 500 : 200).end('OK');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  ws = await workspace();
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
  await ws.cleanup();
});

describe('ferry check --notify', () => {
  it('sends one test message through every notifier, whatever its `on`, and healthchecks only logs it', async () => {
    await ws.writeConfig(basicConfig({
      notify: [
        { type: 'ntfy', server: base, topic: 'backups', on: ['failure'] },
        { type: 'webhook', url: `${base}/hook` },
        { type: 'healthchecks', url: `${base}/ping/abc` },
        { type: 'command', command: 'cat > test-message.json' },
      ],
    }));
    got.length = 0;
    const r = await ws.run(['check', '--notify']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/notify\[0\] \(ntfy 127\.0\.0\.1:\d+\): test message sent/);
    expect(r.stdout).toMatch(/notify\[3\] \(command\): test message sent/);
    expect(got.find((g) => g.url === '/backups')!.headers.title).toBe('ferry app: test notification');
    const hook = got.find((g) => g.url === '/hook')!;
    expect(hook.headers['x-ferry-event']).toBe('test.success');
    expect(JSON.parse(hook.body)).toMatchObject({ kind: 'test', job: 'app', status: 'success', targets: [] });
    // The check's state stays as the last run left it: /log, never the success or /fail endpoints.
    expect(got.filter((g) => g.url.startsWith('/ping/')).map((g) => g.url)).toEqual(['/ping/abc/log']);
    expect(JSON.parse(await readFile(join(ws.dir, 'test-message.json'), 'utf8'))).toMatchObject({ kind: 'test' });
  });

  it('a notifier that fails its test message makes check exit 1, naming it', async () => {
    await ws.writeConfig(basicConfig({ notify: [{ type: 'webhook', url: `${base}/broken` }] }));
    const r = await ws.run(['check', '--notify']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/notify\[0\] \(webhook 127\.0\.0\.1:\d+\): FAILED: HTTP 500/);
  });

  it('without --notify, check sends nothing', async () => {
    await ws.writeConfig(basicConfig({ notify: [{ type: 'webhook', url: `${base}/hook` }] }));
    got.length = 0;
    const r = await ws.run(['check']);
    expect(r.code, r.stdout).toBe(0);
    expect(got).toEqual([]);
  });
});
