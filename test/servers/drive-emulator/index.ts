/**
 * EMULATOR of the Google Drive v3 REST API, not Google Drive. It implements
 * only the subset Ferry's gdrive adapter uses, written from Google's
 * documented request and response shapes, so the real `googleapis` client
 * can be tested on loopback (no Google endpoint is reachable from tests):
 *
 * - `files.list` (`q`, `pageSize`, `pageToken`, `fields`), `files.get`
 *   (metadata, or the content with `alt=media`), `files.create` for
 *   metadata-only files and folders (`application/vnd.google-apps.folder`),
 *   `files.update` (name, trashed), `files.delete` (permanent), `about.get`;
 * - uploads: multipart, media and resumable (see uploads.ts);
 * - `md5Checksum` and `size` computed from the stored bytes;
 * - OAuth: the token endpoint (refresh-token and service-account grants) and
 *   401 for a missing, unknown or revoked bearer token (see oauth.ts);
 * - `setFailure()` to answer the next requests with Drive's 403
 *   rate-limit / storage-quota errors, a 429 (with `Retry-After` when
 *   asked) or a 503; `cutNextChunks()`, `shortNextChunks()` and
 *   `expireSessions()` for the upload faults Drive's resumable protocol is
 *   built to survive (see uploads.ts);
 * - partial responses: an unknown name in `fields` is Drive's 400
 *   `invalidParameter` (see fields.ts);
 * - shared drives, as far as `driveId` on their files and
 *   `supportsAllDrives` go.
 *
 * File bodies live in a temporary directory, removed by `stop()`.
 */
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OAuthState, type OAuthClientRegistration } from './oauth.js';
import { compileQuery, QueryError } from './query.js';
import { parseJson, readSmallBody, sendDriveError, sendJson } from './respond.js';
import { DEFAULT_FILE_FIELDS, DEFAULT_LIST_FIELDS, pick, selectFields, type Selector } from './fields.js';
import { FileStore, FOLDER_MIME, toResource, type FileRecord } from './store.js';
import { Uploads } from './uploads.js';

export { FOLDER_MIME, type FileRecord };

/** Drive answers the emulator can be told to give instead of serving requests. */
export type FailureKind = 'userRateLimit' | 'rateLimit' | 'tooManyRequests' | 'quota' | 'unavailable';

export interface FailureOptions {
  /** Seconds sent as `Retry-After` with each failure. */
  retryAfter?: number;
  /** `chunks`: only PUTs to resumable session URIs fail (default: every Drive request). */
  on?: 'all' | 'chunks';
}

export interface RequestLogEntry {
  method: string;
  path: string;
  uploadType?: string;
  contentRange?: string;
  status: number;
}

