#!/usr/bin/env node
import { Command, CommanderError, Option } from 'commander';
import { userMessage } from '../errors.js';
import { EXIT, exitCodeOf } from '../exit-codes.js';
import { FERRY_VERSION } from '../version.js';
import { beginWork } from '../util/pending.js';
import { createContext, type CommandContext, type GlobalOptions } from './context.js';
import { runToExit } from './exit-guard.js';

const collect = (value: string, previous: string[] = []) => [...previous, value];

/**
 * The `ferry` command. Commands are loaded lazily, and this entry point (with
 * `runToExit`) is the only place that ends the process: a command returns
 * its exit code or throws; `exitCodeOf` turns what it throws into the exit code.
 */
function buildProgram(run: (load: () => Promise<(ctx: CommandContext, ...args: never[]) => Promise<number>>, args: unknown[]) => Promise<void>): Command {
  const program = new Command('ferry')
    .description('Consistent backups of an app\'s data as one tar.gz archive, pushed to every target.')
    .version(FERRY_VERSION)
    .option('-c, --config <file>', 'config file (default: $FERRY_CONFIG or ./backup.config.yaml)')
    .option('--json', 'print the result as one JSON document')
    .option('-q, --quiet', 'only warnings and errors on stderr')
    .option('-v, --verbose', 'debug logging on stderr')
    .showHelpAfterError()
    .exitOverride();

  program.command('run')
    .description('build one archive and push it to the selected targets, then prune each target that succeeded')
    .option('-t, --target <name>', 'push only to this target (repeatable)', collect)
    .option('-d, --description <text>', 'stored in the manifest')
    .option('-n, --dry-run', 'build and measure the archive; store, prune and record nothing')
    .action((...a) => run(async () => (await import('./commands/run.js')).runCommand as never, a));

  program.command('list')
    .description('complete archives per target')
    .option('-t, --target <name>', 'only this target (repeatable)', collect)
    .action((...a) => run(async () => (await import('./commands/list.js')).listCommand as never, a));

  program.command('restore')
    .description('download, verify, decrypt and extract an archive into a directory, or put one source back in place')
    .argument('[archive]', 'archive name or "latest"', 'latest')
    .option('--to <dir>', 'destination directory (required unless --in-place or --list-sources)')
    .option('--source <as-name>', 'restore only this source (its `as` name)')
    .option('--in-place', 'with --source: put the source back at its configured path, moving the current data aside')
    .option('--apply', 'with --source of a postgres source and --in-place: load the dump into the configured database')
    .option('--list-sources', 'show the sources an archive holds, from its inventory')
    .option('--from <target>', 'target to restore from (default: newest across targets)')
    .option('--only <glob>', 'restore only matching paths (repeatable)', collect)
    .option('--at <iso-time>', 'newest archive at or before this time')
    .option('--force', 'restore into a non-empty directory; overwrite an existing dump file')
    .option('-i, --identity <file>', 'age identity file (repeatable)', collect)
    .action((...a) => run(async () => (await import('./commands/restore.js')).restoreCommand as never, a));

  program.command('pull')
    .description('fetch an archive file itself, verified against its manifest')
    .argument('[archive]', 'archive name or "latest"', 'latest')
    .option('--from <target>', 'target to fetch from')
    .option('--at <iso-time>', 'newest archive at or before this time')
    .option('-o, --out <file>', 'output file (default: the archive name in the current directory)')
    .option('--decrypt', 'write the decrypted tar.gz')
    .option('-i, --identity <file>', 'age identity file (repeatable)', collect)
    .action((...a) => run(async () => (await import('./commands/pull.js')).pullCommand as never, a));

  program.command('prune')
    .description('apply retention; the plan gives a reason for each archive')
    .option('-t, --target <name>', 'only this target (repeatable)', collect)
    .option('-n, --dry-run', 'print the plan, delete nothing')
    .action((...a) => run(async () => (await import('./commands/prune.js')).pruneCommand as never, a));

  program.command('verify')
    .description('download an archive, check its sha256, decrypt and read the whole tar')
    .argument('[archive]', 'archive name or "latest"', 'latest')
    .option('-t, --target <name>', 'target to verify on')
    .option('--all', 'verify on every target')
    .option('-i, --identity <file>', 'age identity file (repeatable)', collect)
    .action((...a) => run(async () => (await import('./commands/verify.js')).verifyCommand as never, a));

  program.command('ls')
    .description('list a directory of an archive from its index sidecar (default: the newest archive, its top)')
    .argument('[archive]', 'archive name or "latest" (a single argument that is neither is the path)')
    .argument('[path]', 'directory or file inside the archive')
    .option('-R, --recursive', 'everything below the path, not only its direct entries')
    .option('--from <target>', 'target to read from (default: newest across targets)')
    .option('--at <iso-time>', 'newest archive at or before this time')
    .option('-i, --identity <file>', 'age identity file (repeatable)', collect)
    .action((...a) => run(async () => (await import('./commands/ls.js')).lsCommand as never, a));

  program.command('find')
    .description('find paths in every archive of a target, with where and when each version is stored')
    .argument('<glob>', 'a name pattern ("*.db", matched at any depth) or a path pattern ("app/**/*.db")')
    .option('-t, --target <name>', 'target to search (default: the first)')
    .option('-i, --identity <file>', 'age identity file (repeatable)', collect)
    .action((...a) => run(async () => (await import('./commands/find.js')).findCommand as never, a));

  program.command('diff')
    .description('what changed between two archives: added, removed and changed paths')
    .argument('<a>', 'the older archive (name or "latest")')
    .argument('<b>', 'the newer archive (name or "latest")')
    .option('--from <target>', 'target to read both from (default: newest across targets)')
    .option('-i, --identity <file>', 'age identity file (repeatable)', collect)
    .action((...a) => run(async () => (await import('./commands/diff.js')).diffCommand as never, a));

  program.command('stats')
    .description('per target: archive count, stored bytes and archive sizes over time')
    .option('-t, --target <name>', 'only this target (repeatable)', collect)
    .action((...a) => run(async () => (await import('./commands/stats.js')).statsCommand as never, a));

  program.command('check')
    .description('validate the config and probe each target')
    .action((...a) => run(async () => (await import('./commands/check.js')).checkCommand as never, a));

  program.command('status')
    .description('last run per target, next scheduled run, archive counts')
    .action((...a) => run(async () => (await import('./commands/status.js')).statusCommand as never, a));

  program.command('keygen')
    .description('make an age identity and print its recipient')
    .addOption(new Option('-o, --out <file>', 'write the identity to this file (mode 0600) instead of stdout'))
    .action((...a) => run(async () => (await import('./commands/keygen.js')).keygenCommand as never, a));

  program.command('daemon')
    .description('run the job on its schedule, catching up once for missed runs; SIGTERM stops it cleanly')
    .option('--api', 'also serve the REST API (api.listen, default 127.0.0.1:8787)')
    .option('--listen <host:port>', 'serve the REST API on this address (implies --api)')
    .option('--grace <seconds>', 'on SIGTERM, how long a run in progress may finish before it is aborted', '30')
    .action((...a) => run(async () => (await import('./commands/daemon.js')).daemonCommand as never, a));

  program.command('serve')
    .description('the REST API and /metrics (bearer token required)')
    .option('--listen <host:port>', 'address to bind (default: api.listen or 127.0.0.1:8787)')
    .option('--grace <seconds>', 'on SIGTERM, how long a run in progress may finish before it is aborted', '30')
    .action((...a) => run(async () => (await import('./commands/serve.js')).serveCommand as never, a));

  program.command('systemd')
    .description('print (or --install) systemd units: ferry.service for the daemon, or a timer with --timer')
    .option('--user', 'units for the user manager (systemctl --user)')
    .option('--system', 'units for the system manager')
    .option('--timer', 'ferry-backup.service + ferry-backup.timer (Persistent=true) instead of the daemon')
    .option('--install', 'write the units into the systemd unit directory')
    .option('--dir <dir>', 'with --install: write here instead')
    .option('--exec <path>', 'the ferry executable to start (default: this node and script)')
    .option('--on-calendar <spec>', 'OnCalendar= for the timer (default: converted from schedule)')
    .action((...a) => run(async () => (await import('./commands/systemd.js')).systemdCommand as never, a));

  return program;
}

