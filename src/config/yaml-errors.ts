import { isMap, isScalar, visit, type Document, type YAMLError } from 'yaml';
import type { ConfigIssue } from '../errors.js';
import type { ConfigPositions } from './positions.js';

/**
 * YAML syntax errors as config issues with a line, a column and a message
 * that says what to change: tabs used for indentation, keys that do not line
 * up, a line indented under a key that already has a value, a missing colon,
 * a key written twice (naming the line of the first one). Errors the parser
 * reports twice for one mistake are reported once.
 */
export function yamlIssues(errors: readonly YAMLError[], text: string, doc: Document, positions: ConfigPositions): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const nested = new Set<number>();
  for (const e of errors) {
    const offset = e.pos[0];
    // Positions at the start of an indented line mean its first character.
    let pos = positions.at(offset + (/^ */.exec(text.slice(offset))?.[0].length ?? 0));
    let message: string;
    switch (e.code) {
      case 'TAB_AS_INDENT':
        message = 'a tab is used for indentation; YAML allows only spaces there';
        break;
      case 'BAD_INDENT':
        message = e.message.startsWith('All mapping items')
          ? 'bad indentation: this key does not line up with the keys above it; indent it like its neighbours'
          : `bad indentation: ${e.message}`;
        break;
      case 'BLOCK_AS_IMPLICIT_KEY': {
        if (!e.message.startsWith('Nested mappings')) {
          message = `bad indentation: ${e.message}`;
          break;
        }
        // The parser points at the value; the mistake is the deeper line that follows it.
        nested.add(offset);
        const next = nextLineStart(text, offset);
        const key = text.slice(text.lastIndexOf('\n', offset - 1) + 1, offset).trim().replace(/:$/, '');
        if (next !== undefined) pos = positions.at(next);
        message = `bad indentation: this line is indented deeper than the line above, but ${key ? `\`${key}\`` : 'that key'} already has a value there; indent it like the key above, or move the value`;
        break;
      }
      case 'MULTILINE_IMPLICIT_KEY':
        if (nested.has(offset)) continue;
        message = 'a key without a colon: is a `:` missing at the end of this line?';
        break;
      case 'DUPLICATE_KEY':
        message = duplicateKeyMessage(doc, offset, positions);
        break;
      default:
        message = e.message.split('\n')[0]!;
    }
    issues.push({ path: '', ...pos, message: `YAML syntax: ${message}` });
  }
  return issues;
}

/** Offset of the first non-blank character on the next non-empty line after `offset`, if any. */
function nextLineStart(text: string, offset: number): number | undefined {
  const re = /\n[ \t]*(?=[^\s])/g;
  re.lastIndex = offset;
  const m = re.exec(text);
  return m ? m.index + m[0].length : undefined;
}

function duplicateKeyMessage(doc: Document, offset: number, positions: ConfigPositions): string {
  let message = 'a key appears twice in the same map; each key may be set once';
  visit(doc, {
    Map(_, map) {
      if (!isMap(map)) return;
      const i = map.items.findIndex((p) => isScalar(p.key) && p.key.range?.[0] === offset);
      if (i === -1) return;
      const name = (map.items[i]!.key as { value: unknown }).value;
      const first = map.items.find((p) => isScalar(p.key) && p.key.value === name);
      const at = isScalar(first?.key) && first.key.range ? positions.at(first.key.range[0]) : undefined;
      message = `duplicate key \`${String(name)}\`${at ? ` (first set at line ${at.line})` : ''}; each key may be set once in a map`;
      return visit.BREAK;
    },
  });
  return message;
}
