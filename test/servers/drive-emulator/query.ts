/**
 * EMULATOR: the `q` search language of Drive v3 `files.list`, the subset
 * Ferry and its tests use, written from Google's "Search for files and
 * folders" documentation: `'<id>' in parents`, `name = / != / contains`,
 * `mimeType = / !=`, `trashed = true|false`, `createdTime` / `modifiedTime`
 * comparisons, combined with `and`, `or`, `not` and parentheses. String
 * literals are single-quoted with `\'` and `\\` escapes. Anything else is a
 * QueryError, which the emulator answers with 400 like Drive does.
 */

export interface QueryableFile {
  name: string;
  mimeType: string;
  parents: string[];
  trashed: boolean;
  createdTime: string;
  modifiedTime: string;
}

export class QueryError extends Error {}

type Token = { kind: 'str' | 'word' | 'op' | 'num'; value: string };
type Pred = (f: QueryableFile) => boolean;

function tokenize(q: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < q.length) {
    const c = q[i]!;
    if (/\s/.test(c)) { i++; continue; }
    if (c === "'") {
      let s = '';
      i++;
      for (;;) {
        if (i >= q.length) throw new QueryError('unterminated string literal');
        const d = q[i]!;
        if (d === '\\') { s += q[i + 1] ?? ''; i += 2; continue; }
        if (d === "'") { i++; break; }
        s += d;
        i++;
      }
      out.push({ kind: 'str', value: s });
      continue;
    }
    const op = /^(!=|<=|>=|=|<|>|\(|\))/.exec(q.slice(i));
    if (op) { out.push({ kind: 'op', value: op[1]! }); i += op[1]!.length; continue; }
    const word = /^[A-Za-z_][A-Za-z0-9_.]*/.exec(q.slice(i));
    if (word) { out.push({ kind: 'word', value: word[0] }); i += word[0].length; continue; }
    const num = /^-?\d+/.exec(q.slice(i));
    if (num) { out.push({ kind: 'num', value: num[0] }); i += num[0].length; continue; }
    throw new QueryError(`unexpected character ${JSON.stringify(c)}`);
  }
  return out;
}

/**
 * Compiles `q` into a predicate. `resolveId` maps ids used in
 * `'<id>' in parents` (so the `root` alias can name My Drive).
 */
export function compileQuery(q: string, resolveId: (id: string) => string = (id) => id): Pred {
  const tokens = tokenize(q);
  let pos = 0;
  const peek = () => tokens[pos];
  const isWord = (w: string) => peek()?.kind === 'word' && peek()!.value.toLowerCase() === w;
  const next = () => {
    const t = tokens[pos++];
    if (!t) throw new QueryError('unexpected end of query');
    return t;
  };

  const orExpr = (): Pred => {
    let left = andExpr();
    while (isWord('or')) { pos++; const l = left; const r = andExpr(); left = (f) => l(f) || r(f); }
    return left;
  };
  const andExpr = (): Pred => {
    let left = notExpr();
    while (isWord('and')) { pos++; const l = left; const r = notExpr(); left = (f) => l(f) && r(f); }
    return left;
  };
  const notExpr = (): Pred => {
    if (isWord('not')) { pos++; const inner = notExpr(); return (f) => !inner(f); }
    const t = peek();
    if (t?.kind === 'op' && t.value === '(') {
      pos++;
      const inner = orExpr();
      const close = next();
      if (close.value !== ')') throw new QueryError('expected )');
      return inner;
    }
    return term();
  };
  const term = (): Pred => {
    const first = next();
    if (first.kind === 'str') {
      if (!isWord('in')) throw new QueryError(`expected "in" after ${JSON.stringify(first.value)}`);
      pos++;
      const field = next();
      if (field.value !== 'parents') throw new QueryError(`"in" is only supported with parents, not ${field.value}`);
      const id = resolveId(first.value);
      return (f) => f.parents.includes(id);
    }
    if (first.kind !== 'word') throw new QueryError(`unexpected ${JSON.stringify(first.value)}`);
    const field = first.value;
    const op = next();
    const opValue = op.kind === 'word' ? op.value.toLowerCase() : op.value;
    const lit = next();
    if (field === 'trashed') {
      if (lit.kind !== 'word' || !['true', 'false'].includes(lit.value) || !['=', '!='].includes(opValue)) throw new QueryError('trashed takes = or != with true or false');
      const want = lit.value === 'true';
      return opValue === '=' ? (f) => f.trashed === want : (f) => f.trashed !== want;
    }
    if (lit.kind !== 'str') throw new QueryError(`${field} needs a quoted string`);
    const v = lit.value;
    if (field === 'name' || field === 'mimeType') {
      const get = (f: QueryableFile) => (field === 'name' ? f.name : f.mimeType);
      if (opValue === '=') return (f) => get(f) === v;
      if (opValue === '!=') return (f) => get(f) !== v;
      if (opValue === 'contains' && field === 'name') return (f) => nameContains(f.name, v);
      throw new QueryError(`operator ${opValue} is not supported for ${field}`);
    }
    if (field === 'createdTime' || field === 'modifiedTime') {
      const t = Date.parse(v);
      if (Number.isNaN(t)) throw new QueryError(`invalid time ${v}`);
      const cmp: Record<string, (a: number) => boolean> = {
        '=': (a) => a === t, '!=': (a) => a !== t, '<': (a) => a < t, '<=': (a) => a <= t, '>': (a) => a > t, '>=': (a) => a >= t,
      };
      const test = cmp[opValue];
      if (!test) throw new QueryError(`operator ${opValue} is not supported for ${field}`);
      return (f) => test(Date.parse(field === 'createdTime' ? f.createdTime : f.modifiedTime));
    }
    throw new QueryError(`field ${field} is not supported by the emulator`);
  };

  const pred = orExpr();
  if (pos !== tokens.length) throw new QueryError(`unexpected ${JSON.stringify(tokens[pos]!.value)}`);
  return pred;
}

/**
 * Drive's `name contains` matches prefixes of the name's words, not
 * arbitrary substrings ("HelloWorld" contains "Hello" but not "World").
 * Approximated here: case-insensitive prefix of the whole name or of any
 * word after a non-alphanumeric separator.
 */
function nameContains(name: string, v: string): boolean {
  const n = name.toLowerCase();
  const needle = v.toLowerCase();
  if (n.startsWith(needle)) return true;
  return n.split(/[^a-z0-9]+/).some((w) => w.startsWith(needle));
}
