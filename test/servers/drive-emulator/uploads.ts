/**
 * EMULATOR: the upload endpoints of the Drive v3 emulator
 * (`/upload/drive/v3/files`), written from Google's "Upload file data" guide:
 *
 * - `uploadType=multipart`: one `multipart/related` body, a JSON metadata
 *   part followed by the media part.
 * - `uploadType=media`: the body is the file content.
 * - `uploadType=resumable`: a POST with JSON metadata opens a session and
 *   answers 200 with its URI in `Location`; PUTs to the session carry
 *   `Content-Range: bytes a-b/total|*` (or `bytes * /total` to ask for the
 *   status). Incomplete uploads are answered `308 Resume Incomplete` with
 *   `Range: bytes=0-N` (no `Range` when nothing is stored yet). Every chunk
 *   but the last must end on a 256 KiB boundary. The file is created only
 *   when the last byte arrives; a session that never completes creates
 *   nothing.
 *
 * Bodies are streamed to disk; at most one small header block is in memory.
 */
import { createHash, randomBytes, type Hash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { open, rm, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { DEFAULT_FILE_FIELDS, selectFields } from './fields.js';
import { bodyToFile, parseJson, readSmallBody, sendDriveError } from './respond.js';
import type { FileRecord, FileStore } from './store.js';

export const CHUNK_QUANTUM = 256 * 1024;

interface Session {
  id: string;
  meta: Record<string, unknown>;
  fields: string | null;
  path: string;
  received: number;
  declaredTotal?: number;
  hash: Hash;
  done?: FileRecord;
  /** Set by `expireAll`: the session URI answers 404 from then on. */
  expired?: boolean;
  /** Serializes requests on one session: each waits for the one before. */
  queue: Promise<void>;
}

/** Faults a test arms on the next chunk PUTs (see the emulator's `cutNextChunks` / `shortNextChunks`). */
interface ChunkFault { bytes: number; left: number }

/** Sends the created file, filtered by the request's `fields`. */
export type Reply = (res: ServerResponse, file: FileRecord, fields: string | null) => void;

export class Uploads {
  private readonly sessions = new Map<string, Session>();
  /** The next chunk PUTs are cut off (socket destroyed) after this many body bytes. */
  cut?: ChunkFault;
  /** The next chunk PUTs keep this many bytes fewer than they carried (rounded to whole 256 KiB units). */
  short?: ChunkFault;

  /** Expires every unfinished session: its URI answers 404 from now on, as an expired Drive session does. */
  expireAll(): number {
    let n = 0;
    for (const s of this.sessions.values()) if (!s.done && !s.expired) { s.expired = true; n++; }
    return n;
  }

  constructor(private readonly store: FileStore, private readonly rootUrl: () => string, private readonly reply: Reply) {}

  /** Sessions opened but not finished (tests assert that aborted uploads leave only these). */
  openSessions(): number {
    return [...this.sessions.values()].filter((s) => !s.done).length;
  }

  async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const uploadId = url.searchParams.get('upload_id');
    if (uploadId) return this.sessionRequest(req, res, uploadId);
    if (req.method !== 'POST') return sendDriveError(res, 405, 'httpMethodNotAllowed', 'Method not allowed');
    const type = url.searchParams.get('uploadType');
    const fields = url.searchParams.get('fields');
    if (!selectFields(res, fields, 'file', DEFAULT_FILE_FIELDS)) return void req.resume();
    if (type === 'resumable') return this.openSession(req, res, fields);
    if (type === 'multipart') return this.multipart(req, res, fields);
    if (type === 'media') return this.media(req, res, fields);
    return sendDriveError(res, 400, 'invalid', `Invalid uploadType: ${type ?? '(none)'}`);
  }

  private async media(req: IncomingMessage, res: ServerResponse, fields: string | null): Promise<void> {
    const tmp = this.store.tempPath();
    try {
      await bodyToFile(req, tmp);
    } catch {
      await rm(tmp, { force: true });
      return;
    }
    const body = await hashFile(tmp);
    this.reply(res, this.store.create({}, { path: tmp, ...body }), fields);
  }

  private async multipart(req: IncomingMessage, res: ServerResponse, fields: string | null): Promise<void> {
    const boundary = /boundary="?([^";]+)"?/i.exec(req.headers['content-type'] ?? '')?.[1];
    if (!boundary) return sendDriveError(res, 400, 'badContent', 'Multipart upload without a boundary');
    const raw = this.store.tempPath();
    try {
      await bodyToFile(req, raw);
    } catch {
      await rm(raw, { force: true });
      return; // the client went away: nothing is created
    }
    try {
      const parts = await locateParts(raw, boundary);
      if (!parts) return sendDriveError(res, 400, 'badContent', 'Malformed multipart body');
      const meta = parseJson(res, parts.metadata);
      if (!meta) return;
      const dest = this.store.tempPath();
      const hash = createHash('md5');
      const size = parts.mediaEnd - parts.mediaStart;
      const src = size > 0 ? createReadStream(raw, { start: parts.mediaStart, end: parts.mediaEnd - 1 }) : emptyStream();
      await pipeline(src, async function* (s) { for await (const c of s) { hash.update(c as Buffer); yield c; } }, createWriteStream(dest));
      this.reply(res, this.store.create(meta, { path: dest, size, md5: hash.digest('hex') }), fields);
    } finally {
      await rm(raw, { force: true });
    }
  }

  private async openSession(req: IncomingMessage, res: ServerResponse, fields: string | null): Promise<void> {
    const meta = parseJson(res, await readSmallBody(req));
    if (!meta) return;
    const declared = req.headers['x-upload-content-length'];
    const session: Session = {
      id: randomBytes(24).toString('base64url'),
      meta,
      fields,
      path: this.store.tempPath(),
      received: 0,
      declaredTotal: declared !== undefined ? Number(declared) : undefined,
      hash: createHash('md5'),
      queue: Promise.resolve(),
    };
    await (await open(session.path, 'w')).close();
    this.sessions.set(session.id, session);
    // Relative to the host the client asked for, so a proxy in between stays in the path of the chunks.
    const location = new URL('upload/drive/v3/files', req.headers.host ? `http://${req.headers.host}/` : this.rootUrl());
    location.searchParams.set('uploadType', 'resumable');
    location.searchParams.set('upload_id', session.id);
    res.writeHead(200, { Location: location.href, 'Content-Length': 0 });
    res.end();
  }

  private async sessionRequest(req: IncomingMessage, res: ServerResponse, id: string): Promise<void> {
    const s = this.sessions.get(id);
    if (!s || s.expired) {
      req.resume();
      return sendDriveError(res, 404, 'notFound', 'Upload session not found or expired');
    }
    if (req.method !== 'PUT' && req.method !== 'POST') return sendDriveError(res, 405, 'httpMethodNotAllowed', 'Method not allowed');
    const turn = s.queue.then(async () => {
      if (s.done) {
        req.resume();
        return this.reply(res, s.done, s.fields);
      }
      await this.chunk(req, res, s);
    });
    s.queue = turn.catch(() => {});
    await turn;
  }

  private async chunk(req: IncomingMessage, res: ServerResponse, s: Session): Promise<void> {
    const range = parseContentRange(req.headers['content-range'], Number(req.headers['content-length'] ?? 0));
    if (!range) {
      req.resume();
      return sendDriveError(res, 400, 'badContent', 'Invalid Content-Range header');
    }
    const { start, end, total } = range;
    if (total !== undefined && s.declaredTotal !== undefined && total !== s.declaredTotal) {
      req.resume();
      return sendDriveError(res, 400, 'badContent', `Content-Range total ${total} does not match X-Upload-Content-Length ${s.declaredTotal}`);
    }
    if (start !== undefined && end !== undefined) {
      if (start > s.received) {
        req.resume();
        return sendDriveError(res, 400, 'badContent', `Chunk starts at ${start} but only ${s.received} bytes were received`);
      }
      const last = total !== undefined && end + 1 === total;
      if (!last && (end + 1) % CHUNK_QUANTUM !== 0) {
        req.resume();
        return sendDriveError(res, 400, 'badContent', 'Invalid request. Chunks other than the last must be a multiple of 256 KiB');
      }
      const tmp = this.store.tempPath();
      const cut = take(this, 'cut');
      if (cut) armCut(req, cut);
      try {
        const n = await bodyToFile(req, tmp).catch(async () => undefined);
        if (n === undefined) {
          // The connection went away mid-chunk: keep the part that ends on a 256 KiB boundary, as Drive may.
          const got = await stat(tmp).then((st) => st.size, () => 0);
          const keepEnd = Math.floor((start + got) / CHUNK_QUANTUM) * CHUNK_QUANTUM;
          if (keepEnd > s.received) await appendFrom(tmp, s.received - start, keepEnd - start, s);
          return void res.destroy();
        }
        if (n !== end - start + 1) return sendDriveError(res, 400, 'badContent', `Body has ${n} bytes, Content-Range says ${end - start + 1}`);
        const short = take(this, 'short');
        const keepEnd = short ? Math.max(start, Math.floor((end + 1 - short) / CHUNK_QUANTUM) * CHUNK_QUANTUM) : end + 1;
        if (keepEnd > s.received) await appendFrom(tmp, s.received - start, keepEnd - start, s);
      } finally {
        await rm(tmp, { force: true });
      }
    } else {
      req.resume();
    }
    if (total !== undefined && s.received === total) {
      s.done = this.store.create(s.meta, { path: s.path, size: s.received, md5: s.hash.digest('hex') });
      return this.reply(res, s.done, s.fields);
    }
    if (total !== undefined && s.received > total) return sendDriveError(res, 400, 'badContent', 'More bytes than the declared total');
    const headers: Record<string, string | number> = { 'Content-Length': 0 };
    if (s.received > 0) headers.Range = `bytes=0-${s.received - 1}`;
    res.writeHead(308, headers);
    res.end();
  }

  /** Removes unfinished sessions' temporary files. */
  async close(): Promise<void> {
    for (const s of this.sessions.values()) if (!s.done) await rm(s.path, { force: true });
    this.sessions.clear();
  }
}

