/**
 * Reading Prometheus metrics in tests: the text exposition parsed into
 * samples (assert values, never grep), and the metric names and labels that
 * deploy/'s Grafana dashboard and alert rules use, checked against what a
 * gateway exports.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Every sample of a text exposition, and each metric family's type (`# TYPE`). */
export function parseExposition(text: string): { samples: Sample[]; types: Map<string, string> } {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) types.set(type[1]!, type[2]!);
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) continue;
    const labels = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1]!, m[2]!]));
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return { samples, types };
}

/** The value of the sample `name` whose labels are exactly `labels` (undefined when there is none). */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const want = JSON.stringify(Object.entries(labels).sort());
  return parseExposition(text).samples.find((s) => s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === want)?.value;
}

/** The sum of every sample `name` whose labels include `labels`. */
export function total(text: string, name: string, labels: Record<string, string> = {}): number {
  return parseExposition(text)
    .samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

const repository = new URL('../../', import.meta.url);
export const DASHBOARD = new URL('deploy/grafana/tessera-dashboard.json', repository).pathname;
export const ALERTS = new URL('deploy/prometheus/tessera-alerts.yaml', repository).pathname;

/** The metric families of an exposition with their type and the labels of their samples ('unknown' for a family with no sample yet). */
export function exposedFamilies(text: string): Map<string, { type: string; labels: ReadonlySet<string> | 'unknown' }> {
  const { samples, types } = parseExposition(text);
  const families = new Map<string, { type: string; labels: ReadonlySet<string> | 'unknown' }>();
  for (const [name, type] of types) {
    const series = type === 'histogram' ? `${name}_count` : name;
    const seen = samples.filter((s) => s.name === series);
    families.set(name, { type, labels: seen.length === 0 ? 'unknown' : new Set(seen.flatMap((s) => Object.keys(s.labels))) });
  }
  return families;
}

/** Every PromQL expression of the dashboard (panel targets, variable queries) and of the alert rules, with where it is. */
export function deployExpressions(): Array<{ where: string; expr: string }> {
  const out: Array<{ where: string; expr: string }> = [];
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as {
    panels: Array<{ title: string; targets?: Array<{ expr: string }> }>;
    templating: { list: Array<{ name: string; query?: unknown }> };
  };
  for (const panel of dashboard.panels) for (const target of panel.targets ?? []) out.push({ where: `dashboard panel "${panel.title}"`, expr: target.expr });
  for (const variable of dashboard.templating.list) {
    const query = variable.query as { query?: string } | string | undefined;
    const expr = typeof query === 'string' ? query : query?.query;
    if (expr && /tessera_/.test(expr)) out.push({ where: `dashboard variable $${variable.name}`, expr });
  }
  const alerts = parseYaml(readFileSync(ALERTS, 'utf8')) as { groups: Array<{ rules: Array<{ alert: string; expr: string; annotations?: Record<string, string> }> }> };
  for (const group of alerts.groups) for (const rule of group.rules) out.push({ where: `alert ${rule.alert}`, expr: rule.expr });
  return out;
}

/** The alert rules, for the checks of their annotations. */
export function alertRules(): Array<{ alert: string; expr: string; annotations?: Record<string, string> }> {
  return (parseYaml(readFileSync(ALERTS, 'utf8')) as { groups: Array<{ rules: Array<{ alert: string; expr: string; annotations?: Record<string, string> }> }> }).groups.flatMap((g) => g.rules);
}

const HISTOGRAM_SUFFIXES = ['_bucket', '_sum', '_count'];

/**
 * What is wrong with deploy/'s expressions given the metrics a gateway
 * exports (`known`: family name → its label names, or 'unknown' when they
 * cannot be told; histograms by their family name): a tessera_* name it does not export, a label in a matcher the metric
 * lacks, a `by (…)` / `without (…)` label none of the expression's metrics
 * has, a `label_values` label the metric lacks. Empty when all is well.
 */
export function deployProblems(known: ReadonlyMap<string, { type: string; labels: ReadonlySet<string> | 'unknown' }>): string[] {
  const problems: string[] = [];
  /** Stands for the labels of a family whose labels cannot be told (an exposition with no sample of it): any label passes. */
  const anyLabel: ReadonlySet<string> = { has: () => true, size: 0, [Symbol.iterator]: () => [][Symbol.iterator]() } as unknown as ReadonlySet<string>;
  /** The family of a series name, and the labels a series of it may carry. */
  const lookup = (series: string): ReadonlySet<string> | undefined => {
    const labelsOf = (family: { labels: ReadonlySet<string> | 'unknown' }, extra: string[] = []): ReadonlySet<string> =>
      family.labels === 'unknown' ? anyLabel : new Set([...family.labels, ...extra]);
    const direct = known.get(series);
    if (direct && direct.type !== 'histogram') return labelsOf(direct);
    for (const suffix of HISTOGRAM_SUFFIXES) {
      if (!series.endsWith(suffix)) continue;
      const family = known.get(series.slice(0, -suffix.length));
      if (family?.type === 'histogram') return labelsOf(family, suffix === '_bucket' ? ['le'] : []);
    }
    return undefined;
  };
  for (const { where, expr } of deployExpressions()) {
    const used: Array<ReadonlySet<string>> = [];
    for (const m of expr.matchAll(/\b(tessera_[a-z0-9_]+)\s*(?:\{([^}]*)\})?/g)) {
      const labels = lookup(m[1]!);
      if (!labels) {
        problems.push(`${where}: ${m[1]} is not a metric the gateway exports`);
        continue;
      }
      used.push(labels);
      for (const matcher of (m[2] ?? '').matchAll(/(\w+)\s*(?:=~|!~|!=|=)/g)) {
        if (!labels.has(matcher[1]!)) problems.push(`${where}: ${m[1]} has no label "${matcher[1]}" (it has ${[...labels].join(', ') || 'none'})`);
      }
    }
    for (const clause of expr.matchAll(/\b(?:by|without)\s*\(([^)]*)\)/g)) {
      for (const label of clause[1]!.split(',').map((l) => l.trim()).filter(Boolean)) {
        if (!used.some((labels) => labels.has(label))) problems.push(`${where}: no metric of the expression has the label "${label}" it groups by`);
      }
    }
    for (const values of expr.matchAll(/label_values\(\s*(tessera_[a-z0-9_]+)[^,]*,\s*(\w+)\s*\)/g)) {
      if (!lookup(values[1]!)?.has(values[2]!)) problems.push(`${where}: ${values[1]} has no label "${values[2]}"`);
    }
  }
  return problems;
}
