// Builds the dashboard (web/) into dist/web/: one minified script and one
// stylesheet, named by a hash of their content so that they can be cached
// for a year, a gzip twin of every file, and assets.json naming them.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const root = new URL('../', import.meta.url);
const out = new URL('dist/web/', root);
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const bundle = async (entry) => {
  const r = await build({ entryPoints: [new URL(entry, root).pathname], bundle: true, minify: true, write: false, format: 'esm', target: 'es2022', legalComments: 'none' });
  return r.outputFiles[0].contents;
};

const emit = (stem, ext, bytes) => {
  const name = `${stem}-${createHash('sha256').update(bytes).digest('hex').slice(0, 12)}.${ext}`;
  writeFileSync(new URL(name, out), bytes);
  writeFileSync(new URL(`${name}.gz`, out), gzipSync(bytes, { level: 9 }));
  return name;
};

const assets = {
  js: emit('app', 'js', await bundle('web/main.ts')),
  css: emit('app', 'css', await bundle('web/style.css')),
  icon: emit('icon', 'svg', readFileSync(new URL('web/icon.svg', root))),
};
writeFileSync(new URL('assets.json', out), JSON.stringify(assets, null, 2) + '\n');
