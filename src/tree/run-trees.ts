import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import type { CommandOutput } from '../pipeline/inventory.js';
import type { PreparedSource } from '../pipeline/sources/types.js';
import type { RunResult, TargetResult } from '../state/types.js';
import type { Target } from '../storage/targets.js';
import { snapshotName } from '../storage/layout.js';
import { tracked } from '../util/pending.js';
import { pushTree, type TreePushResult } from './push.js';
import { treeOf } from './view.js';

export interface TreeRunContext {
  job: string;
  started: Date;
  sources: PreparedSource[];
  commands: Record<string, CommandOutput>;
  description?: string;
  stagingDir: string;
  dryRun?: boolean;
  log: Logger;
  signal?: AbortSignal;
}

export interface TreePushes {
  /** The snapshot's name, `<job>-<timestamp>`. */
  snapshot: string;
  /**
   * Waits for every snapshot push and adds one TargetResult per tree target
   * to `result` (with `snapshot` set). With `ownFacts` (no archive was
   * built), the run's warnings and unreadable files come from the first
   * stored snapshot's inventory. Resolves to the files and bytes of the
   * first stored snapshot (undefined when none was stored).
   */
  record(result: RunResult, unreadable: { path: string; message: string }[], ownFacts: boolean): Promise<{ files: number; bytes: number } | undefined>;
}

/**
 * Starts the snapshot push to each of the run's tree targets `trees` at
 * once, in parallel with the archive's fan-out to the others. A failing tree
 * target fails only itself. In a dry run nothing is written: each tree target is
 * reported as it would be pushed to.
 */
export function startTreePushes(trees: Target[], ctx: TreeRunContext): TreePushes {
  const snapshot = snapshotName(ctx.job, ctx.started);
  const pushes = trees.map(async (t): Promise<{ target: Target; result?: TreePushResult; error?: unknown; ms: number }> => {
    const began = Date.now();
    if (ctx.dryRun) {
      ctx.log.info(`${t.name}: dry run, would write snapshot ${snapshot}`);
      return { target: t, ms: 0 };
    }
    try {
      const result = await tracked(`snapshot ${snapshot} to target "${t.name}"`, () => pushTree(treeOf(t)!, {
        ...ctx,
        verifyHash: t.config.verify_unchanged === 'hash',
      }));
      ctx.log.info(`${t.name}: stored ${snapshot} (${result.copied} files copied, ${result.linked} hard-linked${result.previous ? ` to ${result.previous}` : ''})`);
      return { target: t, result, ms: Date.now() - began };
    } catch (err) {
      return { target: t, error: err, ms: Date.now() - began };
    }
  });
  return {
    snapshot,
    async record(result, unreadable, ownFacts) {
      let facts = !ownFacts;
      let stored: { files: number; bytes: number } | undefined;
      for (const p of await Promise.all(pushes)) {
        if (p.result) stored ??= { files: p.result.linked + p.result.copied, bytes: p.result.bytes };
        const tr: TargetResult = { target: p.target.name, status: p.error ? 'failure' : 'success', bytes: p.result?.copiedBytes ?? 0, durationMs: p.ms, snapshot };
        if (p.error) {
          tr.error = describeError(p.error);
          tr.errorCode = (p.error as { code?: string }).code;
          ctx.log.error(`${p.target.name}: ${tr.error}`);
        }
        result.targets.push(tr);
        if (!facts && p.result) {
          facts = true;
          result.size = p.result.bytes;
          result.warnings = p.result.inventory.warnings.map((w) => `${w.path}: ${w.message}`);
          unreadable.push(...(p.result.inventory.unreadable ?? []));
          for (const w of result.warnings) ctx.log.warn(w);
          for (const u of p.result.inventory.unreadable ?? []) ctx.log.warn(`could not read ${u.path}: ${u.message}`);
        }
      }
      return stored;
    },
  };
}
