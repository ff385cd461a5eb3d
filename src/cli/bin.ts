/** Entry point of the `tessera` executable. */
import { runCli } from './main.js';

runCli(process.argv.slice(2)).then(
  ({ code }) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`tessera: internal error: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(70);
  },
);
