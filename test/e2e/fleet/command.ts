/**
 * How the fleet test starts each replica, written once: the image's command
 * (Dockerfile ENTRYPOINT `node --no-memory-reducer --no-flush-bytecode
 * --max-semi-space-size=32 bin/tessera.js serve`, which runs dist/cli/bin.js;
 * runtime.ts START_FLAGS) run from the sources (src/cli/bin.ts, which dist/cli/bin.js
 * is compiled from). test/integration/deploy-kubernetes.test.ts holds the
 * Dockerfile to it.
 */
import { fileURLToPath } from 'node:url';
import { START_FLAGS } from '../../../src/cli/runtime.js';

/** Node's own flags, before the entry: the ones V8 reads only at start (src/cli/runtime.ts). */
export const NODE_FLAGS = START_FLAGS;

export const REPOSITORY = fileURLToPath(new URL('../../..', import.meta.url));

/** The image's entry file, and the source it is built from. */
export const IMAGE_ENTRY = 'bin/tessera.js';
export const SOURCE_ENTRY = 'src/cli/bin.ts';

/** The command word; the configuration comes from TESSERA_CONFIG, as in the image. */
export const SERVE = ['serve'] as const;

/**
 * The flags each replica adds. The image's CMD is `--workers auto` (one
 * worker per CPU of the container's limit); here each replica runs one, so
 * that three replicas and their restarts fit a 2-core machine shared with
 * other work. Each is a flag `tessera serve --help` lists (the test checks).
 */
export const REPLICA_FLAGS = ['--workers', '1'] as const;

/** argv of one replica: node with NODE_FLAGS, tsx, the sources' entry, serve, its flags. */
export function replicaArgv(): string[] {
  return [process.execPath, ...NODE_FLAGS, '--import', 'tsx', `${REPOSITORY}${SOURCE_ENTRY}`, ...SERVE, ...REPLICA_FLAGS];
}
