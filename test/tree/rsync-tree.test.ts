import { join } from 'node:path';
import { testTreeTarget } from '../conformance/tree-suite.js';
import { startSshd, type SshdHandle } from '../servers/sshd.js';

let sshd: SshdHandle | undefined;

testTreeTarget('an rsync server over ssh', async () => {
  sshd = await startSshd();
  const ssh = { host: sshd.host, port: sshd.port, user: sshd.user, private_key_file: sshd.privateKeyFile, known_hosts: sshd.knownHostsFile };
  return {
    target: (path) => ({ type: 'rsync', ...ssh, path }),
    pathFor: (job) => join(sshd!.dataDir, 'rsync', job),
    onDisk: (job) => join(sshd!.dataDir, 'rsync', job),
    cleanup: () => sshd!.dispose(),
  };
});
