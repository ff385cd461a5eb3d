/**
 * `tessera canary status|restore`: the canary guard of a running gateway,
 * through its admin API (GET /admin/canary, POST /admin/canary/restore).
 * `--gateway` is the URL of the admin listener (or of the main listener when
 * the admin API is served there); the credential is `admin.credential` of
 * the gateway.yaml given by --config, read without loading its descriptors,
 * so a descriptor being edited during an incident cannot stand in the way.
 */
import { userInfo } from 'node:os';
import { parseGatewayConfig, readDataFile } from '../config/load.js';
import { ConfigError } from '../errors.js';
import { print, UsageError, type CliResult } from './command.js';

export interface CanaryCommandOptions {
  gateway?: string;
  by?: string;
  json?: boolean;
}

interface CanaryVersionState {
  version: string;
  weight: number;
  configuredWeight: number;
  guarded: { kind: string; reason: string; at: string; measured: { calls: number; errorRate: number; p99Ms: number }; stable: { version: string; calls: number; errorRate: number; p99Ms: number } } | null;
}

/** Asks the admin API; an answer that is not 2xx is a problem with the gateway's own message (exit 1). */
async function ask(base: string, path: string, credential: string | undefined, body?: unknown): Promise<any> {
  const url = `${base.replace(/\/+$/, '')}${path}`;
  const headers: Record<string, string> = { accept: 'application/json', ...(credential && { authorization: `Bearer ${credential}` }) };
  let res: Response;
  try {
    res = await fetch(url, body === undefined ? { headers, signal: AbortSignal.timeout(10_000) } : { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(10_000) });
  } catch (error) {
    throw new ConfigError('SOURCE_LOAD_FAILED', [`${url}: ${(error as Error).message}; check --gateway (the admin listener's URL)`]);
  }
  const answer = (await res.json().catch(() => ({}))) as { errors?: Array<{ message: string }> };
  if (!res.ok) throw new ConfigError('SOURCE_LOAD_FAILED', [`${url}: HTTP ${res.status}: ${answer.errors?.map((e) => e.message).join('; ') ?? 'no error message'}`]);
  return answer;
}

const percent = (rate: number): string => `${Math.round(rate * 1000) / 10}%`;

export async function canary(configFile: string, options: CanaryCommandOptions, positionals: readonly string[]): Promise<CliResult> {
  const [action, subgraph, version, ...extra] = positionals;
  if (action !== 'status' && action !== 'restore') throw new UsageError(`expected \`canary status\` or \`canary restore SUBGRAPH VERSION\`, got ${action === undefined ? 'nothing' : `"${action}"`}`);
  if (action === 'restore' && (subgraph === undefined || version === undefined)) throw new UsageError('`canary restore` needs SUBGRAPH and VERSION');
  if ((action === 'status' && subgraph !== undefined) || extra.length > 0) throw new UsageError(`unexpected argument "${action === 'status' ? subgraph : extra[0]}"`);
  if (!options.gateway) throw new UsageError('--gateway URL is needed: the admin listener of the running gateway (e.g. http://127.0.0.1:9090)');
  const credential = parseGatewayConfig(readDataFile(configFile), configFile).admin?.credential;
  if (action === 'status') {
    const answer = (await ask(options.gateway, '/admin/canary', credential)) as { canaries: Array<{ subgraph: string; stable: string; sticky: string | null; versions: CanaryVersionState[] }> };
    if (options.json) {
      print(JSON.stringify(answer, null, 2));
      return { code: 0 };
    }
    if (answer.canaries.length === 0) print('no subgraph has `canary:` in its descriptor');
    for (const c of answer.canaries) {
      print(`${c.subgraph} (stable ${c.stable}, sticky: ${c.sticky ?? 'no'})`);
      for (const v of c.versions) {
        const guarded = v.guarded
          ? `  GUARDED since ${v.guarded.at}: ${v.guarded.kind} ${v.guarded.reason}, error rate ${percent(v.guarded.measured.errorRate)} p99 ${v.guarded.measured.p99Ms} ms against ${percent(v.guarded.stable.errorRate)} and ${v.guarded.stable.p99Ms} ms on ${v.guarded.stable.version}`
          : '';
        print(`  ${v.version}  weight ${v.weight} of ${v.configuredWeight}${guarded}`);
      }
    }
    return { code: 0 };
  }
  const by = options.by?.trim() || `tessera canary (${process.env.USER ?? userInfo().username})`;
  const answer = (await ask(options.gateway, '/admin/canary/restore', credential, { subgraph, version, by })) as { restored: boolean; workers?: Array<{ pid: number; restored: boolean }> };
  if (options.json) print(JSON.stringify(answer, null, 2));
  else print(answer.restored ? `restored: version ${version} of ${subgraph} has its configured weights again` : `nothing to restore: version ${version} of ${subgraph} is not guarded`);
  return { code: 0 };
}
