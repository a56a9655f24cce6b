/**
 * EMULATOR: HTTP helpers for the Drive v3 emulator: Google's JSON error
 * shape, small-body reads and streaming a request body to disk.
 */
import { createWriteStream } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=UTF-8', 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/**
 * Answers with Drive's error document:
 * `{ error: { code, message, errors: [{ domain, reason, message }], status } }`.
 */
export function sendDriveError(
  res: ServerResponse,
  code: number,
  reason: string,
  message: string,
  extra: Record<string, string> = {},
  headers: Record<string, string> = {},
): void {
  const status: Record<number, string> = {
    400: 'INVALID_ARGUMENT', 401: 'UNAUTHENTICATED', 403: 'PERMISSION_DENIED', 404: 'NOT_FOUND', 429: 'RESOURCE_EXHAUSTED', 503: 'UNAVAILABLE',
  };
  const domain = reason.includes('RateLimit') || reason === 'rateLimitExceeded' ? 'usageLimits' : 'global';
  sendJson(res, code, {
    error: { code, message, errors: [{ domain, reason, message, ...extra }], ...(status[code] ? { status: status[code] } : {}) },
  }, headers);
}

/** Reads a small request body (metadata, token forms) into memory; larger bodies are refused. */
export async function readSmallBody(req: IncomingMessage, limit = 1 << 20): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req) {
    n += (c as Buffer).length;
    if (n > limit) throw new Error('request body too large for this endpoint');
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Streams the request body into `path`. Rejects when the client goes away before the body ends. */
export async function bodyToFile(req: IncomingMessage, path: string): Promise<number> {
  let n = 0;
  req.on('data', (c: Buffer) => { n += c.length; });
  await pipeline(req, createWriteStream(path));
  if (req.readableAborted || !req.complete) throw new Error('request body incomplete');
  return n;
}

/** Parses a JSON body, answering 400 like Drive when it is not JSON. */
export function parseJson(res: ServerResponse, body: Buffer): Record<string, unknown> | undefined {
  if (body.length === 0) return {};
  try {
    const v: unknown = JSON.parse(body.toString('utf8'));
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // fall through
  }
  sendDriveError(res, 400, 'parseError', 'Parse Error');
  return undefined;
}
