/**
 * Entry point of the `tessera` executable. NODE_ENV defaults to production
 * before graphql-js loads: in development mode graphql-js checks every
 * `instanceof` the slow way (it showed as ~4% of a proxied request's CPU).
 * The heap's growth is set before anything is allocated (runtime.ts).
 */
import { tuneHeap } from './runtime.js';

process.env.NODE_ENV ??= 'production';
tuneHeap();

const { runCli } = await import('./main.js');

runCli(process.argv.slice(2)).then(
  ({ code }) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`tessera: internal error: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(70);
  },
);
