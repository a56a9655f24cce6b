import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { basicConfig, type Workspace } from './cli.js';

/**
 * A config directory (`name`, default `ferry.d`) in the workspace with one job file per entry
 * (`<job>.yaml`): each backs up the workspace's app copy to its own local
 * target `backups-<job>` with its own state dir; `extra` is merged into the job.
 */
export async function jobsDir(ws: Workspace, jobs: Record<string, Record<string, unknown>>, name = 'ferry.d'): Promise<string> {
  const d = join(ws.dir, name);
  await mkdir(d, { recursive: true });
  for (const [job, extra] of Object.entries(jobs)) {
    await writeFile(join(d, `${job}.yaml`), stringify(basicConfig({
      job,
      state_dir: `../state-${job}`,
      sources: [{ path: '../app', as: 'app' }],
      targets: { local: { type: 'local', path: `../backups-${job}`, keep: 3 } },
      ...extra,
    })));
  }
  return d;
}
