import { addAbortSignal, type Readable } from 'node:stream';
import { drive as driveApi, type drive_v3 } from 'googleapis/build/src/apis/drive/index.js';
import type { Capabilities, ObjectInfo, OpOptions, PutBody, StorageAdapter } from '../../src/storage/adapter.js';
import { abortedError, StorageError } from '../../src/storage/errors.js';
import type { Logger } from '../../src/log.js';
import type { DriveAuth } from './auth.js';
import { Backoff, DEFAULT_BACKOFF, realClock, type BackoffPolicy, type Clock } from './backoff.js';
import { describeFailure, toStorageError } from './errors.js';
import { escapeQ, FOLDER_MIME, isNewer, toInfo } from './files.js';
import { CHUNK_QUANTUM, resumableUpload, type DriveFile } from './resumable.js';
import { reasonOf } from './upload-errors.js';

const FILE_FIELDS = 'id,name,mimeType,size,md5Checksum,createdTime,modifiedTime';

export interface GDriveSettings {
  auth: DriveAuth;
  /** The folder that holds the archives. Exactly one of folderId / folderName. */
  folderId?: string;
  /** A folder directly under My Drive, found by name or created on first use. */
  folderName?: string;
  /** Drive API root (default `https://www.googleapis.com/`); an emulator or proxy in tests. */
  apiRoot?: string;
  /** Resumable chunk size in bytes, a multiple of 256 KiB. */
  chunkSize: number;
  /** Files per `files.list` page (1–1000). Internal: tests lower it to force several pages. */
  listPageSize?: number;
  /** Where interruptions and resumes are reported. */
  log?: Logger;
  /** How long and how often a put waits out transient failures (`resume_timeout` sets the window). */
  backoff?: BackoffPolicy;
  /** Time source for the backoff. Internal: tests use a virtual clock. */
  clock?: Clock;
}

/**
 * Archives as files in one Google Drive folder, keys as flat file names.
 *
 * Drive allows several files with one name and has no exclusive create, so
 * a put never replaces a file by checking twice: before the upload starts,
 * and once its file exists. When another file of that name is there the put
 * rejects with EXISTS; of two racing puts the one whose file was created
 * first (creation time, then id) wins and the other deletes its own file.
 * `get`, `stat` and `list` read that first file; `remove` deletes them all.
 * Deletes are permanent (`files.delete`), never to the trash, since trashed
 * files still use quota.
 * A file appears only when its upload completes, so partial uploads never list.
 */
export class GDriveAdapter implements StorageAdapter {
  readonly capabilities: Capabilities = { streamingPut: true, maxConcurrency: 2 };
  private readonly drive: drive_v3.Drive;
  private readonly apiRoot: string;
  private folder?: Promise<string>;
  private sharedDrive?: Promise<string | undefined>;

  constructor(readonly name: string, private readonly settings: GDriveSettings) {
    if (settings.chunkSize <= 0 || settings.chunkSize % CHUNK_QUANTUM !== 0) {
      throw new StorageError('CONFIG', name, `chunk_size must be a positive multiple of ${CHUNK_QUANTUM} bytes`);
    }
    const root = settings.apiRoot ?? 'https://www.googleapis.com/';
    this.apiRoot = root.endsWith('/') ? root : `${root}/`;
    this.drive = driveApi({ version: 'v3', auth: settings.auth, rootUrl: this.apiRoot });
  }

