import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** The built dashboard: `npm run build` writes it to `dist/web/` with content-hashed names and a gzip twin of each file. */
const WEB_DIR = fileURLToPath(new URL('../../../web/', import.meta.url));

export interface AssetManifest {
  /** Hashed file names, e.g. `app-3F2A9C1B.js`. */
  js: string;
  css: string;
  icon: string;
}

const TYPES: Record<string, string> = {
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  svg: 'image/svg+xml',
};

/** Reads `dist/web/assets.json`; undefined when the dashboard was not built (the API still works). */
export async function loadAssets(): Promise<AssetManifest | undefined> {
  try {
    return JSON.parse(await readFile(`${WEB_DIR}assets.json`, 'utf8')) as AssetManifest;
  } catch {
    return undefined;
  }
}

/**
 * Streams one asset named in the manifest (any other name is 404), gzip
 * compressed when the browser accepts it. Names change with the content,
 * so the answer may be cached for a year.
 */
export function sendAsset(manifest: AssetManifest, file: string, req: FastifyRequest, reply: FastifyReply) {
  if (!Object.values(manifest).includes(file)) return reply.code(404).send({ error: `no asset ${file}` });
  const gzip = /\bgzip\b/.test(req.headers['accept-encoding'] ?? '');
  reply
    .type(TYPES[file.slice(file.lastIndexOf('.') + 1)] ?? 'application/octet-stream')
    .header('Cache-Control', 'public, max-age=31536000, immutable')
    .header('Vary', 'Accept-Encoding');
  if (gzip) reply.header('Content-Encoding', 'gzip');
  return reply.send(createReadStream(`${WEB_DIR}${file}${gzip ? '.gz' : ''}`));
}

const escapeAttr = (s: string) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

/**
 * The one HTML page, for the dashboard and for sign-in alike: the script
 * reads which one from the URL. It names its assets relative to itself,
 * so it works under any base path. It holds no secret and no data.
 */
export function pageHtml(manifest: AssetManifest, job: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Ferry · ${escapeAttr(job)}</title>
<link rel="icon" href="assets/${manifest.icon}" type="image/svg+xml">
<link rel="stylesheet" href="assets/${manifest.css}">
<script type="module" src="assets/${manifest.js}"></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top"><a class="brand" href="./#/">Ferry <span>${escapeAttr(job)}</span></a><nav id="nav"></nav></header>
<main id="main" tabindex="-1"><p class="loading">Loading…</p></main>
<noscript><p>The dashboard needs JavaScript. The REST API works without it.</p></noscript>
</body>
</html>
`;
}

/** The Content-Security-Policy of every answer: nothing from another host, no inline script or style. */
export const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
