import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

/**
 * `npm run test:unit`: the tests that need no root, no servers and no system
 * packages beyond a POSIX shell, tar and ssh-keygen, so that any user can run
 * them on a fresh clone. Tests that spawn `dist/` are in the list: the script
 * builds first. A file that moves must be moved here too. Most of these
 * tests wait on child processes, so two workers run even on two cores.
 */
export default defineConfig({
  cacheDir: join(tmpdir(), 'ferry-vitest-unit-cache'),
  test: {
    include: [
      'test/exit-codes.test.ts',
      'test/config/*.test.ts',
      'test/retention/*.test.ts',
      'test/restore/{select,select-paths,gunzip,verify-names,foreign-archives,bounded-memory,tar-names-numbers,inventory-check}.test.ts',
      'test/pipeline/{tar-header,tar-writer,walk,excludes,fan-out,hooks,command-source,inventory-commands,loaded-libraries}.test.ts',
      'test/job/status.test.ts',
      'test/index/*.test.ts',
      'test/storage/{wrappers,local}.test.ts',
      'test/adapters/{ssh-host-key,s3-part-size}.test.ts',
      'test/service/{scheduler,metrics,dashboard-rules}.test.ts',
      'test/state/{lock,staging-dirs}.test.ts',
      'test/util/*.test.ts',
      'test/cli/{exit-guard,archive-trust,restore-select,target-config}.test.ts',
      'test/helpers/*.test.ts',
    ],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: Math.max(2, availableParallelism() - 1),
    minWorkers: 1,
  },
});