  /**
   * Uploads into a new file with the resumable protocol, small files too
   * (one chunk): a lost answer can then be asked for again instead of
   * leaving a file of unknown state. Transient failures (dropped
   * connections, 5xx, 429, rate-limit 403s) are ridden out with backoff
   * for up to the backoff window without progress, the lookups around the
   * upload included; the upload resumes from the offset Drive reports.
   * The stored size and MD5 are compared with what was sent; on a mismatch
   * the new file is deleted and the put fails with CORRUPT. A name that is
   * taken, before or after the upload, fails with EXISTS (see `refuseTaken`).
   */
  async put(key: string, body: PutBody, options: OpOptions = {}): Promise<number> {
    const { signal } = options;
    const backoff = new Backoff(this.settings.backoff ?? DEFAULT_BACKOFF, this.settings.clock ?? realClock);
    const folderId = await this.folderId(signal, backoff);
    const what = `uploading ${key} to ${this.folderLabel()}`;
    if ((await this.find(key, signal, backoff)).length > 0) throw this.existsError(key);
    const metadata = { name: key, parents: [folderId], mimeType: 'application/octet-stream' };
    let input: Readable;
    try {
      input = body.open();
    } catch (err) {
      throw new StorageError('UNKNOWN', this.name, `${what}: cannot open the upload body: ${(err as Error).message}`, { cause: err, retryable: false });
    }
    const log = this.settings.log;
    const { file, bytes, md5, resumes } = await resumableUpload(
      {
        target: this.name, auth: this.settings.auth, apiRoot: this.apiRoot, chunkSize: this.settings.chunkSize, fields: FILE_FIELDS, what,
        replayable: body.replayable, backoff, onInterruption: (m) => log?.warn(`${this.name}: ${m}`),
      },
      metadata,
      input,
      body.size,
      signal,
    );
    if (resumes > 0) log?.info(`${this.name}: ${key} uploaded; resumed ${resumes} ${resumes === 1 ? 'time' : 'times'} after interruptions`);
    const badSize = file.size !== undefined && Number(file.size) !== bytes;
    const badMd5 = file.md5Checksum !== undefined && file.md5Checksum.toLowerCase() !== md5;
    if (badSize || badMd5) {
      await this.deleteId(file.id, undefined, backoff).catch(() => {});
      const detail = badSize ? `size ${file.size} instead of ${bytes}` : `MD5 ${file.md5Checksum} instead of ${md5}`;
      throw new StorageError('CORRUPT', this.name, `${what}: Drive stored ${detail}; the file was deleted`, { retryable: true });
    }
    await this.refuseTaken(key, file, backoff);
    return bytes;
  }

  /** Streams the first file of that name. Rejects with NOT_FOUND when there is none. */
  async get(key: string, options: OpOptions = {}): Promise<Readable> {
    const file = await this.first(key, options.signal);
    const res = await this.call(`reading ${key} from ${this.folderLabel()}`, options.signal, (o) =>
      this.drive.files.get({ fileId: file.id, alt: 'media', supportsAllDrives: true }, { ...o, responseType: 'stream' }),
    );
    const stream = res.data as unknown as Readable;
    if (options.signal) addAbortSignal(options.signal, stream);
    return stream;
  }

  async stat(key: string, options: OpOptions = {}): Promise<ObjectInfo> {
    return toInfo(await this.first(key, options.signal));
  }

  /** Lists files (not folders) in the folder whose name starts with `prefix`, one entry per name (the first). */
  async list(prefix: string, options: OpOptions = {}): Promise<ObjectInfo[]> {
    const folderId = await this.folderId(options.signal);
    const files = await this.query(`'${escapeQ(folderId)}' in parents and trashed = false`, `listing ${this.folderLabel()}`, options.signal);
    const first = new Map<string, DriveFile>();
    for (const f of files) {
      if (!f.name?.startsWith(prefix) || f.mimeType === FOLDER_MIME) continue;
      const seen = first.get(f.name);
      if (!seen || isNewer(seen, f)) first.set(f.name, f);
    }
    return [...first.values()].map(toInfo);
  }

  /** Permanently deletes every file of that name. Idempotent. */
  async remove(key: string, options: OpOptions = {}): Promise<void> {
    for (const f of await this.find(key, options.signal)) await this.deleteId(f.id, options.signal);
  }

  /**
   * Storage left in the account's Drive (`about.storageQuota`); undefined
   * when the account has no limit, and for a folder in a shared drive: the
   * quota `about.get` reports is the caller's own, while a shared drive's
   * files count against the organization's pooled storage, which the Drive
   * API does not report.
   */
  async freeSpace(options: OpOptions = {}): Promise<number | undefined> {
    if (await this.sharedDriveId(options.signal)) return undefined;
    const res = await this.call('reading the storage quota', options.signal, (o) => this.drive.about.get({ fields: 'storageQuota' }, o));
    const q = res.data.storageQuota;
    if (!q?.limit) return undefined;
    return Math.max(0, Number(q.limit) - Number(q.usage ?? 0));
  }