async function main(argv: string[]): Promise<number> {
  const controller = new AbortController();
  let interrupted = 0;
  const onSignal = (sig: string) => {
    interrupted++;
    if (interrupted > 1) process.exit(130);
    process.stderr.write(`ferry: ${sig}: stopping (again to force)\n`);
    controller.abort(new Error(`interrupted by ${sig}`));
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));

  let code = EXIT.OK as number;
  const program = buildProgram(async (load, args) => {
    const command = args.at(-1) as Command;
    const opts = command.opts();
    const globals = program.opts<GlobalOptions>();
    const positional = args.slice(0, -2);
    const ctx = createContext(globals, controller.signal);
    const fn = await load();
    const done = beginWork(`ferry ${command.name()}`);
    code = await fn(ctx, ...(positional as never[]), opts as never);
    done();
  });
  try {
    await program.parseAsync(argv);
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0 ? 0 : EXIT.USAGE;
    }
    const exitCode = exitCodeOf(err);
    const message = userMessage(err);
    process.stderr.write(`ferry: ${message}\n`);
    if (process.env.FERRY_DEBUG) console.error(err);
    // With --json, scripts always get one JSON document on stdout, failures included.
    if (program.opts<GlobalOptions>().json) process.stdout.write(JSON.stringify({ error: message, exit_code: exitCode }, null, 2) + '\n');
    return exitCode;
  }
}

runToExit(() => main(process.argv), { json: () => process.argv.slice(2).includes('--json') });
