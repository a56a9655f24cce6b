import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { testTreeTarget } from '../conformance/tree-suite.js';
import { basicConfig, workspace, type Workspace } from '../helpers/cli.js';
import { startSshd, type SshdHandle } from '../servers/sshd.js';

let sshd: SshdHandle | undefined;
const ssh = () => ({ host: sshd!.host, port: sshd!.port, user: sshd!.user, private_key_file: sshd!.privateKeyFile, known_hosts: sshd!.knownHostsFile });

testTreeTarget('an sftp server (OpenSSH)', async () => {
  sshd = await startSshd();
  return {
    target: (path) => ({ type: 'sftp', ...ssh(), path }),
    pathFor: (job) => join(sshd!.dataDir, 'sftp', job),
    onDisk: (job) => join(sshd!.dataDir, 'sftp', job),
    cleanup: () => sshd!.dispose(),
  };
});

describe('format: tree on an sftp server without hardlink@openssh.com', () => {
  let server: SshdHandle;
  let ws: Workspace;
  beforeAll(async () => {
    server = await startSshd({ sftpRefuses: ['hardlink'] });
    ws = await workspace();
    await ws.writeConfig(basicConfig({
      targets: { snap: { type: 'sftp', host: server.host, port: server.port, user: server.user, private_key_file: server.privateKeyFile, known_hosts: server.knownHostsFile, path: join(server.dataDir, 'tree'), keep: 3, format: 'tree' } },
    }));
  }, 120_000);
  afterAll(async () => {
    await ws?.cleanup();
    await server?.dispose();
  });

  it('check says the server lacks hard links', async () => {
    const r = await ws.run(['check']);
    expect(r.code).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(/does not offer the hardlink@openssh\.com extension/);
  });

  it('the second run fails the target with an error naming the missing extension, and the first snapshot stays the latest', async () => {
    const first = await ws.run(['run']);
    expect(first.code, first.stderr).toBe(0);
    const second = await ws.run(['run']);
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(/snap.*hardlink@openssh\.com/);
    const list = JSON.parse((await ws.run(['list', '--json'])).stdout);
    expect(list.targets[0].archives).toHaveLength(1);
  });
});

describe('names that are not valid UTF-8 on an sftp tree target (the SFTP client sends names as UTF-8)', () => {
  let server: SshdHandle;
  let ws: Workspace;
  const raw = Buffer.concat([Buffer.from('caf'), Buffer.from([0xe9]), Buffer.from('.txt')]);
  beforeAll(async () => {
    server = await startSshd();
    ws = await workspace();
    const src = join(ws.dir, 'src');
    mkdirSync(src);
    writeFileSync(Buffer.concat([Buffer.from(`${src}/`), raw]), 'latin-1 name\n');
    writeFileSync(join(src, 'ok.txt'), 'plain\n');
    await ws.writeConfig({
      job: 'app', state_dir: './state', sources: [{ path: src, as: 'data' }],
      targets: { snap: { type: 'sftp', host: server.host, port: server.port, user: server.user, private_key_file: server.privateKeyFile, known_hosts: server.knownHostsFile, path: join(server.dataDir, 'raw'), keep: 3, format: 'tree' } },
    });
  }, 120_000);
  afterAll(async () => {
    await ws?.cleanup();
    await server?.dispose();
  });

  it('are never stored under a changed name: the run stores the rest, names the file as not stored and exits 3', async () => {
    const r = await ws.run(['run', '--json']);
    expect(r.code, r.stderr).toBe(3);
    const result = JSON.parse(r.stdout);
    expect(JSON.stringify(result.attention)).toMatch(/data\/caf\uFFFD\.txt.*not valid UTF-8.*target \\"snap\\"/);
    const snapshot = readdirSync(join(server.dataDir, 'raw')).find((n) => /^app-\d{8}T\d{6}Z$/.test(n))!;
    expect(readdirSync(join(server.dataDir, 'raw', snapshot, 'data'))).toEqual(['ok.txt']);
    const v = await ws.run(['verify', 'latest']);
    expect(v.code, v.stderr).toBe(0);
  });
});
