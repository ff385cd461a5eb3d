/**
 * `npm run compose`: starts the demo services on free ports and runs
 * `tessera compose` on gateway.yaml, so schema/ always matches subgraphs/.
 * With --check, exits 3 when the checked-in snapshot is stale.
 */
import { runCli } from '../src/cli/main.js';
import { demoEnv, startDemoServices } from '../subgraphs/demo.js';

const ports = { accounts: 0, reviews: 0, catalog: 0, inventory: 0 };
const demo = await startDemoServices(ports);
Object.assign(process.env, demoEnv(demo), { LOG_LEVEL: 'warn' });
try {
  const { code } = await runCli(['compose', '--config', new URL('../gateway.yaml', import.meta.url).pathname, ...process.argv.slice(2)]);
  process.exitCode = code;
} finally {
  await demo.close();
}
