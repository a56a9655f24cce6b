import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { readFile, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { basicConfig, workspace, type Workspace } from '../helpers/cli.js';

interface Received { method: string; path: string; query: URLSearchParams; headers: IncomingHttpHeaders; body: string }

const DISCORD_TOKEN = 'discord-SECRET-token-abc';
const SLACK_TOKEN = 'slack-SECRET-token-def';
const TELEGRAM_TOKEN = '123456:telegram-SECRET-token';
const GOTIFY_TOKEN = 'gotify-SECRET-apptoken';
const MATRIX_TOKEN = 'syt_matrix-SECRET-token';
const SECRETS = [DISCORD_TOKEN, SLACK_TOKEN, TELEGRAM_TOKEN, GOTIFY_TOKEN, MATRIX_TOKEN];

/**
 * One loopback receiver answering as each service documents: Discord's
 * execute-webhook (`wait=true` returns the message), Slack's "ok", Telegram's
 * `{ ok: true, result }`, Gotify's message object and Matrix's `event_id`.
 * `refuse` makes it answer each service's error instead.
 */
async function services(): Promise<{ server: Server; base: string; got: Received[]; refuse: { on: boolean } }> {
  const got: Received[] = [];
  const refuse = { on: false };
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => { body += d.toString(); });
    req.on('end', () => {
      const url = new URL(req.url!, 'http://x');
      got.push({ method: req.method!, path: url.pathname, query: url.searchParams, headers: req.headers, body });
      const reply = (status: number, answer: unknown) => res.writeHead(status, { 'Content-Type': 'application/json' }).end(typeof answer === 'string' ? answer : JSON.stringify(answer));
      if (url.pathname.startsWith('/bot')) {
        return refuse.on ? reply(400, { ok: false, error_code: 400, description: 'Bad Request: chat not found' }) : reply(200, { ok: true, result: { message_id: 1 } });
      }
      if (refuse.on) return reply(401, { error: 'Unauthorized', errorCode: 401, errorDescription: 'you need to provide a valid access token' });
      if (url.pathname.startsWith('/api/webhooks/')) return reply(200, { id: '1', content: 'x' });
      if (url.pathname.startsWith('/services/')) return res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok');
      if (url.pathname === '/message') return reply(200, { id: 1, appid: 1 });
      if (url.pathname.startsWith('/_matrix/')) return reply(200, { event_id: '$ev1' });
      return reply(200, {});
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, got, refuse };
}

describe('notifications to chat services and webhook templates', () => {
  let ws: Workspace;
  let rx: Awaited<ReturnType<typeof services>>;
  beforeAll(async () => {
    rx = await services();
    ws = await workspace();
    await writeFile(join(ws.dir, 'telegram.token'), `${TELEGRAM_TOKEN}\n`);
    await ws.writeConfig(basicConfig({
      notify: [
        { type: 'discord', webhook_url: `${rx.base}/api/webhooks/42/${DISCORD_TOKEN}`, username: 'Ferry', on: ['success'] },
        { type: 'slack', webhook_url: '${SLACK_URL}', on: ['success'] },
        { type: 'telegram', bot_token_file: './telegram.token', chat_id: -1001234, api_url: rx.base, on: ['success'] },
        { type: 'gotify', server: rx.base, token: GOTIFY_TOKEN, on: ['success'] },
        { type: 'matrix', homeserver: rx.base, room_id: '!room:example.org', access_token: MATRIX_TOKEN, on: ['success'] },
        {
          type: 'webhook', url: `${rx.base}/hook/json`, on: ['success'],
          template: { text: '{{title}}', job: '{{job}}', code: '{{exit_code}}', targets: '{{targets}}', note: 'archive {{archive}} on {{host}}' },
        },
        { type: 'webhook', url: `${rx.base}/hook/text`, on: ['success'], template: 'ferry {{job}} {{status}}: {{archive}}\n', headers: { 'content-type': 'text/x-ferry' } },
      ],
    }));
  });
  afterAll(async () => {
    await new Promise((r) => rx.server.close(r));
    await ws.cleanup();
  });
  beforeEach(() => { rx.got.length = 0; rx.refuse.on = false; });

  const runEnv = () => ({ SLACK_URL: `${rx.base}/services/T000/B000/${SLACK_TOKEN}` });
  const find = (pred: (g: Received) => boolean) => {
    const hit = rx.got.find(pred);
    expect(hit, `requests seen: ${rx.got.map((g) => `${g.method} ${g.path}`).join(', ')}`).toBeDefined();
    return hit!;
  };

  it('each service gets the request its API documents, and no token is printed or stored', async () => {
    const r = await ws.run(['run', '--json'], runEnv());
    expect(r.code, r.stderr).toBe(0);
    const archive = JSON.parse(r.stdout).archive as string;
    expect(r.stderr).not.toMatch(/notification failed/);

    const discord = find((g) => g.path.startsWith('/api/webhooks/'));
    expect(discord.method).toBe('POST');
    expect(discord.path).toBe(`/api/webhooks/42/${DISCORD_TOKEN}`);
    expect(discord.query.get('wait')).toBe('true');
    expect(discord.headers['content-type']).toBe('application/json');
    const d = JSON.parse(discord.body);
    expect(d.content).toMatch(/^\*\*ferry app: backup success\*\*\n/);
    expect(d.content).toContain(`archive ${archive}`);
    expect(d.content).toMatch(/^local: success$/m);
    expect(d).toMatchObject({ username: 'Ferry', allowed_mentions: { parse: [] } });

    const slack = find((g) => g.path.startsWith('/services/'));
    expect(slack.method).toBe('POST');
    expect(slack.path).toBe(`/services/T000/B000/${SLACK_TOKEN}`);
    expect(slack.headers['content-type']).toBe('application/json');
    expect(Object.keys(JSON.parse(slack.body))).toEqual(['text']);
    expect(JSON.parse(slack.body).text).toMatch(/^\*ferry app: backup success\*\narchive app-/);

    const telegram = find((g) => g.path.startsWith('/bot'));
    expect(telegram.method).toBe('POST');
    expect(telegram.path).toBe(`/bot${TELEGRAM_TOKEN}/sendMessage`);
    expect(telegram.headers['content-type']).toBe('application/json');
    const t = JSON.parse(telegram.body);
    expect(t).toMatchObject({ chat_id: -1001234, disable_notification: true });
    expect(t.text).toMatch(/^ferry app: backup success\narchive app-/);
    expect(t).not.toHaveProperty('parse_mode');

    const gotify = find((g) => g.path === '/message');
    expect(gotify.method).toBe('POST');
    expect(gotify.headers['x-gotify-key']).toBe(GOTIFY_TOKEN);
    expect(gotify.query.get('token')).toBeNull();
    expect(JSON.parse(gotify.body)).toEqual({ title: 'ferry app: backup success', message: expect.stringContaining(`archive ${archive}`), priority: 5 });

    const matrix = find((g) => g.path.startsWith('/_matrix/'));
    expect(matrix.method).toBe('PUT');
    expect(matrix.path).toMatch(/^\/_matrix\/client\/v3\/rooms\/!room%3Aexample\.org\/send\/m\.room\.message\/ferry-[0-9a-f-]{36}$/);
    expect(matrix.headers.authorization).toBe(`Bearer ${MATRIX_TOKEN}`);
    expect(JSON.parse(matrix.body)).toEqual({ msgtype: 'm.text', body: expect.stringMatching(/^ferry app: backup success\narchive app-/) });

    const shown = [r.stdout, r.stderr, await readFile(join(ws.dir, 'state', 'last_run.json'), 'utf8'), (await ws.run(['status', '--json'], runEnv())).stdout];
    for (const secret of SECRETS) for (const text of shown) expect(text).not.toContain(secret);
  });

  it('a map template is sent as JSON with its placeholders filled in, keeping numbers and lists as they are', async () => {
    const r = await ws.run(['run', '--json'], runEnv());
    expect(r.code, r.stderr).toBe(0);
    const archive = JSON.parse(r.stdout).archive as string;
    const hook = find((g) => g.path === '/hook/json');
    expect(hook.headers['content-type']).toBe('application/json');
    const body = JSON.parse(hook.body);
    expect(body).toEqual({
      text: 'ferry app: backup success',
      job: 'app',
      code: 0,
      targets: [expect.objectContaining({ target: 'local', status: 'success' })],
      note: expect.stringMatching(new RegExp(`^archive ${archive.replace(/\./g, '\\.')} on \\S+$`)),
    });
    const text = find((g) => g.path === '/hook/text');
    expect(text.headers['content-type']).toBe('text/x-ferry');
    expect(text.body).toBe(`ferry app success: ${archive}\n`);
  });

  it('a service that refuses is logged with its reason, never with the token, and the run still exits 0', async () => {
    rx.refuse.on = true;
    const r = await ws.run(['run'], runEnv());
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/notify\[2\] \(telegram 127\.0\.0\.1:\d+\): notification failed: HTTP 400 Bad Request: Bad Request: chat not found/);
    expect(r.stderr).toMatch(/notify\[3\] \(gotify 127\.0\.0\.1:\d+\): notification failed: HTTP 401 Unauthorized: you need to provide a valid access token/);
    expect(r.stderr).toMatch(/notify\[0\] \(discord 127\.0\.0\.1:\d+\): notification failed/);
    for (const secret of SECRETS) expect(r.stderr).not.toContain(secret);
  });

  it('an unknown template placeholder and a chat notifier without its token are config errors naming the key', async () => {
    const other = await workspace();
    try {
      await other.writeConfig(basicConfig({
        notify: [
          { type: 'webhook', url: 'https://example.org/hook', template: { text: '{{jobname}}' } },
          { type: 'telegram', chat_id: 1 },
        ],
      }));
      const r = await other.run(['check']);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/notify\.0\.template: unknown placeholder \{\{jobname\}\}; known: kind, job,/);
      expect(r.stderr).toMatch(/notify\.1\.bot_token: set bot_token \(or bot_token_file\)/);
    } finally {
      await other.cleanup();
    }
  });
});
