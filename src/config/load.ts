import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { LineCounter, parseDocument, visit, type Document } from 'yaml';
import type { z } from 'zod';
import { ConfigError, type ConfigIssue } from '../errors.js';
import { resolveUserPath } from '../util/paths.js';
import { interpolate, type KeyPath } from './interpolate.js';
import { humanIssues } from './messages.js';
import { splitConnInfo } from './pg-conninfo.js';
import { ConfigPositions } from './positions.js';
import { configSchema, type Config } from './schema.js';
import { secretKeys } from './secret.js';
import { checkSourceOverlaps } from './source-rules.js';
import { checkTreeTargets } from './tree-rules.js';
import { SOURCE_KINDS, sourceKindOf } from './sources.js';
import { checkTargetPlaces } from './target-places.js';
import { didYouMean } from './suggest.js';
import { configWarnings } from './warnings.js';
import { yamlIssues } from './yaml-errors.js';

export interface LoadedConfig extends Config {
  /** Absolute path of the config file. */
  configPath: string;
  configDir: string;
  /** Absolute state directory (lock, last_run.json, history.jsonl). */
  stateDir: string;
  /** Absolute directory for temporary files (database dumps). */
  stagingDir: string;
  /** Things that load but probably do not mean what was written (`$VAR` without braces, `~user/`), each at its key. */
  warnings: ConfigIssue[];
  /** The config file as messages name it (relative to the working directory when inside it). */
  configFile: string;
}

/** How messages name a config file: relative to the working directory when it is inside it, else absolute. */
export function displayPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

/** Where the config is read from: `-c`, then `FERRY_CONFIG`, then `./backup.config.yaml`. */
export function configPathFrom(flag: string | undefined, env = process.env): string {
  return resolve(flag ?? env.FERRY_CONFIG ?? 'backup.config.yaml');
}

/** A config file larger than this is refused before it is parsed. */
export const MAX_CONFIG_BYTES = 1024 * 1024;
/** Alias expansions allowed while building the config (YAML "billion laughs" protection). */
const MAX_ALIAS_COUNT = 100;

/**
 * Reads, interpolates, validates and normalizes a config file. Every problem
 * is collected and thrown as one ConfigError whose lines name the
 * key's dot-path and its line in the file. A file over MAX_CONFIG_BYTES, or
 * one whose aliases expand too much, is refused without being built.
 */
export function loadConfig(path: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const file = displayPath(path);
  const text = readConfigText(path, file);
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const positions = new ConfigPositions(doc, lineCounter);
  if (doc.errors.length > 0) throw new ConfigError(file, yamlIssues(doc.errors, text, doc, positions));
  const lineOf = (p: KeyPath, key?: string) => positions.of(p, key)?.line;
  const issues: ConfigIssue[] = [];
  const fail = () => {
    positions.place(issues);
    return new ConfigError(file, issues);
  };
  let js: unknown;
  try {
    js = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (err) {
    if (!(err instanceof ReferenceError)) throw err;
    throw new ConfigError(file, [{ path: '', ...firstAlias(doc, positions), message: `YAML aliases expand too much (more than ${MAX_ALIAS_COUNT} alias uses): ${err.message}` }]);
  }
  const raw = interpolate(js, env, (p, variable) => {
    issues.push({ path: p.join('.'), line: lineOf(p), message: `environment variable ${variable} is not set (write \${${variable}:-default} for a default)` });
  });
  if (issues.length) throw fail();
  const warnings = configWarnings(js, SECRETS, lineOf);
  positions.place(warnings);

  validate(raw, positions, issues);
  if (issues.length) throw fail();
  const config = configSchema.parse(raw) as Config;

  const configDir = dirname(path);
  resolveSecretFiles(config, configDir, [], lineOf, issues);
  checkSourceNames(config, lineOf, issues);
  checkSourceOverlaps(config, configDir, config.sources.map(sourceArchivePath), lineOf, issues);
  checkRecipientsFile(config, configDir, lineOf, issues);
  checkTargetPlaces(config, configDir, lineOf, issues);
  checkTreeTargets(config, lineOf, issues);
  if (issues.length) throw fail();

  const stateHome = env.XDG_STATE_HOME ?? join(env.HOME ?? tmpdir(), '.local', 'state');
  return {
    ...config,
    configPath: path,
    configDir,
    stateDir: config.state_dir ? resolveUserPath(configDir, config.state_dir) : join(stateHome, 'ferry', config.job),
    stagingDir: config.staging_dir ? resolveUserPath(configDir, config.staging_dir) : tmpdir(),
    warnings,
    configFile: file,
  };
}

/** The file's text, refusing (ConfigError) a missing file or one over MAX_CONFIG_BYTES; at most that much plus one byte is read to tell. */
function readConfigText(path: string, file: string): string {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (err as Error).message;
    throw new ConfigError(path, [{ path: '', message: `cannot read config: ${reason}` }]);
  }
  try {
    const buf = Buffer.alloc(MAX_CONFIG_BYTES + 1);
    let n = 0;
    for (let r = 1; r > 0 && n < buf.length; n += r) r = readSync(fd, buf, n, buf.length - n, null);
    if (n > MAX_CONFIG_BYTES) {
      let line = 1;
      for (let i = buf.indexOf(10); i !== -1 && i < MAX_CONFIG_BYTES; i = buf.indexOf(10, i + 1)) line++;
      throw new ConfigError(file, [{ path: '', line, column: 1, message: `the config is larger than ${MAX_CONFIG_BYTES / 1024 / 1024} MiB (the limit is reached at this line); refusing to parse it` }]);
    }
    return buf.subarray(0, n).toString('utf8');
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(path, [{ path: '', message: `cannot read config: ${(err as Error).message}` }]);
  } finally {
    closeSync(fd);
  }
}

