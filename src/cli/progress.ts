import { createRequire } from 'node:module';
import type CliProgress from 'cli-progress';
import type { ReadProgress } from '../restore/open.js';
import type { CommandContext } from './context.js';
import { formatBytes } from './format.js';
import type { Summary } from './summary.js';


/** How far a command got: input bytes (and files) done, against totals known up front. */
export interface Progress {
  /** The work ahead; unknown parts stay undefined. */
  start(total: { bytes?: number; files?: number }): void;
  /** Input bytes and files done so far (absolute counts). */
  update(done: { bytes: number; files?: number }): void;
  /** Ends the display: on success the bar shows exactly 100 %. */
  finish(ok: boolean): void;
}

interface State {
  command: string;
  startedAt: number;
  totalBytes?: number;
  totalFiles?: number;
  bytes: number;
  files: number;
}

/** The progress display of `command` on stderr, as `--progress` (default auto) and `--quiet` ask. */
export function createProgress(ctx: CommandContext, command: string): Progress {
  const mode = ctx.options.progress ?? 'auto';
  const state: State = { command, startedAt: Date.now(), bytes: 0, files: 0 };
  if (mode === 'json') return jsonProgress(state);
  if (mode === 'none' || ctx.options.quiet) return tracking(state, {});
  if (mode === 'auto' && process.stderr.isTTY) return barProgress(state);
  return plainProgress(ctx, state);
}

/**
 * A `ReadProgress` (restore, pull, verify) that feeds `progress`; `counts`
 * holds the totals so far, for the summary. Without `countFiles` (pull, which
 * never opens the tar) the display shows no file total.
 */
export function readProgress(progress: Progress, countFiles = true): ReadProgress & { counts: { bytes: number; files: number; content: number } } {
  const counts = { bytes: 0, files: 0, content: 0 };
  let byFile = false;
  return {
    counts,
    start: (total) => {
      byFile = total.byFile === true;
      progress.start(countFiles ? total : { bytes: total.bytes });
    },
    bytes: (done) => { counts.bytes = done; progress.update({ bytes: done, files: counts.files }); },
    file: (size) => {
      counts.files++;
      counts.content += size;
      if (byFile) counts.bytes += size;
      progress.update({ bytes: counts.bytes, files: counts.files });
    },
  };
}

/** Numbers every display shows: percentage on input bytes, rate and ETA from the time since start. */
function figures(s: State) {
  const seconds = Math.max((Date.now() - s.startedAt) / 1000, 0.001);
  const rate = s.bytes / seconds;
  const percent = s.totalBytes ? Math.min(100, (s.bytes / s.totalBytes) * 100) : s.totalBytes === 0 ? 100 : undefined;
  const eta = s.totalBytes !== undefined && rate > 0 ? Math.max(0, (s.totalBytes - s.bytes) / rate) : undefined;
  return { seconds, rate, percent, eta };
}

/** Keeps `state` current and calls the display's hooks. */
function tracking(state: State, hooks: { started?(): void; changed?(): void; done?(ok: boolean): void }): Progress {
  let started = false;
  return {
    start(total) {
      state.totalBytes = total.bytes;
      state.totalFiles = total.files;
      if (!started) hooks.started?.();
      started = true;
    },
    update(done) {
      state.bytes = done.bytes;
      if (done.files !== undefined) state.files = done.files;
      hooks.changed?.();
    },
    finish(ok) {
      if (ok) {
        // The sources may have changed since they were measured: what was read is the whole work.
        state.totalBytes = state.bytes;
        if (state.totalFiles !== undefined) state.totalFiles = state.files;
      }
      hooks.done?.(ok);
    },
  };
}

