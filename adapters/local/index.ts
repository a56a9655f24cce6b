import { z } from 'zod';
import { defineAdapter } from '../../src/storage/definition.js';
import { canonicalPath, resolveUserPath } from '../../src/util/paths.js';

export const localOptions = {
  /** Directory that holds the archives; created when missing. `~` and relative paths are resolved against the config file. */
  path: z.string().min(1).describe('Directory that holds the archives; created when missing'),
};

export default defineAdapter({
  type: 'local',
  options: localOptions,
  location: (options, context) => `directory ${canonicalPath(resolveUserPath(context.configDir, options.path))}`,
  async create(name, options, context) {
    const { LocalAdapter } = await import('./adapter.js');
    return new LocalAdapter(name, resolveUserPath(context.configDir, options.path));
  },
  async createTree(name, options, context) {
    const { LocalTree } = await import('./tree.js');
    return new LocalTree(name, resolveUserPath(context.configDir, options.path));
  },
});
