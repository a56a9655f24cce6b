import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { basicConfig, workspace, type Workspace } from '../helpers/cli.js';

const PASSWORD = 'smtp-SECRET-password-42';

interface Mail { from: string; to: string[]; raw: string; secure: boolean }
interface Login { user: string; secure: boolean }

/** A real SMTP server on loopback that records what it was sent and who logged in. */
async function smtp(options: SMTPServerOptions): Promise<{ server: SMTPServer; port: number; mails: Mail[]; logins: Login[] }> {
  const mails: Mail[] = [];
  const logins: Login[] = [];
  const server = new SMTPServer({
    logger: false,
    ...options,
    onAuth(auth, session, cb) {
      logins.push({ user: auth.username ?? '', secure: session.secure });
      if (auth.username === 'ferry' && auth.password === PASSWORD) return cb(null, { user: 'ferry' });
      return cb(new Error('Invalid username or password'));
    },
    onData(stream, session, cb) {
      let raw = '';
      stream.on('data', (d: Buffer) => { raw += d.toString(); });
      stream.on('end', () => {
        mails.push({ from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '', to: session.envelope.rcptTo.map((r) => r.address), raw, secure: session.secure });
        cb();
      });
    },
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.server.address() as AddressInfo).port, mails, logins };
}

describe('email notifications over SMTP', () => {
  let ws: Workspace;
  let certDir: string;
  let cert: string;
  let starttls: Awaited<ReturnType<typeof smtp>>;
  let noStarttls: Awaited<ReturnType<typeof smtp>>;
  let implicitTls: Awaited<ReturnType<typeof smtp>>;
  let plain: Awaited<ReturnType<typeof smtp>>;
  const servers = () => [starttls, noStarttls, implicitTls, plain];

  beforeAll(async () => {
    certDir = await mkdtemp(join(tmpdir(), 'ferry-smtp-cert-'));
    cert = join(certDir, 'cert.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(certDir, 'key.pem'), '-out', cert,
      '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], { stdio: 'ignore' });
    const tls = { key: await readFile(join(certDir, 'key.pem')), cert: await readFile(cert) };
    starttls = await smtp({ ...tls, authMethods: ['PLAIN', 'LOGIN'] });
    noStarttls = await smtp({ disabledCommands: ['STARTTLS'], allowInsecureAuth: true });
    implicitTls = await smtp({ ...tls, secure: true });
    plain = await smtp({ disabledCommands: ['STARTTLS', 'AUTH'], authOptional: true });
    ws = await workspace();
    await writeFile(join(ws.dir, 'smtp.password'), `${PASSWORD}\n`);
  });
  afterAll(async () => {
    await Promise.all(servers().map((s) => new Promise((r) => s.server.close(() => r(undefined)))));
    await ws.cleanup();
    await rm(certDir, { recursive: true, force: true });
  });
  beforeEach(() => { for (const s of servers()) { s.mails.length = 0; s.logins.length = 0; } });

  const email = (port: number, extra: Record<string, unknown> = {}) => ({
    type: 'email', host: '127.0.0.1', port, user: 'ferry', password_file: './smtp.password',
    from: 'Ferry <ferry@example.org>', to: ['ops@example.org', 'admin@example.org'], on: ['success'], ...extra,
  });
  const trustCert = () => ({ NODE_EXTRA_CA_CERTS: cert });

  it('sends the summary through STARTTLS with a self-signed certificate the system trusts, logging in only once encrypted', async () => {
    await ws.writeConfig(basicConfig({ notify: [email(starttls.port)] }));
    const r = await ws.run(['run', '--json'], trustCert());
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/notification failed/);
    const archive = JSON.parse(r.stdout).archive as string;
    expect(starttls.logins).toEqual([{ user: 'ferry', secure: true }]);
    expect(starttls.mails).toHaveLength(1);
    const mail = starttls.mails[0]!;
    expect(mail).toMatchObject({ from: 'ferry@example.org', to: ['ops@example.org', 'admin@example.org'], secure: true });
    expect(mail.raw).toMatch(/^Subject: ferry app: backup success\r$/m);
    expect(mail.raw).toMatch(/^From: Ferry <ferry@example\.org>\r$/m);
    expect(mail.raw).toMatch(/^To: ops@example\.org, admin@example\.org\r$/m);
    expect(mail.raw).toMatch(/^X-Ferry-Event: run\.success\r$/m);
    expect(mail.raw).toContain(`archive ${archive}`);
    expect(mail.raw).toMatch(/^local: success\r$/m);
    expect(r.stdout + r.stderr).not.toContain(PASSWORD);
  });

  it('refuses a certificate the system does not trust, before the password is sent', async () => {
    await ws.writeConfig(basicConfig({ notify: [email(starttls.port)] }));
    const r = await ws.run(['run']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/notify\[0\] \(email 127\.0\.0\.1\): notification failed: SMTP 127\.0\.0\.1: .*(self[- ]signed|certificate)/i);
    expect(starttls.logins).toEqual([]);
    expect(starttls.mails).toEqual([]);
  });

  it('with tls: starttls, a server that offers no STARTTLS never gets the password', async () => {
    await ws.writeConfig(basicConfig({ notify: [email(noStarttls.port)] }));
    const r = await ws.run(['run']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/notify\[0\] \(email 127\.0\.0\.1\): notification failed: SMTP 127\.0\.0\.1: .*STARTTLS/i);
    expect(noStarttls.logins).toEqual([]);
    expect(noStarttls.mails).toEqual([]);
  });

  it('a wrong password is logged as a failed notification without the password, and the run still exits 0', async () => {
    await writeFile(join(ws.dir, 'wrong.password'), 'not-the-password-SECRET\n');
    await ws.writeConfig(basicConfig({ notify: [email(starttls.port, { password_file: './wrong.password' })] }));
    const r = await ws.run(['run'], trustCert());
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/notification failed: SMTP 127\.0\.0\.1: EAUTH: .*Invalid username or password/);
    expect(r.stderr).not.toContain('not-the-password-SECRET');
    expect(starttls.logins).toEqual([{ user: 'ferry', secure: true }]);
    expect(starttls.mails).toEqual([]);
  });

  it('tls: tls speaks TLS from the first byte (SMTPS)', async () => {
    await ws.writeConfig(basicConfig({ notify: [email(implicitTls.port, { tls: 'tls' })] }));
    const r = await ws.run(['run'], trustCert());
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/notification failed/);
    expect(implicitTls.logins).toEqual([{ user: 'ferry', secure: true }]);
    expect(implicitTls.mails.map((m) => m.secure)).toEqual([true]);
  });

  it('tls: none without a login delivers over a plain connection', async () => {
    await ws.writeConfig(basicConfig({ notify: [{ type: 'email', host: '127.0.0.1', port: plain.port, tls: 'none', from: 'ferry@example.org', to: ['ops@example.org'], on: ['success'] }] }));
    const r = await ws.run(['run']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/notification failed/);
    expect(plain.mails.map((m) => ({ to: m.to, secure: m.secure }))).toEqual([{ to: ['ops@example.org'], secure: false }]);
  });

  it('a password without a user is a config error, and the password is never printed', async () => {
    await ws.writeConfig(basicConfig({ notify: [{ type: 'email', host: 'smtp.example.org', password: PASSWORD, from: 'f@example.org', to: ['t@example.org'] }] }));
    const r = await ws.run(['check']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/notify\.0\.user: password needs user/);
    expect(r.stdout + r.stderr).not.toContain(PASSWORD);
  });
});