function barProgress(state: State): Progress {
  // Loaded only to draw a bar on a terminal: most runs (cron, --json, -q) never do.
  const cliProgress = createRequire(import.meta.url)('cli-progress') as typeof CliProgress;
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      hideCursor: true,
      clearOnComplete: false,
      barsize: 24,
      format: `${state.command.padEnd(8)} |{bar}| {pct} | {done} | {rate} | ETA {etaText}{filesText}`,
    },
    cliProgress.Presets.shades_classic,
  );
  const payload = () => {
    const f = figures(state);
    return {
      pct: f.percent === undefined ? '  ?%' : `${f.percent.toFixed(0).padStart(3)}%`,
      done: `${formatBytes(state.bytes)}${state.totalBytes !== undefined ? ` of ${formatBytes(state.totalBytes)}` : ''}`,
      rate: `${formatBytes(f.rate)}/s`,
      etaText: f.eta === undefined ? '?' : formatDuration(f.eta),
      filesText: state.totalFiles === undefined && state.files === 0 ? '' : ` | ${state.files}${state.totalFiles !== undefined ? `/${state.totalFiles}` : ''} files`,
    };
  };
  const total = () => Math.max(state.totalBytes ?? 0, state.bytes, 1);
  let running = false;
  const ensure = () => {
    if (running) return;
    running = true;
    bar.start(total(), state.bytes, payload());
  };
  return tracking(state, {
    started: ensure,
    changed() {
      ensure();
      bar.setTotal(total());
      bar.update(state.bytes, payload());
    },
    done(ok) {
      if (!running) return;
      if (ok) bar.setTotal(total());
      bar.update(ok ? total() : state.bytes, payload());
      bar.stop();
    },
  });
}

/** One line every 10 seconds, and none for commands that finish sooner. */
function plainProgress(ctx: CommandContext, state: State): Progress {
  let last = Date.now();
  return tracking(state, {
    changed() {
      if (Date.now() - last < 10_000) return;
      last = Date.now();
      const f = figures(state);
      const of = state.totalBytes !== undefined ? ` of ${formatBytes(state.totalBytes)}` : '';
      ctx.log.info(`${state.command}: ${f.percent === undefined ? '' : `${f.percent.toFixed(0)}%, `}${formatBytes(state.bytes)}${of}, ${state.files} files, ${formatBytes(f.rate)}/s`);
    },
  });
}

/** With `--progress json`, the command's last event: `{"event":"summary","command":...,"ok":...,...summary}`. */
export function summaryEvent(ctx: CommandContext, command: string, ok: boolean, summary: Summary): void {
  if (ctx.options.progress === 'json') process.stderr.write(`${JSON.stringify({ event: 'summary', command, ok, ...summary })}\n`);
}

/**
 * `--progress json`: one JSON object per line on stderr. `start` once the
 * work is known, `progress` at most every 250 ms and once more at the end
 * (then `summaryEvent`). Log lines become `log` events.
 */
function jsonProgress(state: State): Progress {
  const emit = (event: Record<string, unknown>) => process.stderr.write(`${JSON.stringify(event)}\n`);
  let last = 0;
  let sent = -1;
  const progressEvent = () => {
    const f = figures(state);
    sent = state.bytes;
    last = Date.now();
    emit({
      event: 'progress',
      command: state.command,
      bytes_done: state.bytes,
      total_bytes: state.totalBytes ?? null,
      files_done: state.files,
      total_files: state.totalFiles ?? null,
      percent: f.percent === undefined ? null : Math.round(f.percent * 10) / 10,
      bytes_per_second: Math.round(f.rate),
      eta_seconds: f.eta === undefined ? null : Math.round(f.eta),
    });
  };
  let started = false;
  return tracking(state, {
    started() {
      started = true;
      emit({ event: 'start', command: state.command, total_bytes: state.totalBytes ?? null, total_files: state.totalFiles ?? null });
    },
    changed() {
      if (Date.now() - last >= 250) progressEvent();
    },
    done(ok) {
      if (started && (ok || sent !== state.bytes)) progressEvent();
    },
  });
}

function formatDuration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
