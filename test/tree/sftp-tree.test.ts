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