export interface DriveEmulator {
  /** API root to hand to googleapis as `rootUrl` (ends with `/`). */
  rootUrl: string;
  /** OAuth token endpoint. */
  tokenUrl: string;
  /** My Drive's folder id (what the `root` alias means). */
  rootFolderId: string;
  addOAuthClient(client: OAuthClientRegistration): void;
  addServiceAccount(email: string, publicKeyPem: string): void;
  /** A valid bearer token, minted without the token endpoint. */
  issueToken(): string;
  /** Invalidates every bearer token handed out so far (the next API call gets 401). */
  revokeTokens(): void;
  /** Tokens handed out by the token endpoint so far. */
  tokensIssued(): number;
  /**
   * Makes the next `times` requests (all of them when omitted, until
   * `setFailure(null)`) fail: `userRateLimit` / `rateLimit` → 403
   * `userRateLimitExceeded` / `rateLimitExceeded` on any Drive request;
   * `tooManyRequests` → 429 `rateLimitExceeded`;
   * `quota` → 403 `storageQuotaExceeded` on requests that create files;
   * `unavailable` → 503 `backendError`.
   */
  setFailure(kind: FailureKind | null, times?: number, options?: FailureOptions): void;
  /**
   * Cuts the next `times` chunk PUTs off mid-body: the connection is
   * destroyed once `afterBytes` of the chunk have arrived. The session keeps
   * the part received that ends on a 256 KiB boundary.
   */
  cutNextChunks(afterBytes: number, times?: number): void;
  /**
   * The next `times` chunk PUTs store `missing` bytes fewer than they
   * carried (rounded down to a 256 KiB boundary) and answer 308 with a
   * `Range` that ends early.
   */
  shortNextChunks(missing: number, times?: number): void;
  /** Expires every unfinished upload session: its URI answers 404 from now on. Returns how many. */
  expireSessions(): number;
  /**
   * Creates a shared drive (its root folder's id is the drive id); files
   * under it carry `driveId`. With `role: 'fileOrganizer'` (Content manager)
   * the caller may add files but not delete them: `files.delete` answers 403
   * `insufficientFilePermissions`, as the reference for `files.delete` asks
   * for `organizer`.
   */
  createSharedDrive(name: string, role?: 'organizer' | 'fileOrganizer'): string;
  /** Stores the next `count` uploaded files with a wrong `md5Checksum`, as if bytes were damaged in transit. */
  corruptNextUploads(count?: number): void;
  /** Every stored file and folder, trashed or not (copies). */
  files(): FileRecord[];
  /** Creates a folder directly, as if made in the Drive UI; returns its id. */
  createFolder(name: string, parentId?: string): string;
  /** Resumable sessions opened but never completed. */
  openSessions(): number;
  /** Every answered request, oldest first. */
  requests: RequestLogEntry[];
  stop(): Promise<void>;
}

export interface DriveEmulatorOptions {
  /** Storage limit reported by `about.get` (omitted: unlimited). */
  quotaBytes?: number;
}

const FAILURES: Record<FailureKind, [number, string, string]> = {
  userRateLimit: [403, 'userRateLimitExceeded', 'User rate limit exceeded.'],
  rateLimit: [403, 'rateLimitExceeded', 'Rate Limit Exceeded'],
  tooManyRequests: [429, 'rateLimitExceeded', 'Rate Limit Exceeded'],
  quota: [403, 'storageQuotaExceeded', "The user's Drive storage quota has been exceeded."],
  unavailable: [503, 'backendError', 'Backend Error'],
};