/** `bytes a-b/total`, `bytes a-b/*`, `bytes * /total` or `bytes * /*`; no header means one request with the whole body. */
function parseContentRange(h: string | undefined, length: number): { start?: number; end?: number; total?: number } | undefined {
  if (h === undefined) return length > 0 ? { start: 0, end: length - 1, total: length } : { total: 0 };
  const m = /^bytes\s+(?:(\d+)-(\d+)|\*)\/(\d+|\*)$/.exec(h.trim());
  if (!m) return undefined;
  const total = m[3] === '*' ? undefined : Number(m[3]);
  if (m[1] === undefined) return { total };
  const start = Number(m[1]);
  const end = Number(m[2]);
  if (end < start) return undefined;
  return { start, end, total };
}

/** Appends bytes `skip..upTo` of the chunk file to the session (it already holds the ones before `skip`); hashes what is appended. */
async function appendFrom(chunkPath: string, skip: number, upTo: number, s: Session): Promise<void> {
  if (skip >= upTo) return;
  const src = createReadStream(chunkPath, { start: skip, end: upTo - 1 });
  await pipeline(src, async function* (st) { for await (const c of st) { s.hash.update(c as Buffer); yield c; } }, createWriteStream(s.path, { flags: 'a' }));
  s.received += upTo - skip;
}

