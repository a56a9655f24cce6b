import { isMap, isScalar, isSeq, type Document, type LineCounter, type Node, type Pair } from 'yaml';
import type { ConfigIssue } from '../errors.js';
import type { KeyPath } from './interpolate.js';

/** A 1-based line and column in the config file. */
export interface Position {
  line: number;
  column: number;
}

/**
 * Where keys of a parsed config are written. A key path that exists points
 * at its value when that is a scalar (`keep: "7"` points at `"7"`) and at
 * its key otherwise; a path that does not exist (a missing key) points at
 * the deepest key above it that does; `key` asks for that key of the map at
 * `path` (an unknown key).
 */
export class ConfigPositions {
  constructor(private readonly doc: Document, private readonly lc: LineCounter) {}

  at(offset: number): Position {
    const { line, col } = this.lc.linePos(offset);
    return { line, column: col };
  }

  of(path: KeyPath, key?: string): Position | undefined {
    const segs = key === undefined ? path : [...path, key];
    let node: unknown = this.doc.contents;
    let pair: Pair | undefined;
    let depth = 0;
    for (const seg of segs) {
      if (isMap(node)) {
        const found = node.items.find((it) => String(isScalar(it.key) ? it.key.value : it.key) === String(seg));
        if (!found) break;
        [node, pair] = [found.value, found];
      } else if (isSeq(node) && typeof seg === 'number' && node.items[seg] !== undefined) {
        [node, pair] = [node.items[seg], undefined];
      } else {
        break;
      }
      depth++;
    }
    const complete = depth === segs.length;
    const useKey = pair !== undefined && (!complete || key !== undefined || !isScalar(node));
    const range = useKey ? (pair!.key as Node | undefined)?.range : ((node as Node | undefined)?.range ?? (pair?.key as Node | undefined)?.range);
    return range ? this.at(range[0]) : undefined;
  }

  /** The line and column of every issue that lacks them, from its dot-path (issues already placed on a line keep it). */
  place(issues: ConfigIssue[]): void {
    for (const issue of issues) {
      if (issue.column !== undefined) continue;
      const pos = this.of(splitDotPath(issue.path));
      if (!pos) continue;
      if (issue.line === undefined || issue.line === pos.line) Object.assign(issue, pos);
      else issue.column = 1;
    }
  }
}

/** `targets.local.keep` or `sources.0.path` back into its segments (numbers for list indexes). */
export function splitDotPath(path: string): KeyPath {
  return path === '' ? [] : path.split('.').map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}