  /** Checks that the credentials work and the folder is reachable (creating a named folder if needed). */
  async probe(options: OpOptions = {}): Promise<string[]> {
    const id = await this.folderId(options.signal);
    const lines = [`Google Drive ${this.folderLabel()} (id ${id})`];
    const drive = await this.sharedDriveId(options.signal);
    if (drive) {
      lines.push(`in shared drive ${drive}: free space unknown (shared drives use the organization's pooled storage, which the Drive API does not report; the account's own quota does not apply)`);
    }
    return lines;
  }

  /** The shared drive holding a `folder_id` folder, or undefined (My Drive). Memoized on success. */
  private sharedDriveId(signal?: AbortSignal): Promise<string | undefined> {
    const folderId = this.settings.folderId;
    if (!folderId) return Promise.resolve(undefined);
    if (!this.sharedDrive) {
      const lookup = this.call(`reading ${this.folderLabel()}`, signal, (o) =>
        this.drive.files.get({ fileId: folderId, fields: 'id,driveId', supportsAllDrives: true }, o),
      ).then((res) => res.data.driveId ?? undefined);
      this.sharedDrive = lookup;
      lookup.catch(() => { if (this.sharedDrive === lookup) this.sharedDrive = undefined; });
    }
    return this.sharedDrive;
  }

  /** The folder's id: the configured one, or the named folder under My Drive, created when missing. Memoized on success. */
  private folderId(signal?: AbortSignal, backoff?: Backoff): Promise<string> {
    if (this.settings.folderId) return Promise.resolve(this.settings.folderId);
    if (!this.folder) {
      const lookup = this.findOrCreateFolder(this.settings.folderName ?? 'Ferry', signal, backoff);
      this.folder = lookup;
      lookup.catch(() => { if (this.folder === lookup) this.folder = undefined; });
    }
    return this.folder;
  }

  private async findOrCreateFolder(name: string, signal?: AbortSignal, backoff?: Backoff): Promise<string> {
    const what = `finding folder "${name}" in My Drive`;
    const q = `name = '${escapeQ(name)}' and mimeType = '${FOLDER_MIME}' and 'root' in parents and trashed = false`;
    const found = await this.query(q, what, signal, backoff);
    const oldest = found.sort((a, b) => (isNewer(a, b) ? 1 : -1))[0];
    if (oldest) return oldest.id;
    const res = await this.call(`creating folder "${name}" in My Drive`, signal, (o) =>
      this.drive.files.create({ requestBody: { name, mimeType: FOLDER_MIME, parents: ['root'] }, fields: 'id', supportsAllDrives: true }, o),
    );
    if (!res.data.id) throw new StorageError('UNKNOWN', this.name, `creating folder "${name}": Drive returned no id`);
    return res.data.id;
  }

  /**
   * Runs once the new `file` exists. When another file named `key` was
   * created before it (another put, or one that raced this one and won the
   * tie-break of creation time and id), this put lost: its own file is
   * deleted and the put rejects with EXISTS. Files created after it belong
   * to puts that will find this one and give way.
   */
  private async refuseTaken(key: string, file: DriveFile, backoff?: Backoff): Promise<void> {
    const earlier = (await this.find(key, undefined, backoff)).filter((f) => f.id !== file.id && isNewer(file, f));
    if (earlier.length === 0) return;
    await this.deleteId(file.id, undefined, backoff).catch(() => {});
    throw this.existsError(key);
  }

  private existsError(key: string): StorageError {
    return new StorageError('EXISTS', this.name, `${key} already exists in ${this.folderLabel()}; it is never replaced`);
  }

