/**
 * The one place URLs are made safe to show. Credentials in a URL
 * (`user:pass@`) and its query (which carries upload session ids, presigned
 * signatures and tokens) are secrets: they are replaced with `***`. The
 * scheme, host, port and path stay, so messages still say where.
 */
export function redactUrl(url: string): string {
  const m = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#\s]*@)?([^?#\s]*)(\?[^#\s]*)?(#\S*)?$/i.exec(url);
  if (!m) return url;
  const [, scheme, userinfo, rest, query] = m;
  return `${scheme}${userinfo ? '***@' : ''}${rest}${query ? '?***' : ''}`;
}

const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>`]+/gi;

/** Redacts (as `redactUrl`) every URL that appears in a message. Text without URLs is returned unchanged. */
export function redactUrlsIn(text: string): string {
  return text.includes('://') ? text.replace(URL_IN_TEXT, (u) => redactUrl(u)) : text;
}

/**
 * Splits `user:pass@` out of a URL for an HTTP request: the URL without
 * them, and the matching `Authorization: Basic` header value (undefined
 * when the URL carries no credentials). fetch refuses URLs with
 * credentials, and its error would echo the whole URL.
 */
export function splitUrlCredentials(url: string): { url: string; authorization?: string } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { url };
  }
  if (!parsed.username && !parsed.password) return { url };
  const user = decodeURIComponent(parsed.username);
  const pass = decodeURIComponent(parsed.password);
  parsed.username = '';
  parsed.password = '';
  return { url: parsed.href, authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}` };
}
