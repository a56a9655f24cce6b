import { z } from 'zod';
import { resumeTimeout } from '../../src/config/resume-timeout.js';
import { secret } from '../../src/config/secret.js';
import { defineAdapter } from '../../src/storage/definition.js';
import { StorageError } from '../../src/storage/errors.js';

const KIB256 = 256 * 1024;

export const gdriveOptions = {
  /**
   * ID of the Drive folder that holds the archives (the last part of the
   * folder's URL). Set this or `folder`, not both. With a service account,
   * share the folder with the account's email (or use a shared drive).
   */
  folder_id: z.string().min(1).optional().describe('ID of the Drive folder that holds the archives (from its URL)'),
  /**
   * Name of a folder directly under My Drive; it is created on first use
   * when missing. Set this or `folder_id`, not both.
   */
  folder: z.string().min(1).optional().describe('Name of a folder under My Drive, created when missing'),
  /**
   * Google credentials JSON, told apart by its `type` field: a service
   * account key (`service_account`) or an OAuth client plus refresh token
   * (`authorized_user`, see docs/gdrive.md). Usually given as
   * `credentials_file`.
   */
  ...secret('credentials', 'Google credentials JSON: a service account key or an OAuth authorized_user file'),
  /**
   * Resumable upload chunk size in bytes: a multiple of 256 KiB, default
   * 8 MiB. One chunk per upload is held in memory until Drive confirms it,
   * so a failed chunk is resent from memory; larger chunks mean fewer
   * requests.
   */
  chunk_size: z
    .number()
    .int()
    .min(KIB256)
    .max(256 * 1024 * 1024)
    .refine((n) => n % KIB256 === 0, { message: 'must be a multiple of 262144 (256 KiB)' })
    .default(8 * 1024 * 1024)
    .describe('Resumable upload chunk size in bytes, a multiple of 256 KiB (default 8 MiB)'),
  /**
   * Seconds an interrupted upload keeps waiting out failures (dropped
   * connections, 5xx, 429, rate limits; with backoff, honouring
   * `Retry-After`) without a byte confirmed before the target fails with
   * UNAVAILABLE. Default 120, as for sftp; 0 fails at the first failure. At most 6 hours.
   */
  resume_timeout: resumeTimeout('Seconds an interrupted upload keeps waiting out failures and resuming before the target fails (default 120)'),
  /**
   * Drive API root URL, default `https://www.googleapis.com/`. Advanced: for
   * testing against an emulator or going through a proxy.
   */
  api_root: z.string().url().optional().describe('Drive API root URL; only for testing against an emulator or a proxy'),
  /**
   * OAuth token endpoint, default `https://oauth2.googleapis.com/token`.
   * Advanced: for testing against an emulator or going through a proxy.
   */
  token_url: z.string().url().optional().describe('OAuth token endpoint URL; only for testing against an emulator or a proxy'),
};

export default defineAdapter({
  type: 'gdrive',
  options: gdriveOptions,
  // A folder id names one folder everywhere; a folder name depends on the account, which the config cannot tell.
  location: (options) => (options.folder_id !== undefined ? `gdrive ${options.api_root ?? 'Google'} folder id ${options.folder_id}` : undefined),
  async create(name, options, context) {
    if ((options.folder_id === undefined) === (options.folder === undefined)) {
      throw new StorageError('CONFIG', name, 'set exactly one of folder_id (an existing folder) or folder (a folder name under My Drive)');
    }
    // The config loader has read `credentials_file` into `credentials`.
    const json = options.credentials;
    if (json === undefined) {
      throw new StorageError('CONFIG', name, 'set credentials_file to a service account key or an OAuth authorized_user JSON file');
    }
    const [{ parseCredentials, createAuth }, { GDriveAdapter }, { DEFAULT_BACKOFF }] = await Promise.all([import('./auth.js'), import('./adapter.js'), import('./backoff.js')]);
    return new GDriveAdapter(name, {
      auth: createAuth(parseCredentials(name, json), options.token_url),
      folderId: options.folder_id,
      folderName: options.folder,
      apiRoot: options.api_root,
      chunkSize: options.chunk_size,
      log: context.log,
      backoff: { ...DEFAULT_BACKOFF, windowMs: options.resume_timeout * 1000 },
    });
  },
});