  /** Files (not folders) named exactly `key` in the folder, first created first. */
  private async find(key: string, signal?: AbortSignal, backoff?: Backoff): Promise<DriveFile[]> {
    const folderId = await this.folderId(signal, backoff);
    const q = `'${escapeQ(folderId)}' in parents and name = '${escapeQ(key)}' and trashed = false`;
    const files = await this.query(q, `looking up ${key} in ${this.folderLabel()}`, signal, backoff);
    return files.filter((f) => f.mimeType !== FOLDER_MIME).sort((a, b) => (isNewer(a, b) ? 1 : -1));
  }

  /** The file a name stands for: the first one created (the put that won). */
  private async first(key: string, signal?: AbortSignal): Promise<DriveFile> {
    const file = (await this.find(key, signal))[0];
    if (!file) throw new StorageError('NOT_FOUND', this.name, `${key} does not exist in ${this.folderLabel()}`);
    return file;
  }

  /** Runs a `files.list` query through every page. */
  private async query(q: string, what: string, signal?: AbortSignal, backoff?: Backoff): Promise<DriveFile[]> {
    const out: DriveFile[] = [];
    let pageToken: string | undefined;
    do {
      const res = await this.call(what, signal, (o) =>
        this.drive.files.list(
          {
            q,
            pageToken,
            pageSize: this.settings.listPageSize ?? 1000,
            fields: `nextPageToken, files(${FILE_FIELDS})`,
            spaces: 'drive',
            supportsAllDrives: true,
            includeItemsFromAllDrives: true,
          },
          o,
        ),
      backoff);
      for (const f of res.data.files ?? []) if (f.id) out.push(f as DriveFile);
      pageToken = res.data.nextPageToken ?? undefined;
    } while (pageToken);
    return out;
  }

  /** Permanently deletes one file by id; a file that is already gone is not an error. */
  private async deleteId(id: string, signal?: AbortSignal, backoff?: Backoff): Promise<void> {
    try {
      await this.call(`deleting file ${id} from ${this.folderLabel()}`, signal, (o) => this.drive.files.delete({ fileId: id, supportsAllDrives: true }, o), backoff);
    } catch (err) {
      if (err instanceof StorageError && err.code === 'AUTH' && (await this.sharedDriveId().catch(() => undefined))) {
        throw new StorageError('AUTH', this.name, `${err.message.replace(/^target "[^"]*" \[AUTH\]: /, '')}. In a shared drive, deleting needs the Manager role (organizer) on the folder`, { cause: err });
      }
      if (!(err instanceof StorageError && err.code === 'NOT_FOUND')) throw err;
    }
  }

  /**
   * Runs one googleapis call with the options every call needs: `rootUrl`
   * (a client-level rootUrl does not reach media URLs), the abort signal,
   * and no library retries (the core's retry wrapper owns retrying). Calls
   * that belong to a put pass its `backoff`: a retryable failure is then
   * waited out here (honouring `Retry-After`), since the put itself cannot
   * be repeated once its stream is read.
   */
  private async call<T>(
    what: string,
    signal: AbortSignal | undefined,
    fn: (o: { rootUrl: string; signal?: AbortSignal; retry: false }) => Promise<T>,
    backoff?: Backoff,
  ): Promise<T> {
    for (;;) {
      if (signal?.aborted) throw abortedError(this.name, signal);
      try {
        const result = await fn({ rootUrl: this.apiRoot, signal, retry: false });
        backoff?.progress();
        return result;
      } catch (err) {
        if (signal?.aborted) throw abortedError(this.name, signal);
        if (err instanceof StorageError) throw err;
        const failure = describeFailure(err);
        const error = toStorageError(this.name, what, failure, err);
        const delay = error.retryable ? backoff?.next(failure.retryAfterMs) : undefined;
        if (delay === undefined) throw error;
        this.settings.log?.warn(`${this.name}: ${what} failed (${reasonOf(failure)}); trying again in ${(delay / 1000).toFixed(1)} s`);
        await backoff!.sleep(delay, signal).catch(() => { throw abortedError(this.name, signal); });
      }
    }
  }

  private folderLabel(): string {
    return this.settings.folderId ? `folder ${this.settings.folderId}` : `folder "${this.settings.folderName ?? 'Ferry'}"`;
  }
}
