import { z } from 'zod';
import { configSchema } from './schema.js';

/**
 * Prints the JSON Schema of backup.config.yaml, generated from the same zod
 * schema the loader validates with (`npm run schema` writes
 * backup.config.schema.json; editors use it for completion).
 */
export function configJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return { ...schema, title: 'Ferry backup.config.yaml', $id: 'https://ferry.invalid/backup.config.schema.json' };
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  process.stdout.write(JSON.stringify(configJsonSchema(), null, 2) + '\n');
}
