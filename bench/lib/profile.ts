/**
 * Reads a V8 .cpuprofile (node --cpu-prof) and summarizes where the time
 * went: the top functions by self time and by total time (a function counted
 * once per sample even when recursive), and self time by package.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

function shortUrl(url: string): string {
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) return url.slice(nm + 'node_modules/'.length);
  const src = url.search(/\/(src|bench)\//);
  if (src >= 0) return url.slice(src + 1);
  return url.replace(/^file:\/\//, '') || '(native)';
}

export function packageOf(url: string): string {
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  if (url.startsWith('node:')) return 'node (internal)';
  if (/\/src\//.test(url)) return 'tessera src/';
  if (url === '') return '(native / V8)';
  return shortUrl(url);
}

/**
 * `lastMs`: only the samples of the profile's last `lastMs` ms (the load's
 * window, start-up and module loading left out); all of them without it.
 */
export function summarizeProfile(file: string, top = 25, lastMs?: number): string {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const from = lastMs === undefined ? -Infinity : profile.endTime - lastMs * 1000;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const key = (n: ProfileNode): string => `${n.callFrame.functionName || '(anonymous)'}  ${shortUrl(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  const packages = new Map<string, number>();
  let all = 0;
  let idle = 0;
  let at = profile.startTime;
  profile.samples.forEach((id, i) => {
    at += profile.timeDeltas[i] ?? 0;
    const dt = (profile.timeDeltas[i] ?? 0) / 1000;
    const node = byId.get(id);
    if (!node || at < from) return;
    all += dt;
    const name = node.callFrame.functionName;
    if (name === '(idle)' || name === '(program)') {
      if (name === '(idle)') idle += dt;
      return;
    }
    self.set(key(node), (self.get(key(node)) ?? 0) + dt);
    const pkg = name === '(garbage collector)' ? '(garbage collector)' : packageOf(node.callFrame.url);
    packages.set(pkg, (packages.get(pkg) ?? 0) + dt);
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const k = key(byId.get(cur)!);
      if (seen.has(k)) continue;
      seen.add(k);
      total.set(k, (total.get(k) ?? 0) + dt);
    }
  });
  const busy = all - idle;
  const pct = (ms: number): string => `${((100 * ms) / busy).toFixed(1)}%`;
  const list = (m: Map<string, number>, n: number): string[] =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, ms]) => `| ${pct(ms)} | ${ms.toFixed(0)} | \`${k.replace(/\|/g, '\\|')}\` |`);
  return [
    `Sampled ${(all / 1000).toFixed(1)} s${lastMs === undefined ? '' : ' (from the load\'s start; start-up left out)'}, of which ${(busy / 1000).toFixed(1)} s busy (${((100 * busy) / all).toFixed(0)}%). Percentages are of busy time.`,
    '',
    '### Self time by package',
    '',
    '| share | ms | package |',
    '| ---: | ---: | --- |',
    ...list(packages, 15),
    '',
    `### Top ${top} functions by self time`,
    '',
    '| share | ms | function |',
    '| ---: | ---: | --- |',
    ...list(self, top),
    '',
    `### Top ${top} functions by total time (callees included)`,
    '',
    '| share | ms | function |',
    '| ---: | ---: | --- |',
    ...list(total, top + 15).filter((l) => !l.includes('(root)')),
    '',
  ].join('\n');
}
