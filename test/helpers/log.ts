import type { Logger } from '../../src/log.js';

/** A logger that keeps every message, to read what an operation reported. */
export interface RecordingLogger extends Logger {
  /** Every message, in order, at any level. */
  lines: string[];
  /** The messages logged at one level. */
  at(level: 'info' | 'warn' | 'error' | 'debug'): string[];
}

export function recordingLogger(): RecordingLogger {
  const entries: { level: string; message: string }[] = [];
  const keep = (level: string) => (message: string) => { entries.push({ level, message }); };
  return {
    get lines() { return entries.map((e) => e.message); },
    at: (level) => entries.filter((e) => e.level === level).map((e) => e.message),
    info: keep('info'), warn: keep('warn'), error: keep('error'), debug: keep('debug'),
  };
}
