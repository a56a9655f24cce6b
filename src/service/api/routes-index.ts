import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { listArchive, type ListedEntry } from '../../index/ls.js';
import { decryptKeys } from '../../restore/keys.js';
import { checkArchiveName } from '../../restore/locate.js';
import { parseBody } from './bodies.js';
import type { ApiDeps } from './routes-read.js';

const entriesQuery = z.strictObject({
  path: z.string().max(4096).optional().describe('directory (or file) inside the archive; default: its top'),
  target: z.string().min(1).max(64).optional().describe('target to read from; default: the newest copy across targets'),
});

/**
 * `GET /api/archives/:name/entries?path=&target=`: one directory of an
 * archive (`:name` or `latest`), read from its index sidecar as `ferry ls`
 * reads it. Encrypted archives open with the configured passphrase (or
 * FERRY_PASSPHRASE); recipient-encrypted ones cannot be read by the API.
 */
export function registerIndexRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const { config } = deps;
  app.get<{ Params: { name: string } }>('/api/archives/:name/entries', async (req) => {
    const query = parseBody(entriesQuery, req.query);
    const which = req.params.name === 'latest' ? 'latest' : checkArchiveName(req.params.name, config.job);
    const entries: ListedEntry[] = [];
    const result = await listArchive(
      config,
      { which, from: query.target, path: query.path },
      { keys: decryptKeys(config, undefined), log: deps.log, signal: deps.signal },
      (e) => entries.push(e),
    );
    return { archive: result.archive, target: result.target, path: result.path, read_from: result.readFrom, entries };
  });
}