function firstAlias(doc: Document, positions: ConfigPositions): { line?: number; column?: number } {
  let at = {};
  visit(doc, {
    Alias(_, node) {
      if (node.range) at = positions.at(node.range[0]);
      return visit.BREAK;
    },
  });
  return at;
}

function validate(raw: unknown, positions: ConfigPositions, issues: ConfigIssue[]): void {
  // Sources are told apart by their kind key, so each is checked against its own schema for precise messages.
  const sources = (raw as { sources?: unknown })?.sources;
  const sourceIssues: z.core.$ZodIssue[] = [];
  if (Array.isArray(sources)) {
    sources.forEach((s, i) => {
      const kind = sourceKindOf(s);
      if (!kind) {
        const kinds = Object.keys(SOURCE_KINDS);
        const typo = s && typeof s === 'object' ? Object.keys(s).map((k) => didYouMean(k, kinds)).find(Boolean) ?? '' : '';
        sourceIssues.push({ code: 'custom', path: ['sources', i], message: `a source needs one of: ${kinds.join(', ')}${typo}`, input: s });
        return;
      }
      const r = SOURCE_KINDS[kind].safeParse(s);
      if (!r.success) sourceIssues.push(...r.error.issues.map((iss) => ({ ...iss, path: ['sources', i, ...iss.path] })));
    });
  }
  const result = configSchema.safeParse(raw);
  const all = [...sourceIssues, ...(result.success ? [] : result.error.issues.filter((i) => !(i.path[0] === 'sources' && i.path.length > 1 && sourceIssues.length)))];
  for (const issue of all) issues.push(...humanIssues(issue, { root: configSchema, raw, secrets: SECRETS, positionOf: (p, key) => positions.of(p, key) }));
}

/** Every option the config schema marks as secret; each accepts a `<name>_file` twin. */
const SECRETS = secretKeys(configSchema);

/**
 * Reads every `<secret>_file` into `<secret>`, resolving paths against the
 * config's directory: the one place a secret file is read (adapters get the
 * value, never the file).
 */
function resolveSecretFiles(
  node: unknown,
  configDir: string,
  path: KeyPath,
  lineOf: (p: KeyPath) => number | undefined,
  issues: ConfigIssue[],
): void {
  if (Array.isArray(node)) return node.forEach((v, i) => resolveSecretFiles(v, configDir, [...path, i], lineOf, issues));
  if (!node || typeof node !== 'object') return;
  const obj = node as Record<string, unknown>;
  for (const [key, value] of Object.entries(obj)) {
    const base = key.endsWith('_file') ? key.slice(0, -5) : undefined;
    if (base && SECRETS.has(base) && typeof value === 'string') {
      const p = [...path, key];
      if (obj[base] !== undefined) {
        issues.push({ path: p.join('.'), line: lineOf(p), message: `set either ${base} or ${key}, not both` });
        continue;
      }
      const file = resolveUserPath(configDir, value);
      try {
        const content = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
        if (!/\S/.test(content)) issues.push({ path: p.join('.'), line: lineOf(p), message: `${file} is empty; ${base} must not be empty` });
        else obj[base] = content;
      } catch (err) {
        issues.push({ path: p.join('.'), line: lineOf(p), message: `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` });
      }
      delete obj[key];
    } else {
      resolveSecretFiles(value, configDir, [...path, key], lineOf, issues);
    }
  }
}

/** An `encryption.recipients_file` that cannot be read or names no recipient is a config error, never an archive without a key. */
function checkRecipientsFile(config: Config, configDir: string, lineOf: (p: KeyPath) => number | undefined, issues: ConfigIssue[]): void {
  const name = config.encryption?.recipients_file;
  if (!name) return;
  const p = ['encryption', 'recipients_file'];
  const file = resolveUserPath(configDir, name);
  try {
    const lines = readFileSync(file, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    if (lines.length === 0) issues.push({ path: p.join('.'), line: lineOf(p), message: `${file} holds no recipients` });
  } catch (err) {
    issues.push({ path: p.join('.'), line: lineOf(p), message: `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` });
  }
}

const RESERVED = new Set(['inventory.json', 'inventory.txt']);

function checkSourceNames(config: Config, lineOf: (p: KeyPath) => number | undefined, issues: ConfigIssue[]): void {
  const seen = new Map<string, number>();
  config.sources.forEach((s, i) => {
    const name = sourceArchivePath(s);
    const p = ['sources', i, s.as ? 'as' : Object.keys(s)[0]!];
    if (RESERVED.has(name)) issues.push({ path: p.join('.'), line: lineOf(p), message: `"${name}" is reserved for the archive's inventory` });
    else if (name === '' || name.split('/').some((seg) => seg === '..' || seg === '.') || name.startsWith('/')) {
      issues.push({ path: p.join('.'), line: lineOf(p), message: `"${name}" must be a relative path inside the archive` });
    } else if (seen.has(name)) {
      issues.push({ path: p.join('.'), line: lineOf(p), message: `"${name}" is already used by sources.${seen.get(name)}` });
    }
    seen.set(name, i);
  });
}

/** The path a source is stored under inside the archive. */
export function sourceArchivePath(s: Config['sources'][number]): string {
  if (s.as) return s.as.replace(/\/+$/, '');
  if ('path' in s) return basename(s.path.replace(/\/+$/, ''));
  if ('sqlite' in s) return basename(s.sqlite);
  if ('postgres' in s) return `db/${postgresDbName(s.postgres) ?? 'postgres'}.sql`;
  return '';
}

function postgresDbName(pg: { url?: string; dbname?: string }): string | undefined {
  return pg.dbname ?? (pg.url ? splitConnInfo(pg.url).dbname : undefined);
}
