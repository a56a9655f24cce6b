// Runs on `npm install`: git does not keep empty directories, but the
// sample app the default config backs up has one on purpose.
import { mkdirSync } from 'node:fs';
mkdirSync(new URL('../fixtures/sample-app/uploads/empty-dir', import.meta.url), { recursive: true });
