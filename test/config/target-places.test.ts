import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';

describe('two targets that resolve to the same place', () => {
  let dir: string;
  beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'ferry-places-')); });
  afterEach(async () => { await rm(dir, { recursive: true, force: true }); });

  async function load(targets: Record<string, unknown>) {
    const path = join(dir, 'backup.config.yaml');
    await writeFile(path, stringify({ job: 'app', sources: [{ path: './data' }], targets }));
    return loadConfig(path, {});
  }
  async function problems(targets: Record<string, unknown>): Promise<string[]> {
    const err = await load(targets).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).issues.map((i) => `${i.path}@${i.line}: ${i.message}`);
  }
  const ssh = { user: 'b', host_key: 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' };

  it('the same local or usb directory, spelled through a symlink, a relative path or ~, is a config error naming both', async () => {
    await mkdir(join(dir, 'real'));
    await symlink(join(dir, 'real'), join(dir, 'link'));
    const found = await problems({
      daily: { type: 'local', path: './real', keep: 7 },
      weekly: { type: 'local', path: `${join(dir, 'link')}/`, keep: 2 },
      drive: { type: 'usb', path: `${dir}/real/../real`, mountpoint: dir, keep: 3 },
    });
    expect(found).toHaveLength(2);
    expect(found[0]).toMatch(/^targets\.weekly@\d+: targets daily and weekly resolve to the same place \(directory .*real\)/);
    expect(found[1]).toMatch(/^targets\.drive@\d+: targets daily and drive resolve to the same place/);
    const home = await problems({ a: { type: 'local', path: '~/ferry-never-created', keep: 7 }, b: { type: 'local', path: join(homedir(), 'ferry-never-created'), keep: 2 } });
    expect(home[0]).toMatch(/targets a and b resolve to the same place/);
  });

  it('a directory that does not exist yet still collides with the same path through a symlink', async () => {
    await mkdir(join(dir, 'real'));
    await symlink('real', join(dir, 'link'));
    const found = await problems({ a: { type: 'local', path: './real/new', keep: 7 }, b: { type: 'local', path: './link/new', keep: 2 } });
    expect(found[0]).toMatch(/targets a and b resolve to the same place/);
  });

  it('the same s3 endpoint, bucket and prefix is a config error; another prefix is not', async () => {
    const s3 = { type: 's3', bucket: 'backups', keep: 3 };
    const found = await problems({
      one: { ...s3, endpoint: 'https://S3.example.com', prefix: 'mss/' },
      two: { ...s3, endpoint: 'https://s3.example.com:443/', prefix: 'mss/' },
    });
    expect(found[0]).toMatch(/^targets\.two@\d+: targets one and two resolve to the same place \(s3 .*bucket backups prefix "mss\/"\)/);
    await load({ one: { ...s3, endpoint: 'https://s3.example.com', prefix: 'mss/' }, two: { ...s3, endpoint: 'https://s3.example.com', prefix: 'other/' } });
  });

  it('sftp and rsync to the same host, port and directory collide; another port or directory does not', async () => {
    const found = await problems({
      offsite: { type: 'sftp', host: 'Backup.example.com', path: 'backups/mss', keep: 30, ...ssh },
      nas: { type: 'rsync', host: 'backup.example.com', port: 22, path: '~/backups/mss/', keep: 14, ...ssh },
    });
    expect(found[0]).toMatch(/^targets\.nas@\d+: targets offsite and nas resolve to the same place \(ssh backup\.example\.com:22 ~b\/backups\/mss\)/);
    await load({
      a: { type: 'sftp', host: 'h', path: '/srv/mss', keep: 3, ...ssh },
      b: { type: 'sftp', host: 'h', port: 2222, path: '/srv/mss', keep: 3, ...ssh },
      c: { type: 'rsync', host: 'h', path: '/srv/other', keep: 3, ...ssh },
    });
  });
});
