/** Grace (seconds) the daemon unit passes to `ferry daemon --grace`; systemd's stop timeout leaves room above it. */
export const UNIT_GRACE_SECONDS = 60;

export interface UnitOptions {
  mode: 'user' | 'system';
  /** The command that starts ferry, as argv: e.g. [`/usr/local/bin/ferry`] or [node, main.js]. */
  exec: string[];
  /** Absolute path of the config file. */
  config: string;
  /** Working directory (the config's directory). */
  workingDirectory: string;
  /** `OnCalendar=` value for the timer. */
  onCalendar?: string;
  /** `RandomizedDelaySec=` for the timer, from `jitter`. */
  jitterSeconds?: number;
}

/** Quotes one ExecStart argument the way systemd parses it. */
function quote(arg: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `"${arg.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

const execLine = (o: UnitOptions, args: string[]) => [...o.exec, ...args].map(quote).join(' ');
const wantedBy = (o: UnitOptions) => (o.mode === 'user' ? 'default.target' : 'multi-user.target');

/** `ferry.service`: the long-running scheduler (`ferry daemon`), restarted on failure. */
export function daemonUnit(o: UnitOptions): string {
  return `[Unit]
Description=Ferry backup scheduler (catch-up of missed runs, notifications)
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
ExecStart=${execLine(o, ['daemon', '--config', o.config, '--grace', String(UNIT_GRACE_SECONDS)])}
WorkingDirectory=${quote(o.workingDirectory)}
# SIGTERM lets a run in progress finish for up to --grace seconds, then aborts it cleanly.
KillMode=mixed
TimeoutStopSec=${UNIT_GRACE_SECONDS + 30}
Restart=on-failure
RestartSec=30
NoNewPrivileges=yes

[Install]
WantedBy=${wantedBy(o)}
`;
}

/** `ferry-backup.service`: one run, started by `ferry-backup.timer`. */
export function backupServiceUnit(o: UnitOptions): string {
  return `[Unit]
Description=Ferry backup run
After=network-online.target
Wants=network-online.target

[Service]
Type=oneshot
ExecStart=${execLine(o, ['run', '--config', o.config])}
WorkingDirectory=${quote(o.workingDirectory)}
NoNewPrivileges=yes
`;
}

/** `ferry-backup.timer`: fires on the schedule; `Persistent=true` runs once at boot for slots missed while the machine was off. */
export function backupTimerUnit(o: UnitOptions): string {
  return `[Unit]
Description=Ferry backup schedule

[Timer]
OnCalendar=${o.onCalendar ?? '*-*-* 03:15:00'}
Persistent=true
${o.jitterSeconds ? `RandomizedDelaySec=${o.jitterSeconds}\n` : ''}Unit=ferry-backup.service

[Install]
WantedBy=timers.target
`;
}
