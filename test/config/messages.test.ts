import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { ConfigError, type ConfigIssue } from '../../src/errors.js';
import { ferry } from '../helpers/cli.js';

let dir: string;
beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'ferry-msg-')); });
afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

let n = 0;
async function write(yaml: string): Promise<string> {
  const path = join(dir, `c${n++}.yaml`);
  await writeFile(path, yaml);
  return path;
}
async function issues(yaml: string): Promise<ConfigIssue[]> {
  try {
    loadConfig(await write(yaml), {});
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).issues;
  }
  throw new Error('expected a config error');
}
const byPath = (found: ConfigIssue[]) => Object.fromEntries(found.map((i) => [i.path, i]));
const base = 'job: app\nsources:\n  - path: ./data\ntargets:\n';

describe('config errors that teach', () => {
  it('a YAML tab, a misaligned key, a line indented under a value and a duplicate key each name their line and column', async () => {
    expect(await issues('job: app\ntargets:\n\tlocal: 1\n')).toEqual([
      { path: '', line: 3, column: 1, message: 'YAML syntax: a tab is used for indentation; YAML allows only spaces there' },
    ]);
    const misaligned = await issues('job: app\ntargets:\n  local:\n    type: local\n   keep: 3\n');
    expect(misaligned).toHaveLength(1);
    expect(misaligned[0]).toMatchObject({ line: 5, column: 4 });
    expect(misaligned[0]!.message).toMatch(/bad indentation: this key does not line up with the keys above it/);
    const nested = await issues('job: app\ntargets:\n  local:\n    type: local\n      keep: 3\n');
    expect(nested).toHaveLength(1);
    expect(nested[0]).toMatchObject({ line: 5, column: 7 });
    expect(nested[0]!.message).toMatch(/indented deeper than the line above, but `type` already has a value/);
    expect(await issues('job: app\ntargets:\n  local: {}\n  other: {}\n  local: {}\n')).toEqual([
      { path: '', line: 5, column: 3, message: 'YAML syntax: duplicate key `local` (first set at line 3); each key may be set once in a map' },
    ]);
    const colon = await issues('job: app\nsources\n  - path: x\n');
    expect(colon[0]).toMatchObject({ line: 2, column: 1 });
    expect(colon[0]!.message).toMatch(/is a `:` missing at the end of this line/);
  });

  it('schema failures say what was expected and what was found, at the key\'s line and column', async () => {
    const found = byPath(await issues(`${base}  local: { type: local, path: ./b, keep: "7" }\n  daily: { type: local, path: ./c, keep: { daily: x } }\n  zero: { type: local, path: ./d, keep: 0 }\n  nopath: { type: local, keep: 1 }\ncompression: { level: 10 }\n`));
    expect(found['targets.local.keep']).toEqual({
      path: 'targets.local.keep', line: 5, column: 42,
      message: 'expected a number or a map of last/hourly/daily/weekly/monthly/yearly, got the string "7"',
    });
    expect(found['targets.daily.keep.daily']).toMatchObject({ line: 6, message: 'expected a number, got the string "x"' });
    expect(found['targets.zero.keep']).toMatchObject({ line: 7, message: 'must be at least 1, got the number 0' });
    expect(found['targets.nopath.path']).toMatchObject({ line: 8, column: 3, message: 'missing: expected a string' });
    expect(found['compression.level']).toMatchObject({ line: 9, column: 23, message: 'must be at most 9, got the number 10' });
  });

  it('a string where a list belongs, and a value outside a fixed set, say so and suggest the fix', async () => {
    const found = byPath(await issues('job: app\nsources:\n  - path: ./data\n    exclude: "*.tmp"\n  - postgres: { dbname: app, format: plian }\ntargets:\n  l: { type: local, path: ./b, keep: 1 }\n'));
    expect(found['sources.0.exclude']!.message).toBe('expected a list, got the string "*.tmp"; write ["*.tmp"] for a list of one');
    expect(found['sources.1.postgres.format']!.message).toBe('expected one of "plain", "custom", got the string "plian"; did you mean `plain`?');
  });

  it('unknown keys, target types and source kinds get "did you mean"', async () => {
    const found = byPath(await issues('job: app\nsources:\n  - pth: ./data\ntargets:\n  local: { type: local, path: ./b, kep: 7 }\n  usb: { type: usbb, path: ./c, keep: 1 }\n'));
    expect(found['targets.local.kep']).toMatchObject({ line: 5, column: 36, message: 'unknown key; did you mean `keep`?' });
    expect(found['targets.usb.type']!.message).toMatch(/^expected one of local, usb, .*, got the string "usbb"; did you mean `usb`\?$/);
    expect(found['sources.0']!.message).toBe('a source needs one of: path, sqlite, postgres, command; did you mean `path`?');
  });

  it('a secret value is never quoted in a message', async () => {
    const found = await issues(`${base}  l: { type: local, path: ./b, keep: 1 }\nencryption: { passphrase: 12345 }\n`);
    expect(found.map((i) => i.message).join('\n')).toMatch(/encryption|expected a string, got the number|passphrase/);
    const text = await issues(`${base}  l: { type: local, path: ./b, keep: 1 }\nnotify:\n  - { type: ntfy, topic: t, token: [hunter2] }\n`);
    expect(JSON.stringify(text)).not.toContain('hunter2');
  });
});

