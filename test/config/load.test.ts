import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { redact } from '../../src/config/redact.js';
import { configJsonSchema } from '../../src/config/json-schema.js';
import { ConfigError } from '../../src/errors.js';

describe('config loading', () => {
  let dir: string;
  beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'ferry-cfg-')); });
  afterEach(async () => { await rm(dir, { recursive: true, force: true }); });

  async function load(yaml: string, env: NodeJS.ProcessEnv = {}) {
    const path = join(dir, 'backup.config.yaml');
    await writeFile(path, yaml);
    return loadConfig(path, env);
  }
  async function issues(yaml: string, env: NodeJS.ProcessEnv = {}) {
    try {
      await load(yaml, env);
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return (err as ConfigError).issues;
    }
    throw new Error('expected a config error');
  }

  const base = 'job: app\nsources:\n  - path: ./data\ntargets:\n  local: { type: local, path: ./b, keep: 3 }\n';

  it('fills ${VAR} and ${VAR:-default}, and $$ is a literal dollar', async () => {
    const c = await load('job: ${JOB}\nsources:\n  - path: ${DATA:-./data}\n    as: "cost$$"\ntargets:\n  local: { type: local, path: ./b, keep: 3 }\n', { JOB: 'shop' });
    expect(c.job).toBe('shop');
    expect(c.sources[0]).toMatchObject({ path: './data', as: 'cost$' });
  });

  it('reads x_file secrets from a file relative to the config and never accepts both forms', async () => {
    await writeFile(join(dir, 'pass.txt'), 'hunter2\n');
    const c = await load(`${base}encryption:\n  passphrase_file: ./pass.txt\n`);
    expect(c.encryption?.passphrase).toBe('hunter2');
    const both = await issues(`${base}encryption:\n  passphrase: a\n  passphrase_file: ./pass.txt\n`);
    expect(both[0]).toMatchObject({ path: 'encryption.passphrase_file', line: 8 });
  });

  it('names a missing secret file without printing any secret', async () => {
    const found = await issues(`${base}encryption:\n  passphrase_file: ./nope.txt\n`);
    expect(found[0]!.message).toMatch(/cannot read .*nope\.txt: ENOENT/);
  });

  it('reports every problem with its dot-path and line', async () => {
    const found = await issues('job: Bad Name\nsources:\n  - path: ./d\n    bogus: 1\n  - nothing: 2\ntargets:\n  t1: { type: nosuch, path: ./b, keep: 3 }\n  t2: { type: local, path: ./b, keep: 0 }\n');
    const byPath = Object.fromEntries(found.map((i) => [i.path, i]));
    expect(byPath['job']).toMatchObject({ line: 1 });
    expect(byPath['sources.0.bogus']).toMatchObject({ line: 4, column: 5, message: 'unknown key; expected one of: path, as, exclude, exclude_if_present, exclude_caches, one_file_system, exclude_larger_than' });
    expect(byPath['sources.1']?.message).toMatch(/needs one of: path, sqlite, postgres, command/);
    expect(byPath['targets.t1.type']).toMatchObject({ line: 7 });
    expect(byPath['targets.t2.keep']).toMatchObject({ line: 8 });
  });

  it('refuses a source named like the inventory, or two sources with one name', async () => {
    const found = await issues('job: app\nsources:\n  - path: ./a\n    as: inventory.json\n  - path: ./x/data\n  - path: ./y/data\ntargets:\n  l: { type: local, path: ./b, keep: 3 }\n');
    expect(found.map((i) => i.message).join('\n')).toMatch(/reserved for the archive's inventory[\s\S]*already used by sources\.1/);
  });

  it('an unknown timezone, of the job or of a target, is a config error naming the key and line', async () => {
    const found = await issues('job: app\ntimezone: Europe/Berln\nsources:\n  - path: ./data\ntargets:\n  local: { type: local, path: ./b, keep: 3, timezone: Mars/Olympus }\n');
    const byPath = Object.fromEntries(found.map((i) => [i.path, i]));
    expect(byPath['timezone']).toMatchObject({ line: 2 });
    expect(byPath['timezone']!.message).toMatch(/unknown time zone "Europe\/Berln"/);
    expect(byPath['targets.local.timezone']).toMatchObject({ line: 6 });
    expect(byPath['targets.local.timezone']!.message).toMatch(/unknown time zone "Mars\/Olympus"/);
    const ok = await load('job: app\ntimezone: Europe/Berlin\nsources:\n  - path: ./data\ntargets:\n  local: { type: local, path: ./b, keep: 3, timezone: UTC }\n');
    expect(ok.timezone).toBe('Europe/Berlin');
  });

  it('requires exactly one way to encrypt', async () => {
    const found = await issues(`${base}encryption:\n  recipients: [age1abc]\n  passphrase: x\n`);
    expect(found[0]!.path).toBe('encryption');
  });

  it('redacts secrets wherever config is printed', () => {
    expect(redact({ encryption: { passphrase: 'hunter2' }, targets: { s: { secret_access_key: 'k', bucket: 'b' } } }))
      .toEqual({ encryption: { passphrase: '***' }, targets: { s: { secret_access_key: '***', bucket: 'b' } } });
  });

  it('generates a JSON Schema from the same schema, listing every target type', () => {
    const schema = JSON.stringify(configJsonSchema());
    for (const type of ['local', 'usb', 's3']) expect(schema).toContain(`"const":"${type}"`);
    expect(schema).toContain('"additionalProperties":false');
  });
});

describe('backup.config.schema.json', () => {
  it('is up to date with the schema (regenerate with `npm run schema`)', async () => {
    const { readFile } = await import('node:fs/promises');
    const committed = JSON.parse(await readFile(new URL('../../backup.config.schema.json', import.meta.url), 'utf8'));
    expect(committed).toEqual(JSON.parse(JSON.stringify(configJsonSchema())));
  });
});
