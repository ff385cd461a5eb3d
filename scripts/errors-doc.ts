/**
 * `npm run docs:errors`: writes the error catalog (src/errors.ts) into the
 * README's table, between the errors:begin/end markers. A unit test fails
 * when the two differ.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { ERRORS } from '../src/errors.js';

const README = new URL('../README.md', import.meta.url);

export function errorTable(): string {
  return Object.entries(ERRORS)
    .map(([code, spec]) => `| \`${code}\` | ${spec.status} | ${spec.summary.replace(/\|/g, '\\|')} |`)
    .join('\n');
}

export function readmeWithErrors(readme: string): string {
  return readme.replace(/(<!-- errors:begin -->\n)[\s\S]*?(<!-- errors:end -->)/, (_m, begin: string, end: string) => `${begin}${errorTable()}\n${end}`);
}

if (process.argv[1] && new URL(import.meta.url).pathname === process.argv[1]) {
  const readme = readFileSync(README, 'utf8');
  writeFileSync(README, readmeWithErrors(readme));
  console.log('README.md: error table updated');
}
