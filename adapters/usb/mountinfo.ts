import { readFile } from 'node:fs/promises';

export interface MountEntry {
  /** `major:minor` of the mounted device. */
  device: string;
  mountPoint: string;
  fsType: string;
  source: string;
}

/** Octal escapes (`\040` for a space) as the kernel writes them in mountinfo. */
function unescape(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** Parses `/proc/self/mountinfo` text (proc(5)). Malformed lines are skipped. */
export function parseMountInfo(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const fields = line.trim().split(' ');
    const dash = fields.indexOf('-');
    if (fields.length < 7 || dash < 6 || fields.length < dash + 3) continue;
    out.push({ device: fields[2]!, mountPoint: unescape(fields[4]!), fsType: fields[dash + 1]!, source: unescape(fields[dash + 2]!) });
  }
  return out;
}

/** The mount whose mount point is exactly `dir`, if any (the last one wins when mounts are stacked). */
export async function findMount(dir: string, mountInfoPath = '/proc/self/mountinfo'): Promise<MountEntry | undefined> {
  const mounts = parseMountInfo(await readFile(mountInfoPath, 'utf8'));
  return mounts.filter((m) => m.mountPoint === dir).at(-1);
}
