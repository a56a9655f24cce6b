import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * `<state_dir>/schedule.json`: per schedule name (`backup`, `verify`), the
 * time up to which every slot has been handled. Written atomically.
 * A missing or unreadable file reads as empty.
 */
export interface ScheduleStateFile {
  [name: string]: { accounted_until: string; last_slot?: string } | undefined;
}

const FILE = 'schedule.json';

export async function readScheduleState(stateDir: string): Promise<ScheduleStateFile> {
  try {
    const parsed = JSON.parse(await readFile(join(stateDir, FILE), 'utf8')) as unknown;
    return parsed && typeof parsed === 'object' ? (parsed as ScheduleStateFile) : {};
  } catch {
    return {};
  }
}

/** Records that every slot of `name` up to `until` is handled; `slot` is the scheduled time that was fired, if any. */
export async function markAccounted(stateDir: string, name: string, until: Date, slot?: Date): Promise<void> {
  const state = await readScheduleState(stateDir);
  state[name] = { accounted_until: until.toISOString(), ...(slot ? { last_slot: slot.toISOString() } : {}) };
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const path = join(stateDir, FILE);
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(state, null, 2) + '\n', { mode: 0o600 });
  await rename(tmp, path);
}

export function accountedUntil(state: ScheduleStateFile, name: string): Date | undefined {
  const v = state[name]?.accounted_until;
  const d = v ? new Date(v) : undefined;
  return d && !Number.isNaN(d.getTime()) ? d : undefined;
}
