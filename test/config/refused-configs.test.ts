import { access, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { basicConfig, workspace, type Workspace } from '../helpers/cli.js';

const exists = (p: string) => access(p).then(() => true, () => false);

describe('configs that are refused before anything runs', () => {
  let ws: Workspace;
  beforeEach(async () => { ws = await workspace(); });
  afterEach(async () => { await ws.cleanup(); });

  it('an empty passphrase, passphrase_file or recipients list is a config error naming the key, and no archive is made', async () => {
    await writeFile(join(ws.dir, 'empty.txt'), '');
    await writeFile(join(ws.dir, 'newline.txt'), '\n');
    await writeFile(join(ws.dir, 'blank.txt'), '  \t \n');
    await writeFile(join(ws.dir, 'comments.txt'), '# no recipients yet\n\n');
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ passphrase: '' }, /encryption\.passphrase: .*empty/],
      [{ passphrase: '   ' }, /encryption\.passphrase: .*empty/],
      [{ passphrase: '${EMPTY_PASSPHRASE}' }, /encryption\.passphrase: .*EMPTY_PASSPHRASE/],
      [{ passphrase_file: './empty.txt' }, /encryption\.passphrase_file: .*empty/],
      [{ passphrase_file: './newline.txt' }, /encryption\.passphrase_file: .*empty/],
      [{ passphrase_file: './blank.txt' }, /encryption\.passphrase_file: .*empty/],
      [{ recipients: [] }, /encryption\.recipients: .*empty/],
      [{ recipients: [' '] }, /encryption\.recipients\.0: .*empty/],
      [{ recipients_file: './comments.txt' }, /encryption\.recipients_file: .*no recipients/],
      [{ recipients_file: './empty.txt' }, /encryption\.recipients_file: .*no recipients/],
    ];
    for (const [encryption, message] of cases) {
      await ws.writeConfig(basicConfig({ encryption }));
      const r = await ws.run(['run'], { EMPTY_PASSPHRASE: '' });
      expect(r.code, `${JSON.stringify(encryption)}: ${r.stderr}`).toBe(2);
      expect(r.stderr, JSON.stringify(encryption)).toMatch(message);
      expect(r.stderr).toMatch(/backup\.config\.yaml:\d+:/);
      expect(await exists(join(ws.dir, 'backups')), JSON.stringify(encryption)).toBe(false);
    }
  }, 120_000);

  it('a YAML alias bomb (billion laughs) is refused at once with exit 2, naming the file and line', async () => {
    const lines = ['a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]'];
    for (let i = 1; i < 10; i++) lines.push(`a${i}: &a${i} [${Array(9).fill(`*a${i - 1}`).join(', ')}]`);
    const config = stringify(basicConfig());
    await writeFile(join(ws.dir, 'backup.config.yaml'), `${config}x-bomb:\n${lines.map((l) => `  ${l}`).join('\n')}\n`);
    const r = await ws.run(['check']);
    expect(r.code, r.stderr).toBe(2);
    const line = config.split('\n').length + 2; // the first alias use, after x-bomb: and a0:
    expect(r.stderr).toMatch(new RegExp(`backup\\.config\\.yaml:${line}:\\d+: .*alias`));
  });

  it('a config larger than 1 MiB is refused with exit 2, naming the file and the line where the limit is reached', async () => {
    const config = stringify(basicConfig());
    const padding = `# ${'x'.repeat(1000)}\n`;
    await writeFile(join(ws.dir, 'backup.config.yaml'), config + padding.repeat(2000));
    const r = await ws.run(['check']);
    expect(r.code, r.stderr).toBe(2);
    const line = config.split('\n').length + Math.floor((1024 * 1024 - config.length) / padding.length);
    expect(r.stderr).toMatch(new RegExp(`backup\\.config\\.yaml:${line}:1: .*larger than 1 MiB`));
  });
});
