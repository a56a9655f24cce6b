/**
 * What `ferry check` found about one thing tonight's run depends on (a
 * source, the hooks, the notifiers). `errors` would make the run fail;
 * `unreadable` files would be left out of the archive (the run exits 3);
 * `warnings` change nothing about the run's outcome.
 */
export interface SourceCheck {
  /** `sources.0 (path ./data)`, `hooks.before.0`, ... */
  name: string;
  ok: boolean;
  details: string[];
  warnings: string[];
  errors: string[];
  unreadable: { path: string; message: string }[];
}

export function newCheck(name: string): SourceCheck {
  return { name, ok: false, details: [], warnings: [], errors: [], unreadable: [] };
}