/** Starts the emulator on a free loopback port. */
export async function startDriveEmulator(options: DriveEmulatorOptions = {}): Promise<DriveEmulator> {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-drive-emulator-'));
  const store = new FileStore(dir);
  let rootUrl = '';
  let tokenUrl = '';
  let oauth: OAuthState | undefined;
  let failure: { kind: FailureKind; left: number; options: FailureOptions } | undefined;
  const requests: RequestLogEntry[] = [];
  /** Shared drives where the caller is only a Content manager (`fileOrganizer`). */
  const contentManagerOf = new Set<string>();

  /** Sends a file resource; `fields` were checked with `selectFields` before anything was done. */
  const reply = (res: ServerResponse, file: FileRecord, fields: string | null) => {
    sendJson(res, 200, pick(toResource(file), selectFields(res, fields, 'file', DEFAULT_FILE_FIELDS) as Selector));
  };
  const uploads = new Uploads(store, () => rootUrl, reply);

  /** Answers with the configured failure when one applies to this request; true when it did. */
  const injectFailure = (res: ServerResponse, creates: boolean, chunk: boolean): boolean => {
    if (!failure || failure.left === 0) return false;
    if (failure.kind === 'quota' && !creates) return false;
    if (failure.options.on === 'chunks' && !chunk) return false;
    if (failure.left > 0) failure.left--;
    const [code, reason, message] = FAILURES[failure.kind];
    const retryAfter = failure.options.retryAfter;
    sendDriveError(res, code, reason, message, {}, retryAfter !== undefined ? { 'Retry-After': String(retryAfter) } : {});
    return true;
  };

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', rootUrl);
    const path = url.pathname;
    const method = req.method ?? 'GET';
    if (path === '/token' && method === 'POST') {
      const form = new URLSearchParams((await readSmallBody(req)).toString('utf8'));
      const answer = oauth!.token(form, req.headers.authorization);
      return sendJson(res, answer.status, answer.body);
    }
    const isUpload = path === '/upload/drive/v3/files';
    const isSessionChunk = isUpload && url.searchParams.has('upload_id');
    if (!path.startsWith('/drive/v3/') && !isUpload) return sendDriveError(res, 404, 'notFound', `Not found: ${path}`);
    // A resumable session URI is itself the credential, as on Drive.
    if (!isSessionChunk && !oauth!.authorized(req.headers.authorization)) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="https://accounts.google.com/", error="invalid_token"');
      return sendDriveError(res, 401, 'authError', 'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.', { location: 'Authorization', locationType: 'header' });
    }
    const creates = method === 'POST' && (isUpload || path === '/drive/v3/files') && !isSessionChunk;
    if (injectFailure(res, creates, isSessionChunk)) return void req.resume();
    if (isUpload) return uploads.handle(req, res, url);

    if (path === '/drive/v3/about' && method === 'GET') {
      const quota = { usage: String(store.usage()), usageInDrive: String(store.usage()), ...(options.quotaBytes ? { limit: String(options.quotaBytes) } : {}) };
      const about = { kind: 'drive#about', user: { kind: 'drive#user', displayName: 'Emulated User', emailAddress: 'user@emulator.invalid' }, storageQuota: quota };
      const sel = selectFields(res, url.searchParams.get('fields'), 'about', '*');
      return sel && sendJson(res, 200, pick(about, sel));
    }
    if (path === '/drive/v3/files') {
      if (method === 'GET') return list(res, url);
      if (method === 'POST') {
        const meta = parseJson(res, await readSmallBody(req));
        if (!meta || !selectFields(res, url.searchParams.get('fields'), 'file', DEFAULT_FILE_FIELDS)) return;
        return reply(res, store.create(meta), url.searchParams.get('fields'));
      }
    }
    const m = /^\/drive\/v3\/files\/([^/]+)$/.exec(path);
    if (m) {
      const file = store.get(decodeURIComponent(m[1]!));
      // Without supportsAllDrives, Drive does not see shared-drive items at all.
      const visible = file && (!file.driveId || url.searchParams.get('supportsAllDrives') === 'true');
      if (!file || !visible) return sendDriveError(res, 404, 'notFound', `File not found: ${decodeURIComponent(m[1]!)}.`, { location: 'fileId', locationType: 'parameter' });
      if (method !== 'DELETE' && !selectFields(res, url.searchParams.get('fields'), 'file', DEFAULT_FILE_FIELDS)) return void req.resume();
      if (method === 'GET' && url.searchParams.get('alt') === 'media') {
        if (!file.path) return sendDriveError(res, 403, 'fileNotDownloadable', 'Only files with binary content can be downloaded.');
        res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': file.size ?? 0 });
        createReadStream(file.path).pipe(res);
        return;
      }
      if (method === 'GET') return reply(res, file, url.searchParams.get('fields'));
      if (method === 'DELETE') {
        if (file.driveId && contentManagerOf.has(file.driveId)) {
          return sendDriveError(res, 403, 'insufficientFilePermissions', 'The user does not have sufficient permissions for this file.');
        }
        await store.delete(file.id);
        res.writeHead(204);
        return void res.end();
      }
      if (method === 'PATCH') {
        const meta = parseJson(res, await readSmallBody(req));
        if (!meta) return;
        if (typeof meta.name === 'string') file.name = meta.name;
        if (typeof meta.trashed === 'boolean') file.trashed = meta.trashed;
        file.modifiedTime = new Date().toISOString();
        return reply(res, file, url.searchParams.get('fields'));
      }
    }
    sendDriveError(res, 404, 'notFound', `Not found: ${method} ${path}`);
  };

  const list = (res: ServerResponse, url: URL): void => {
    let pred: (f: FileRecord) => boolean = () => true;
    const q = url.searchParams.get('q');
    try {
      if (q) pred = compileQuery(q, (id) => store.resolve(id));
    } catch (err) {
      if (err instanceof QueryError) return sendDriveError(res, 400, 'invalid', `Invalid Value: ${err.message}`, { location: 'q', locationType: 'parameter' });
      throw err;
    }
    const pageSize = Math.min(Math.max(Number(url.searchParams.get('pageSize') ?? 100) || 100, 1), 1000);
    const token = url.searchParams.get('pageToken');
    let offset = 0;
    if (token) {
      const decoded = JSON.parse(Buffer.from(token, 'base64url').toString() || '{}') as { offset?: number; q?: string | null };
      if (typeof decoded.offset !== 'number' || decoded.q !== q) return sendDriveError(res, 400, 'invalid', 'Invalid Value', { location: 'pageToken', locationType: 'parameter' });
      offset = decoded.offset;
    }
    const matched = store.all().filter(pred).sort((a, b) => a.createdTime.localeCompare(b.createdTime) || a.id.localeCompare(b.id));
    const page = matched.slice(offset, offset + pageSize);
    const next = offset + pageSize < matched.length ? Buffer.from(JSON.stringify({ offset: offset + pageSize, q })).toString('base64url') : undefined;
    const body = { kind: 'drive#fileList', incompleteSearch: false, ...(next ? { nextPageToken: next } : {}), files: page.map(toResource) };
    const selector = selectFields(res, url.searchParams.get('fields'), 'fileList', DEFAULT_LIST_FIELDS);
    if (selector) sendJson(res, 200, pick(body, selector));
  };

  const server = createServer((req, res) => {
    const entry: RequestLogEntry = { method: req.method ?? '', path: (req.url ?? '').split('?')[0]!, status: 0 };
    const u = new URL(req.url ?? '/', 'http://x');
    if (u.searchParams.get('uploadType')) entry.uploadType = u.searchParams.get('uploadType')!;
    if (req.headers['content-range']) entry.contentRange = String(req.headers['content-range']);
    res.on('finish', () => { entry.status = res.statusCode; requests.push(entry); });
    route(req, res).catch((err: Error) => {
      if (!res.headersSent) sendDriveError(res, 500, 'internalError', `Emulator error: ${err.message}`);
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  rootUrl = `http://127.0.0.1:${port}/`;
  tokenUrl = `http://127.0.0.1:${port}/token`;
  oauth = new OAuthState(tokenUrl);
  const auth = oauth;

  let stopped: Promise<void> | undefined;
  return {
    rootUrl,
    tokenUrl,
    rootFolderId: store.rootId,
    requests,
    addOAuthClient: (c) => auth.addClient(c),
    addServiceAccount: (email, pem) => auth.addServiceAccount(email, pem),
    issueToken: () => auth.issue(),
    revokeTokens: () => auth.revokeAll(),
    tokensIssued: () => auth.issuedByEndpoint,
    setFailure(kind, times, options = {}) {
      failure = kind ? { kind, left: times ?? -1, options } : undefined;
    },
    cutNextChunks(afterBytes, times = 1) {
      uploads.cut = { bytes: afterBytes, left: times };
    },
    shortNextChunks(missing, times = 1) {
      uploads.short = { bytes: missing, left: times };
    },
    expireSessions: () => uploads.expireAll(),
    createSharedDrive(name, role = 'organizer') {
      const id = store.createSharedDrive(name);
      if (role === 'fileOrganizer') contentManagerOf.add(id);
      return id;
    },
    corruptNextUploads(count = 1) {
      store.corruptUploads = count;
    },
    files: () => store.all().map((f) => ({ ...f, parents: [...f.parents] })),
    createFolder: (name, parentId) => store.create({ name, mimeType: FOLDER_MIME, parents: [parentId ?? 'root'] }).id,
    openSessions: () => uploads.openSessions(),
    stop() {
      stopped ??= (async () => {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await uploads.close();
        await rm(dir, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
}
