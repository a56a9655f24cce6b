import type { ConfigIssue } from '../errors.js';
import { adapterDefinition } from '../../adapters/index.js';
import type { KeyPath } from './interpolate.js';
import type { Config } from './schema.js';

/**
 * `format: tree` is a config error on a type that cannot hold snapshot
 * trees (only local, usb, rsync and sftp can), and together with job
 * encryption unless the target says `encrypt: false`: a browsable tree
 * cannot be encrypted, and storing it in the clear must be meant.
 * `encrypt: false` on an archive target is an error too (archives are
 * always encrypted when the job encrypts).
 */
export function checkTreeTargets(config: Config, lineOf: (p: KeyPath) => number | undefined, issues: ConfigIssue[]): void {
  for (const [name, target] of Object.entries(config.targets)) {
    const issue = (key: string, message: string) => {
      const p = ['targets', name, key];
      issues.push({ path: p.join('.'), line: lineOf(p), message });
    };
    if (target.format !== 'tree') {
      if (target.encrypt === false) issue('encrypt', 'encrypt: false is only for format: tree targets; archives are always encrypted when the job has encryption');
      continue;
    }
    if (!adapterDefinition(String(target.type))?.createTree) {
      issue('format', `format: tree needs a target that keeps plain directories (local, usb, rsync or sftp), not ${String(target.type)}`);
    } else if (config.encryption && target.encrypt !== false) {
      issue('format', 'format: tree stores a browsable, unencrypted copy of every file, but this job has encryption; set encrypt: false on this target to store it unencrypted, or use format: archive');
    }
  }
}
