import { z } from 'zod';
import { secret } from './secret.js';

/** A byte count: a number, or a string such as "500K", "2G" or "1.5TiB" (powers of 1024). */
export const sizeSchema = z
  .union([z.number().int().min(1), z.string().regex(/^\s*\d+(\.\d+)?\s*([kmgt](i?b)?|b)?\s*$/i, 'a size such as 1048576, "500M" or "2G"')])
  .transform((v) => {
    if (typeof v === 'number') return v;
    const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)/i.exec(v)!;
    return Math.floor(Number(m[1]) * 1024 ** ' kmgt'.indexOf((m[2] || ' ').toLowerCase()));
  });

const as = z.string().min(1).optional().describe('Path inside the archive; default: the basename');

export const pathSourceSchema = z.strictObject({
  path: z.string().min(1).describe('A directory or a single file'),
  as,
  exclude: z.array(z.string().min(1)).default([]).describe('.gitignore-style patterns relative to path: no slash matches at any depth, a trailing / only directories, ! re-includes'),
  exclude_if_present: z.array(z.string().min(1).regex(/^[^/]+$/, 'a file name, without a slash')).default([])
    .describe('Leave out every directory that contains a file of one of these names (e.g. .nobackup)'),
  exclude_caches: z.boolean().default(false).describe('Leave out directories holding a CACHEDIR.TAG file with the standard signature'),
  one_file_system: z.boolean().default(false).describe('Do not descend into other file systems; their mount points are stored as empty directories'),
  exclude_larger_than: sizeSchema.optional().describe('Leave out files larger than this (bytes, or "500M", "2G"; K/M/G/T are powers of 1024)'),
});

export const sqliteSourceSchema = z.strictObject({
  sqlite: z.string().min(1).describe('SQLite database file; copied with the online backup API'),
  as,
  vacuum: z.boolean().default(false).describe('Use VACUUM INTO instead of the backup API'),
  busy_timeout: z.number().int().min(0).default(5000).describe('Milliseconds to wait for locks'),
});

export const postgresSourceSchema = z.strictObject({
  postgres: z
    .strictObject({
      url: z.string().min(1).optional().describe('postgres://user@host:port/dbname (a password in it is moved to PGPASSWORD)'),
      host: z.string().optional().describe('Server host or socket directory; default: libpq defaults (PGHOST)'),
      port: z.number().int().min(1).max(65535).optional(),
      user: z.string().optional(),
      dbname: z.string().optional().describe('Database to dump; default: libpq defaults (PGDATABASE)'),
      ...secret('password', 'Database password, passed to pg_dump through the environment'),
      format: z.enum(['plain', 'custom']).default('plain').describe('plain: SQL for psql (-Fp); custom: for pg_restore (-Fc)'),
    })
    .refine((pg) => !(pg.url && (pg.host || pg.port || pg.user || pg.dbname)), {
      message: 'set either url or host/port/user/dbname, not both',
      path: ['url'],
    }),
  as,
  timeout: z.number().int().min(1).default(3600).describe('Seconds before pg_dump is killed'),
});

export const commandSourceSchema = z.strictObject({
  command: z.string().min(1).describe('Shell command whose stdout is stored as a file'),
  as: z.string().min(1).describe('Path of the stored output inside the archive'),
  timeout: z.number().int().min(1).default(300).describe('Seconds before the command is killed'),
  allow_failure: z.boolean().default(false).describe('Store the output and warn instead of failing on a non-zero exit or timeout'),
});

/** The key that tells which kind a source entry is. */
export const SOURCE_KINDS = {
  path: pathSourceSchema,
  sqlite: sqliteSourceSchema,
  postgres: postgresSourceSchema,
  command: commandSourceSchema,
} as const;
export type SourceKind = keyof typeof SOURCE_KINDS;

export const sourceSchema = z.union([pathSourceSchema, sqliteSourceSchema, postgresSourceSchema, commandSourceSchema]);

export type PathSource = z.infer<typeof pathSourceSchema>;
export type SqliteSource = z.infer<typeof sqliteSourceSchema>;
export type PostgresSource = z.infer<typeof postgresSourceSchema>;
export type CommandSource = z.infer<typeof commandSourceSchema>;
export type SourceConfig = z.infer<typeof sourceSchema>;

/** Picks the schema for one raw source entry by the kind key it carries. */
export function sourceKindOf(raw: unknown): SourceKind | undefined {
  if (!raw || typeof raw !== 'object') return undefined;
  return (Object.keys(SOURCE_KINDS) as SourceKind[]).find((k) => k in raw);
}
