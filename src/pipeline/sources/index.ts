import type { SourceConfig } from '../../config/sources.js';
import { sourceKindOf } from '../../config/sources.js';
import { prepareCommandSource } from './command.js';
import { preparePathSource } from './path.js';
import { preparePostgresSource } from './postgres.js';
import { prepareSqliteSource } from './sqlite.js';
import type { PreparedSource, SourceContext } from './types.js';

/**
 * Prepares every configured source in order. When one fails, the ones
 * already prepared are cleaned up and the error is rethrown.
 */
export async function prepareSources(sources: SourceConfig[], context: SourceContext): Promise<PreparedSource[]> {
  const prepared: PreparedSource[] = [];
  try {
    for (const source of sources) prepared.push(await prepareSource(source, context));
    return prepared;
  } catch (err) {
    await Promise.all(prepared.map((p) => p.cleanup()));
    throw err;
  }
}

async function prepareSource(source: SourceConfig, context: SourceContext): Promise<PreparedSource> {
  const kind = sourceKindOf(source);
  switch (kind) {
    case 'path':
      return preparePathSource(source as Extract<SourceConfig, { path: string }>, context);
    case 'sqlite':
      return prepareSqliteSource(source as Extract<SourceConfig, { sqlite: string }>, context);
    case 'postgres':
      return preparePostgresSource(source as Extract<SourceConfig, { postgres: object }>, context);
    case 'command':
      return prepareCommandSource(source as Extract<SourceConfig, { command: string }>, context);
    default:
      throw new Error(`sources: "${kind}" sources are not supported yet`);
  }
}
