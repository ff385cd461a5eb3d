#!/usr/bin/env node
// The `tessera` executable: runs the compiled CLI in dist/. The package ships dist/ (npm pack builds it);
// a source checkout builds it with `npm run build`, or runs the sources with `npx tsx src/cli/bin.ts`.
import { existsSync } from 'node:fs';
import process from 'node:process';
import { URL } from 'node:url';

const entry = new URL('../dist/cli/bin.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('tessera: dist/ is missing: this is a source checkout; run `npm run build` first (or `npx tsx src/cli/bin.ts`)\n');
  process.exit(2);
}
await import(entry.href);
