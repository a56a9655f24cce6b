import { join } from 'node:path';
import { SpoolFile } from './spool-file.js';

/** Lines held in memory before they are sorted and written out as one run. */
const RUN_LINES = 8 * 1024;
/** Runs merged at once; more are first merged into longer runs, so the read buffers stay few. */
const FAN_IN = 64;
/** Read buffer per run while merging. */
const READ_BLOCK = 64 * 1024;

/**
 * Sorts any number of text lines in bounded memory (an external merge sort):
 * lines are held `runLines` at a time, sorted and written as a run file in
 * `dir`; `sorted()` merges the runs. Lines must be ASCII without "\n".
 * The order is JavaScript's default string order (UTF-16 code units), the
 * same as `<`. At most `runLines` lines are in memory at once, plus one
 * read buffer per run being merged. `remove()` deletes every file it made
 * (idempotent).
 */
export class SortedSpool {
  private held: string[] = [];
  private runs: SpoolFile[] = [];
  private made = 0;
  /** The most lines this spool held in memory at once. */
  maxHeld = 0;

  constructor(private readonly dir: string, private readonly name: string, private readonly runLines = RUN_LINES) {}

  add(line: string): void {
    this.held.push(line);
    if (this.held.length > this.maxHeld) this.maxHeld = this.held.length;
    if (this.held.length >= this.runLines) this.writeRun();
  }

  /** Every line added, in sorted order. Add nothing once this has been called. */
  *sorted(): Generator<string> {
    if (this.runs.length === 0) {
      yield* this.held.sort();
      return;
    }
    if (this.held.length) this.writeRun();
    while (this.runs.length > FAN_IN) {
      const group = this.runs.splice(0, FAN_IN);
      const run = this.newRun();
      for (const line of merge(group)) run.append(`${line}\n`);
      run.flush();
      for (const r of group) r.remove();
      this.runs.push(run);
    }
    yield* merge(this.runs);
  }

  remove(): void {
    for (const r of this.runs) r.remove();
    this.runs = [];
    this.held = [];
  }

  private writeRun(): void {
    const run = this.newRun();
    for (const line of this.held.sort()) run.append(`${line}\n`);
    run.flush();
    this.runs.push(run);
    this.held = [];
  }

  private newRun(): SpoolFile {
    return new SpoolFile(join(this.dir, `${this.name}-${this.made++}`));
  }
}

/** k-way merge of sorted runs with a binary heap of each run's next line. */
function* merge(runs: SpoolFile[]): Generator<string> {
  const heads: { line: string; rest: Iterator<string> }[] = [];
  for (const run of runs) {
    const rest = run.lines(READ_BLOCK);
    const first = rest.next();
    if (!first.done) heads.push({ line: first.value, rest });
  }
  const less = (i: number, j: number) => heads[i]!.line < heads[j]!.line;
  const down = (i: number) => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heads.length && less(l, m)) m = l;
      if (r < heads.length && less(r, m)) m = r;
      if (m === i) return;
      [heads[i], heads[m]] = [heads[m]!, heads[i]!];
      i = m;
    }
  };
  for (let i = (heads.length >> 1) - 1; i >= 0; i--) down(i);
  while (heads.length) {
    const top = heads[0]!;
    yield top.line;
    const next = top.rest.next();
    if (next.done) {
      heads[0] = heads[heads.length - 1]!;
      heads.pop();
    } else {
      top.line = next.value;
    }
    if (heads.length) down(0);
  }
}
