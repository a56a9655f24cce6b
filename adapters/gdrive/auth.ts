import { auth as googleAuth } from 'googleapis/build/src/apis/drive/index.js';
import { StorageError } from '../../src/storage/errors.js';

/** The OAuth client every Drive call is authorized with (JWT and refresh-token clients both extend it). */
export type DriveAuth = InstanceType<typeof googleAuth.OAuth2>;

/** Google's token endpoint; service-account clients have it built in. */
export const GOOGLE_TOKEN_URL = 'https://oauth2.googleapis.com/token';

/** Full Drive access: needed to write into a folder the user created in the Drive UI or shared with a service account. */
export const DRIVE_SCOPE = 'https://www.googleapis.com/auth/drive';

/** The two credential files Ferry accepts, told apart by their `type` field. */
export type DriveCredentials =
  | { type: 'service_account'; clientEmail: string; privateKey: string; privateKeyId?: string }
  | { type: 'authorized_user'; clientId: string; clientSecret: string; refreshToken: string };

/**
 * Parses a credentials JSON document. Throws a CONFIG StorageError naming the
 * missing field, never echoing any value from the file.
 */
export function parseCredentials(target: string, json: string): DriveCredentials {
  let data: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(json);
    if (!parsed || typeof parsed !== 'object') throw new Error('not an object');
    data = parsed as Record<string, unknown>;
  } catch {
    throw new StorageError('CONFIG', target, 'credentials_file is not valid JSON (expected a service account key or an OAuth authorized_user file)');
  }
  const str = (key: string): string => {
    const v = data[key];
    if (typeof v !== 'string' || v === '') {
      throw new StorageError('CONFIG', target, `credentials_file of type "${String(data.type)}" has no "${key}"`);
    }
    return v;
  };
  if (data.type === 'service_account') {
    const privateKeyId = typeof data.private_key_id === 'string' ? data.private_key_id : undefined;
    return { type: 'service_account', clientEmail: str('client_email'), privateKey: str('private_key'), privateKeyId };
  }
  if (data.type === 'authorized_user') {
    return { type: 'authorized_user', clientId: str('client_id'), clientSecret: str('client_secret'), refreshToken: str('refresh_token') };
  }
  const kind = typeof data.type === 'string' ? `"${data.type}"` : 'missing';
  throw new StorageError(
    'CONFIG',
    target,
    `credentials_file has type ${kind}; expected "service_account" (a key file) or "authorized_user" (an OAuth client id, secret and refresh token)`,
  );
}

/**
 * Builds the authorized client. `tokenUrl` replaces Google's token endpoint
 * (an emulator or a proxy): the refresh-token client is told through its
 * `endpoints.oauth2TokenUrl`; the service-account client has the URL built
 * into its token request, so that one request is redirected by a transport
 * interceptor. Tokens are refreshed by the library before they expire.
 */
export function createAuth(creds: DriveCredentials, tokenUrl?: string): DriveAuth {
  if (creds.type === 'authorized_user') {
    const client = new googleAuth.OAuth2({
      clientId: creds.clientId,
      clientSecret: creds.clientSecret,
      endpoints: tokenUrl ? { oauth2TokenUrl: tokenUrl } : undefined,
    });
    client.setCredentials({ refresh_token: creds.refreshToken });
    return client;
  }
  const jwt = new googleAuth.JWT({
    email: creds.clientEmail,
    key: creds.privateKey,
    keyId: creds.privateKeyId,
    scopes: [DRIVE_SCOPE],
  });
  if (tokenUrl && tokenUrl !== GOOGLE_TOKEN_URL) {
    const redirect = new URL(tokenUrl);
    jwt.transporter.interceptors.request.add({
      resolved: async (opts) => {
        if (String(opts.url) === GOOGLE_TOKEN_URL) opts.url = redirect;
        return opts;
      },
    });
  }
  return jwt;
}
