import { existsSync } from 'node:fs';
import { startProcess, type ProcessHandle } from '../../src/util/spawn.js';

/** How long a master may take to log in before calls stop waiting for it. */
const START_WAIT_MS = 20_000;
/** After a master failed or died, calls connect directly for this long before another master is tried. */
const RETRY_AFTER_MS = 30_000;

/**
 * One shared OpenSSH connection (ControlMaster) that later ssh and rsync
 * calls multiplex over, so each call skips the key exchange and login
 * (~300 ms each). It is only an optimisation: calls pass
 * `ControlMaster=no`, and ssh connects directly whenever the socket is
 * missing or dead, so every error still comes from the call itself.
 *
 * The master runs `cat` on the server with our pipe as its stdin: when this
 * process ends for any reason the pipe closes, `cat` ends and the master
 * exits, so no ssh process outlives Ferry. It never keeps Node's event loop
 * alive.
 */
export class SshMaster {
  private child?: ProcessHandle;
  private up?: Promise<void>;
  private lastStart = 0;

  constructor(private readonly socketPath: string) {}

  /** Options that make a call use the shared connection. Put them before the base options: ssh keeps the first value of an option. */
  get clientOptions(): string[] {
    return ['-o', 'ControlMaster=no', '-o', `ControlPath=${this.socketPath}`];
  }

  /** Starts the master when none is alive (at most every 30 s) and waits until it is logged in or has given up. */
  async ensure(baseArgs: string[], host: string): Promise<void> {
    if (this.child?.running) return this.up;
    if (Date.now() - this.lastStart < RETRY_AFTER_MS) return;
    this.lastStart = Date.now();
    const child = startProcess(
      'ssh',
      ['-o', 'ControlMaster=yes', '-o', `ControlPath=${this.socketPath}`, '-o', 'ControlPersist=no', ...baseArgs, '--', host, 'exec cat >/dev/null'],
      { input: 'pipe', stdout: 'ignore', stderr: 'ignore' },
    );
    child.unref();
    this.child = child;
    this.up = new Promise<void>((resolve) => {
      const deadline = Date.now() + START_WAIT_MS;
      const poll = () => {
        if (existsSync(this.socketPath) || !child.running || Date.now() > deadline) resolve();
        else setTimeout(poll, 20);
      };
      poll();
    });
    return this.up;
  }

  /** Ends the master: closes its stdin, then stops it (SIGTERM, then SIGKILL) if it has not exited within 2 s. */
  async stop(): Promise<void> {
    const c = this.child;
    this.child = undefined;
    if (!c?.running) return;
    c.stdin?.end();
    const timer = setTimeout(() => c.stop(), 2_000);
    await c.done;
    clearTimeout(timer);
  }
}
