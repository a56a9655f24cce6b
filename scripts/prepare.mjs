// Runs after every build (`npm install` runs it through `prepare`):
// - git does not keep empty directories, but the sample app the default
//   config backs up has one on purpose;
// - tsc does not keep the executable bit, and the `ferry` bin needs it
//   wherever npm does not set it itself (an existing npx link, say).
import { chmodSync, mkdirSync } from 'node:fs';
mkdirSync(new URL('../fixtures/sample-app/uploads/empty-dir', import.meta.url), { recursive: true });
chmodSync(new URL('../dist/src/cli/ferry.js', import.meta.url), 0o755);
