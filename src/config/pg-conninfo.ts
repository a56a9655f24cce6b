/**
 * PostgreSQL connection strings, as libpq reads them: URLs
 * (`postgres://u:p@h:5432/db`, `postgresql://u:p@/db?host=/run/postgresql`,
 * multi-host `postgres://u:p@h1,h2/db`) and keyword DSNs
 * (`host=/run/postgresql user=u password='p w' dbname=d`).
 */
export interface ConnInfo {
  /** The same connection string with every password removed; safe to pass as an argument or print. */
  conninfo: string;
  /** The password it carried (userinfo, `?password=` or `password=`), decoded. */
  password?: string;
  /** The database it names, when it names one. */
  dbname?: string;
}

const URL_RE = /^(postgres(?:ql)?:\/\/)([^/?#]*)(\/[^?#]*)?(\?[^#]*)?(#.*)?$/i;

/** Splits the password out of a connection string. A string that is neither form is returned unchanged. */
export function splitConnInfo(conninfo: string): ConnInfo {
  const url = URL_RE.exec(conninfo.trim());
  return url ? splitUrl(url) : splitKeywords(conninfo);
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function splitUrl([, scheme, authority, path = '', query = '', fragment = '']: RegExpExecArray): ConnInfo {
  let password: string | undefined;
  let dbname: string | undefined;
  const at = authority!.lastIndexOf('@');
  let hosts = authority!;
  if (at !== -1) {
    const userinfo = authority!.slice(0, at);
    hosts = authority!.slice(at + 1);
    const colon = userinfo.indexOf(':');
    const user = colon === -1 ? userinfo : userinfo.slice(0, colon);
    if (colon !== -1) password = decode(userinfo.slice(colon + 1));
    hosts = user ? `${user}@${hosts}` : hosts;
  }
  if (path.length > 1) dbname = decode(path.slice(1));
  const params = query ? query.slice(1).split('&').filter((p) => p !== '') : [];
  const kept = params.filter((p) => {
    const eq = p.indexOf('=');
    const key = decode(eq === -1 ? p : p.slice(0, eq));
    const value = eq === -1 ? '' : decode(p.slice(eq + 1).replace(/\+/g, ' '));
    if (key === 'password') {
      password = value;
      return false;
    }
    if (key === 'dbname') dbname = value;
    return true;
  });
  const rebuilt = `${scheme}${hosts}${path}${kept.length ? `?${kept.join('&')}` : ''}${fragment}`;
  return { conninfo: rebuilt, password, dbname: dbname || undefined };
}

/** Parses `key = value` pairs; values may be single-quoted, with `\'` and `\\` escapes, as libpq allows. */
function splitKeywords(conninfo: string): ConnInfo {
  const re = /\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*('(?:[^'\\]|\\.)*'|(?:[^\s'\\]|\\.)*)/gy;
  const kept: string[] = [];
  let password: string | undefined;
  let dbname: string | undefined;
  let end = 0;
  for (let m = re.exec(conninfo); m; m = re.exec(conninfo)) {
    end = re.lastIndex;
    const raw = m[2]!;
    const value = (raw.startsWith("'") ? raw.slice(1, -1) : raw).replace(/\\(.)/g, '$1');
    if (m[1] === 'password') password = value;
    else {
      if (m[1] === 'dbname') dbname = value;
      kept.push(`${m[1]}=${raw}`);
    }
    if (end === conninfo.length) break;
  }
  const rest = conninfo.slice(end).trim();
  // Not a keyword DSN (a bare database name, or something libpq will reject): leave it to libpq, minus any password.
  if (password === undefined && (rest !== '' || kept.length === 0)) return { conninfo };
  if (rest !== '') return { conninfo: [...kept, rest].join(' '), password, dbname };
  return { conninfo: kept.join(' '), password, dbname };
}
