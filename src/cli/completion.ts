/** What a completion script needs to know about one command. */
export interface CompletionCommand {
  name: string;
  description: string;
  options: CompletionOption[];
}

export interface CompletionOption {
  /** `--target` */
  long: string;
  /** `-t`, when there is one */
  short?: string;
  description: string;
  /** The option takes a value. */
  takesValue: boolean;
  /** The value is a path: complete file names. */
  path: boolean;
}

export type Shell = 'bash' | 'zsh' | 'fish';
export const SHELLS: readonly Shell[] = ['bash', 'zsh', 'fish'];

/**
 * A completion script for `shell`: command names after `ferry`, then each
 * command's options and the global ones; options that take a path
 * complete file names. Load it with `source <(ferry completion bash)`,
 * `source <(ferry completion zsh)` or `ferry completion fish | source`.
 */
export function completionScript(shell: Shell, commands: CompletionCommand[], globals: CompletionOption[]): string {
  switch (shell) {
    case 'bash': return bash(commands, globals);
    case 'zsh': return zsh(commands, globals);
    case 'fish': return fish(commands, globals);
  }
}

const flags = (o: CompletionOption) => [o.long, ...(o.short ? [o.short] : [])];
const single = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

function bash(commands: CompletionCommand[], globals: CompletionOption[]): string {
  const pathFlags = [...globals, ...commands.flatMap((c) => c.options)].filter((o) => o.path).flatMap(flags);
  const valueFlags = [...globals, ...commands.flatMap((c) => c.options)].filter((o) => o.takesValue && !o.path).flatMap(flags);
  const cases = commands.map((c) => `    ${c.name}) opts=${single([...c.options, ...globals].flatMap(flags).join(' '))} ;;`).join('\n');
  return `# bash completion for ferry: source <(ferry completion bash)
_ferry() {
  local cur=\${COMP_WORDS[COMP_CWORD]} prev=\${COMP_WORDS[COMP_CWORD-1]} cmd="" opts i
  for ((i = 1; i < COMP_CWORD; i++)); do
    case \${COMP_WORDS[i]} in
      -*) ;;
      *) case \${COMP_WORDS[i-1]} in ${[...pathFlags, ...valueFlags].join('|') || '--'}) ;; *) cmd=\${COMP_WORDS[i]}; break ;; esac ;;
    esac
  done
  case $prev in
    ${pathFlags.join('|') || '--'}) COMPREPLY=($(compgen -f -- "$cur")); return ;;
    ${valueFlags.join('|') || '--'}) COMPREPLY=(); return ;;
  esac
  if [[ -z $cmd ]]; then
    if [[ $cur == -* ]]; then opts=${single(globals.flatMap(flags).join(' '))}; else opts=${single(commands.map((c) => c.name).join(' '))}; fi
  else
    case $cmd in
${cases}
    esac
  fi
  COMPREPLY=($(compgen -W "$opts" -- "$cur"))
}
complete -F _ferry ferry
`;
}

function zshSpec(o: CompletionOption): string[] {
  const desc = o.description.replace(/[[\]:']/g, ' ');
  const value = o.takesValue ? (o.path ? ':file:_files' : ':value: ') : '';
  return flags(o).map((f) => single(`${f}[${desc}]${value}`));
}

function zsh(commands: CompletionCommand[], globals: CompletionOption[]): string {
  const list = commands.map((c) => `    ${single(`${c.name}:${c.description.replace(/:/g, ' ')}`)}`).join('\n');
  const cases = commands.map((c) => `    ${c.name}) _arguments -s ${[...c.options, ...globals].flatMap(zshSpec).join(' ')} '*:argument:_files' ;;`).join('\n');
  return `#compdef ferry
# zsh completion for ferry: source <(ferry completion zsh), or save it as _ferry in your $fpath
_ferry() {
  local -a commands
  commands=(
${list}
  )
  if (( CURRENT == 2 )); then
    _describe -t commands 'ferry command' commands
    return
  fi
  local cmd=$words[2]
  shift words
  (( CURRENT-- ))
  case $cmd in
${cases}
  esac
}
if (( $+functions[compdef] )); then compdef _ferry ferry; fi
`;
}

function fishLine(o: CompletionOption, condition: string): string {
  const parts = ['complete -c ferry', `-n ${single(condition)}`, `-l ${o.long.slice(2)}`];
  if (o.short) parts.push(`-s ${o.short.slice(1)}`);
  if (o.takesValue) parts.push(o.path ? '-r -F' : '-r -f');
  parts.push(`-d ${single(o.description)}`);
  return parts.join(' ');
}

function fish(commands: CompletionCommand[], globals: CompletionOption[]): string {
  const names = commands.map((c) => c.name).join(' ');
  const lines = [
    '# fish completion for ferry: ferry completion fish | source, or save it as ~/.config/fish/completions/ferry.fish',
    'complete -c ferry -f',
    ...commands.map((c) => `complete -c ferry -n ${single(`not __fish_seen_subcommand_from ${names}`)} -a ${c.name} -d ${single(c.description)}`),
    ...globals.map((o) => fishLine(o, 'true')),
    ...commands.flatMap((c) => c.options.map((o) => fishLine(o, `__fish_seen_subcommand_from ${c.name}`))),
  ];
  return lines.join('\n') + '\n';
}
