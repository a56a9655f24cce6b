import { execFileSync } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { basicConfig, SAMPLE_APP, workspace, type Workspace } from '../helpers/cli.js';

const sh = (cmd: string, cwd: string) => execFileSync('/bin/sh', ['-c', cmd], { cwd, encoding: 'utf8' });

describe('ferry run and restore on a local target', () => {
  let ws: Workspace;
  beforeEach(async () => { ws = await workspace(); });
  afterEach(async () => { await ws.cleanup(); });

  it('makes a tar.gz and manifest that GNU tar lists, and restores the tree byte for byte (symlink and empty dir included)', async () => {
    await ws.writeConfig(basicConfig());
    const run = await ws.run(['run']);
    expect(run.code, run.stderr).toBe(0);
    const files = await readdir(join(ws.dir, 'backups'));
    const archive = files.find((f) => /^app-\d{8}T\d{6}Z\.tar\.gz$/.test(f))!;
    expect(archive).toBeDefined();
    expect(files).toContain(`${archive}.manifest.json`);
    expect(files).toContain('app-latest.tar.gz');

    const listed = sh(`tar -tzf backups/${archive}`, ws.dir).split('\n').filter(Boolean);
    const expected = sh('find . -mindepth 1', join(ws.dir, 'app')).split('\n').filter(Boolean)
      .map((p) => `app/${p.slice(2)}`);
    for (const p of expected) expect(listed.map((l) => l.replace(/\/$/, ''))).toContain(p);
    expect(listed.slice(-2)).toEqual(['inventory.json', 'inventory.txt']);

    const list = await ws.run(['list', '--json']);
    expect(JSON.parse(list.stdout).targets[0].archives.map((a: { name: string }) => a.name)).toEqual([archive]);

    const restored = await ws.run(['restore', 'latest', '--to', join(ws.dir, 'out')]);
    expect(restored.code, restored.stderr).toBe(0);
    sh(`diff -r ${SAMPLE_APP} out/app`, ws.dir);
    expect(sh('readlink out/app/current-config.yaml', ws.dir).trim()).toBe('config/app.yaml');
    expect((await readdir(join(ws.dir, 'out/app/uploads/empty-dir'))).length).toBe(0);
  });

  it('restores modes and mtimes, directories included, each in its own second even in the last half millisecond of it', async () => {
    await writeFile(join(ws.dir, 'app/logs/secret.log'), 'x');
    await writeFile(join(ws.dir, 'app/logs/late.log'), 'y');
    sh('chmod 600 app/logs/secret.log && touch -d "2020-01-02 03:04:05" app/logs app/logs/secret.log && touch -d "2020-01-02 03:04:05.9997" app/logs/late.log', ws.dir);
    await ws.writeConfig(basicConfig());
    expect((await ws.run(['run'])).code).toBe(0);
    expect((await ws.run(['restore', '--to', 'out'])).code).toBe(0);
    expect(sh('stat -c "%a %Y" app/logs/secret.log app/logs/late.log app/logs', ws.dir)).toBe(sh('stat -c "%a %Y" out/app/logs/secret.log out/app/logs/late.log out/app/logs', ws.dir));
  });

  it('--only restores a subset, and a non-empty destination needs --force', async () => {
    await ws.writeConfig(basicConfig());
    expect((await ws.run(['run'])).code).toBe(0);
    const only = await ws.run(['restore', '--to', 'part', '--only', 'app/logs/**']);
    expect(only.code, only.stderr).toBe(0);
    expect(sh('find part -type f | sort', ws.dir).trim().split('\n')).toEqual(['part/app/logs/app.log', 'part/app/logs/error.log']);
    const again = await ws.run(['restore', '--to', 'part']);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/not empty.*--force/);
    expect((await ws.run(['restore', '--to', 'part', '--force'])).code).toBe(0);
    sh(`diff -r ${SAMPLE_APP} part/app`, ws.dir);
  });

  it('encrypts to an age recipient: the age CLI and ferry restore --identity both decrypt it; a wrong identity fails cleanly', async () => {
    const keygen = await ws.run(['keygen', '--out', 'key.txt']);
    expect(keygen.code, keygen.stderr).toBe(0);
    const recipient = /age1[0-9a-z]+/.exec(keygen.stdout)![0];
    await ws.writeConfig(basicConfig({ encryption: { recipients: [recipient] } }));
    const run = await ws.run(['run']);
    expect(run.code, run.stderr).toBe(0);
    const archive = (await readdir(join(ws.dir, 'backups'))).find((f) => f.endsWith('Z.tar.gz.age'))!;
    expect(archive).toBeDefined();
    await mkdir(join(ws.dir, 'by-age'));
    sh(`age -d -i key.txt backups/${archive} | tar -xz -C by-age`, ws.dir);
    sh(`diff -r ${SAMPLE_APP} by-age/app`, ws.dir);

    const restored = await ws.run(['restore', '--identity', 'key.txt', '--to', 'by-ferry']);
    expect(restored.code, restored.stderr).toBe(0);
    sh(`diff -r ${SAMPLE_APP} by-ferry/app`, ws.dir);

    await ws.run(['keygen', '--out', 'other.txt']);
    const wrong = await ws.run(['restore', '--identity', 'other.txt', '--to', 'wrong']);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/cannot decrypt .*do not match/);
    await expect(readdir(join(ws.dir, 'wrong'))).rejects.toThrow();
  });

  it('encrypts to an ssh-ed25519 public key: age -d -i with the SSH key and ferry restore --identity both decrypt it', async () => {
    sh("ssh-keygen -q -t ed25519 -N '' -C ferry-test -f id_ed25519", ws.dir);
    const pub = (await readFile(join(ws.dir, 'id_ed25519.pub'), 'utf8')).trim();
    await ws.writeConfig(basicConfig({ encryption: { recipients: [pub] } }));
    const run = await ws.run(['run']);
    expect(run.code, run.stderr).toBe(0);
    const archive = (await readdir(join(ws.dir, 'backups'))).find((f) => f.endsWith('Z.tar.gz.age'))!;
    await mkdir(join(ws.dir, 'by-age'));
    sh(`age -d -i id_ed25519 backups/${archive} | tar -xz -C by-age`, ws.dir);
    sh(`diff -r ${SAMPLE_APP} by-age/app`, ws.dir);
    const restored = await ws.run(['restore', '--identity', 'id_ed25519', '--to', 'by-ferry']);
    expect(restored.code, restored.stderr).toBe(0);
    sh(`diff -r ${SAMPLE_APP} by-ferry/app`, ws.dir);
  });

  it('reads age files made by the age CLI for a recipient from ferry keygen', async () => {
    await ws.run(['keygen', '--out', 'key.txt']);
    const recipient = /public key: (age1[0-9a-z]+)/.exec(await readFile(join(ws.dir, 'key.txt'), 'utf8'))![1]!;
    sh(`echo hello > hello.txt && age -r ${recipient} -o hello.txt.age hello.txt`, ws.dir);
    const { makeDecrypter } = await import('../../src/restore/decrypt.js');
    const decrypt = await makeDecrypter({ identityFiles: [join(ws.dir, 'key.txt')] });
    const { createReadStream } = await import('node:fs');
    const chunks: Buffer[] = [];
    for await (const c of await decrypt(createReadStream(join(ws.dir, 'hello.txt.age')), 'hello')) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('hello\n');
  });

  it('encrypts with a passphrase from the environment, and a wrong passphrase fails with one clear error', async () => {
    await ws.writeConfig(basicConfig({ encryption: { passphrase: '${FERRY_PASSPHRASE}' } }));
    const run = await ws.run(['run'], { FERRY_PASSPHRASE: 'correct horse battery staple' });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout + run.stderr).not.toContain('correct horse');
    const manifest = (await readdir(join(ws.dir, 'backups'))).find((f) => f.endsWith('.age.manifest.json'))!;
    expect(await readFile(join(ws.dir, 'backups', manifest), 'utf8')).not.toContain('correct horse');
    const ok = await ws.run(['restore', '--to', 'out'], { FERRY_PASSPHRASE: 'correct horse battery staple' });
    expect(ok.code, ok.stderr).toBe(0);
    sh(`diff -r ${SAMPLE_APP} out/app`, ws.dir);
    const bad = await ws.run(['restore', '--to', 'bad'], { FERRY_PASSPHRASE: 'wrong' });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/cannot decrypt/);
  });
});