/** Uses up one armed fault of that kind: its byte count, or undefined when none is armed. */
function take(u: Uploads, kind: 'cut' | 'short'): number | undefined {
  const f = u[kind];
  if (!f || f.left <= 0) return undefined;
  f.left--;
  if (f.left === 0) u[kind] = undefined;
  return f.bytes;
}

/** Destroys the connection once `bytes` of this request's body have arrived. */
function armCut(req: IncomingMessage, bytes: number): void {
  let n = 0;
  req.on('data', (c: Buffer) => {
    n += c.length;
    if (n >= bytes) req.socket.destroy();
  });
}

async function hashFile(path: string): Promise<{ size: number; md5: string }> {
  const hash = createHash('md5');
  let size = 0;
  for await (const c of createReadStream(path)) {
    hash.update(c as Buffer);
    size += (c as Buffer).length;
  }
  return { size, md5: hash.digest('hex') };
}

/**
 * Finds the metadata part and the media byte range in a multipart/related
 * body on disk: `--B CRLF headers CRLF CRLF json CRLF --B CRLF headers CRLF
 * CRLF media CRLF --B--`. Only the head and the tail are read.
 */
async function locateParts(path: string, boundary: string): Promise<{ metadata: Buffer; mediaStart: number; mediaEnd: number } | undefined> {
  const fh = await open(path, 'r');
  try {
    const size = (await fh.stat()).size;
    const head = Buffer.alloc(Math.min(size, 1 << 20));
    await fh.read(head, 0, head.length, 0);
    const delim = Buffer.from(`--${boundary}`);
    const first = head.indexOf(delim);
    if (first < 0) return undefined;
    const metaStart = head.indexOf('\r\n\r\n', first) + 4;
    const metaEnd = head.indexOf(Buffer.from(`\r\n--${boundary}`), metaStart);
    if (metaStart < 4 || metaEnd < 0) return undefined;
    const mediaStart = head.indexOf('\r\n\r\n', metaEnd + 2) + 4;
    if (mediaStart < 4) return undefined;
    const tailLen = Math.min(size, delim.length + 64);
    const tail = Buffer.alloc(tailLen);
    await fh.read(tail, 0, tailLen, size - tailLen);
    const close = tail.lastIndexOf(Buffer.from(`\r\n--${boundary}--`));
    if (close < 0) return undefined;
    const mediaEnd = size - tailLen + close;
    if (mediaEnd < mediaStart) return undefined;
    return { metadata: head.subarray(metaStart, metaEnd), mediaStart, mediaEnd };
  } finally {
    await fh.close();
  }
}

async function* emptyStream(): AsyncGenerator<Buffer> {}
