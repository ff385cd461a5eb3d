/**
 * What every command shares: its result (the exit code), the usage error
 * that makes it exit 2, its two output streams, and a gateway built from the
 * configuration for the command's duration.
 */
import { createGateway, type Gateway } from '../gateway.js';
import type { Logger } from '../logger.js';

/** Wrong usage: printed with the usage text, exit code 2. */
export class UsageError extends Error {}

export interface CliResult {
  code: number;
}

export function print(line: string): void {
  process.stdout.write(`${line}\n`);
}

export function fail(line: string): void {
  process.stderr.write(`${line}\n`);
}

/**
 * A gateway built (loaded, composed, not listening) for the length of `run`,
 * closed after it; `descriptorFiles` replace or add to the configured
 * descriptors by subgraph name; `logger` replaces the one of gateway.yaml's
 * `logging` (on stdout).
 */
export async function withGateway<T>(configFile: string, run: (gateway: Gateway) => Promise<T>, options: { descriptorFiles?: readonly string[]; logger?: Logger } = {}): Promise<T> {
  const gateway = await createGateway({ configFile, logger: options.logger, descriptorFiles: options.descriptorFiles });
  try {
    return await run(gateway);
  } finally {
    await gateway.close();
  }
}
