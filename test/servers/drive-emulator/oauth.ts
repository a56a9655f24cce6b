/**
 * EMULATOR: Google's OAuth 2.0 token endpoint and bearer-token checks, as
 * far as the Drive emulator needs them. Written from Google's documented
 * request shapes:
 * - `grant_type=refresh_token` with `client_id`, `client_secret` and
 *   `refresh_token` (form body, or the client in HTTP Basic auth);
 * - `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer` with an RS256
 *   `assertion` signed by a registered service-account key.
 * Errors use Google's shapes: 400 `invalid_grant`, 401 `invalid_client`.
 */
import { createPublicKey, randomBytes, verify, type KeyObject } from 'node:crypto';

/** The audience Google's client libraries put in service-account assertions. */
const GOOGLE_TOKEN_AUD = 'https://oauth2.googleapis.com/token';

export interface OAuthClientRegistration {
  clientId: string;
  clientSecret: string;
  refreshToken: string;
}

export interface TokenAnswer {
  status: number;
  body: Record<string, unknown>;
}

export class OAuthState {
  private readonly clients: OAuthClientRegistration[] = [];
  private readonly serviceAccounts = new Map<string, KeyObject>();
  private readonly tokens = new Map<string, number>();
  /** Number of tokens handed out by the token endpoint (tests assert the flow ran). */
  issuedByEndpoint = 0;

  constructor(private readonly tokenUrl: string) {}

  addClient(c: OAuthClientRegistration): void {
    this.clients.push(c);
  }

  /** Registers a service account by email and its public key (PEM). */
  addServiceAccount(email: string, publicKeyPem: string): void {
    this.serviceAccounts.set(email, createPublicKey(publicKeyPem));
  }

  /** Mints a valid access token directly (for tests that preset credentials). */
  issue(ttlSeconds = 3600): string {
    const token = `ya29.emu-${randomBytes(18).toString('base64url')}`;
    this.tokens.set(token, Date.now() + ttlSeconds * 1000);
    return token;
  }

  /** Invalidates every access token handed out so far. */
  revokeAll(): void {
    this.tokens.clear();
  }

  /** True when the `Authorization` header carries a live token. */
  authorized(header: string | undefined): boolean {
    const m = /^Bearer\s+(\S+)$/i.exec(header ?? '');
    if (!m) return false;
    const exp = this.tokens.get(m[1]!);
    return exp !== undefined && exp > Date.now();
  }

  /** Answers one POST to the token endpoint. */
  token(form: URLSearchParams, authorization: string | undefined): TokenAnswer {
    const grant = form.get('grant_type');
    if (grant === 'refresh_token') return this.refreshGrant(form, authorization);
    if (grant === 'urn:ietf:params:oauth:grant-type:jwt-bearer') return this.jwtGrant(form.get('assertion') ?? '');
    return { status: 400, body: { error: 'unsupported_grant_type', error_description: `Invalid grant_type: ${grant ?? ''}` } };
  }

  private refreshGrant(form: URLSearchParams, authorization: string | undefined): TokenAnswer {
    let clientId = form.get('client_id');
    let clientSecret = form.get('client_secret');
    const basic = /^Basic\s+(\S+)$/i.exec(authorization ?? '');
    if (basic) {
      const [id, secret] = Buffer.from(basic[1]!, 'base64').toString().split(':');
      clientId = decodeURIComponent(id ?? '');
      clientSecret = decodeURIComponent(secret ?? '');
    }
    const client = this.clients.find((c) => c.clientId === clientId && c.clientSecret === clientSecret);
    if (!client) return { status: 401, body: { error: 'invalid_client', error_description: 'The OAuth client was not found.' } };
    if (client.refreshToken !== form.get('refresh_token')) {
      return { status: 400, body: { error: 'invalid_grant', error_description: 'Token has been expired or revoked.' } };
    }
    return this.grant('https://www.googleapis.com/auth/drive.file');
  }

  private jwtGrant(assertion: string): TokenAnswer {
    const bad = (why: string): TokenAnswer => ({ status: 400, body: { error: 'invalid_grant', error_description: why } });
    const [h, p, s] = assertion.split('.');
    if (!h || !p || !s) return bad('Invalid JWT.');
    let header: { alg?: string };
    let claims: { iss?: string; aud?: string; exp?: number; iat?: number; scope?: string };
    try {
      header = JSON.parse(Buffer.from(h, 'base64url').toString());
      claims = JSON.parse(Buffer.from(p, 'base64url').toString());
    } catch {
      return bad('Invalid JWT.');
    }
    if (header.alg !== 'RS256') return bad('Invalid JWT signature algorithm.');
    const key = this.serviceAccounts.get(claims.iss ?? '');
    if (!key) return bad('Invalid JWT Signature.');
    if (!verify('RSA-SHA256', Buffer.from(`${h}.${p}`), key, Buffer.from(s, 'base64url'))) return bad('Invalid JWT Signature.');
    if (claims.aud !== GOOGLE_TOKEN_AUD && claims.aud !== this.tokenUrl) return bad('Invalid JWT: audience.');
    const now = Date.now() / 1000;
    if (typeof claims.exp !== 'number' || claims.exp < now) return bad('Invalid JWT: Token must be a short-lived token and in a reasonable timeframe.');
    if (!claims.scope) return bad('Invalid JWT: no scope.');
    return this.grant(claims.scope);
  }

  private grant(scope: string): TokenAnswer {
    this.issuedByEndpoint++;
    return { status: 200, body: { access_token: this.issue(3599), expires_in: 3599, scope, token_type: 'Bearer' } };
  }
}