describe('config warnings', () => {
  it('$VAR without braces and ~user/ paths load, with a warning at their key', async () => {
    const c = loadConfig(await write('job: app\nsources:\n  - path: $HOME/data\n  - path: ~alice/photos\n    exclude: ["$RECYCLE.BIN"]\n  - command: echo $USER\n    as: who.txt\ntargets:\n  l: { type: local, path: "./b$$x", keep: 1 }\n'), {});
    expect(c.warnings).toEqual([
      { path: 'sources.0.path', line: 3, column: 11, message: '$HOME is kept as written: only ${HOME} is replaced from the environment (write $$ for a literal $)' },
      { path: 'sources.1.path', line: 4, column: 11, message: '~alice/ is not expanded: only ~ and ~/ mean your home directory; write the full path' },
    ]);
  });

  it('a secret written as $NAME is warned about without quoting it', async () => {
    const c = loadConfig(await write(`${base}  l: { type: local, path: ./b, keep: 1 }\nencryption: { passphrase: $FERRY_PASS }\n`), {});
    expect(c.warnings).toHaveLength(1);
    expect(c.warnings[0]).toMatchObject({ path: 'encryption.passphrase', line: 6 });
    expect(c.warnings[0]!.message).not.toContain('FERRY_PASS');
  });
});

describe('config errors on the command line', () => {
  it('are printed as file:line:column: path: message, and --json lists them as { path, line, column, message }', async () => {
    const path = await write(`${base}  local: { type: local, path: ./b, keep: "7", kep: 1 }\n`);
    const human = await ferry(['-c', path, 'check'], { cwd: dir });
    expect(human.code).toBe(2);
    expect(human.stderr).toContain(`${path.slice(dir.length + 1)}:5:42: targets.local.keep: expected a number or a map of last/hourly/daily/weekly/monthly/yearly, got the string "7"`);
    const json = await ferry(['-c', path, '--json', 'check'], { cwd: dir });
    expect(json.code).toBe(2);
    const doc = JSON.parse(json.stdout) as { errors: unknown[] };
    expect(doc.errors).toEqual([
      { path: 'targets.local.keep', line: 5, column: 42, message: expect.stringMatching(/^expected a number or a map/), file: expect.stringMatching(/\.yaml$/) },
      { path: 'targets.local.kep', line: 5, column: 47, message: 'unknown key; did you mean `keep`?', file: expect.stringMatching(/\.yaml$/) },
    ]);
  });

  it('a YAML syntax error is exit 2 with its line and column, in --json too', async () => {
    const path = await write('job: app\ntargets:\n\tlocal: 1\n');
    const json = await ferry(['-c', path, '--json', 'check'], { cwd: dir });
    expect(json.code).toBe(2);
    expect((JSON.parse(json.stdout) as { errors: unknown[] }).errors).toEqual([
      expect.objectContaining({ path: '', line: 3, column: 1, message: expect.stringMatching(/tab is used for indentation/) }),
    ]);
  });

  it('warnings go to stderr and the command still runs', async () => {
    await writeFile(join(dir, 'w.yaml'), 'job: app\nstate_dir: ./st\nsources:\n  - path: ./w.yaml\ntargets:\n  l: { type: local, path: "./b-$NOPE", keep: 1 }\n');
    const r = await ferry(['-c', join(dir, 'w.yaml'), 'check'], { cwd: dir });
    expect(r.stderr).toContain('w.yaml:6:27: targets.l.path: $NOPE is kept as written');
    expect(r.code, r.stderr).toBe(0);
  });
});
