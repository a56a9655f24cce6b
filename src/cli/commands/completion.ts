import type { Command, Option } from 'commander';
import { UsageError } from '../../errors.js';
import { EXIT } from '../../exit-codes.js';
import { completionScript, SHELLS, type CompletionOption, type Shell } from '../completion.js';
import type { CommandContext } from '../context.js';

/** An option as completion sees it; values named `<file>`, `<dir>` or `<path>` complete file names. */
function describeOption(o: Option): CompletionOption {
  return {
    long: o.long!,
    short: o.short,
    description: o.description,
    takesValue: o.required || o.optional,
    path: /<(file|dir|path)>/.test(o.flags),
  };
}

/** `ferry completion bash|zsh|fish`: prints the script for that shell, made from the commands and options `program` defines. */
export function completionCommand(program: Command) {
  return async (ctx: CommandContext, shell: string): Promise<number> => {
    if (!SHELLS.includes(shell as Shell)) throw new UsageError(`completion: unknown shell "${shell}"; use one of ${SHELLS.join(', ')}`);
    const commands = program.commands.map((c) => ({
      name: c.name(),
      description: c.description(),
      options: c.options.filter((o) => o.long).map(describeOption),
    }));
    const globals = program.options.filter((o) => o.long && o.long !== '--version').map(describeOption);
    process.stdout.write(completionScript(shell as Shell, commands, globals));
    return EXIT.OK;
  };
}
