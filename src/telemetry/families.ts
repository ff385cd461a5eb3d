/**
 * Counters, gauges and histograms for the hot path, served through a
 * prom-client Registry. prom-client's own metrics hash their label values on
 * every `inc()` and `observe()`, even through a child from `labels()`; here a
 * series is looked up once (by its label values joined) and then updated as
 * a plain field, so an upstream attempt or a request costs a few additions.
 * The text exposition, the JSON that `--workers` aggregates
 * (AggregatorRegistry) and the label names are prom-client's, because each
 * family answers `get()` as a prom-client metric does.
 */
import type { Aggregator, Registry } from 'prom-client';

type Kind = 'counter' | 'gauge' | 'histogram';

interface FamilyOptions {
  name: string;
  help: string;
  labelNames?: readonly string[];
  /** How `--workers` combines the workers' values (prom-client's AggregatorRegistry); sum by default. */
  aggregator?: Aggregator;
}

interface Sample {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
}

/** What prom-client's Registry reads of a metric (its `get()`), and what the tests read (`labelNames`). */
abstract class Family<S> {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly string[];
  readonly aggregator: Aggregator;
  abstract readonly type: Kind;
  private readonly series = new Map<string, { labels: Record<string, string>; series: S }>();

  constructor(registry: Registry, options: FamilyOptions) {
    this.name = options.name;
    this.help = options.help;
    this.labelNames = options.labelNames ?? [];
    this.aggregator = options.aggregator ?? 'sum';
    // A family is structurally what the Registry reads; prom-client's type names only its own classes.
    registry.registerMetric(this as unknown as Parameters<Registry['registerMetric']>[0]);
  }

  protected abstract create(): S;
  protected abstract samples(labels: Record<string, string>, series: S): Sample[];

  /** The series of these label values (in labelNames order), created at first use. Keep it: updating it needs no lookup. */
  of(...values: string[]): S {
    const key = values.length === 1 ? values[0]! : values.join('\u0000');
    let entry = this.series.get(key);
    if (!entry) {
      const labels: Record<string, string> = {};
      this.labelNames.forEach((name, i) => (labels[name] = values[i] ?? ''));
      entry = { labels, series: this.create() };
      this.series.set(key, entry);
    }
    return entry.series;
  }

  async get(): Promise<{ name: string; help: string; type: Kind; aggregator: Aggregator; values: Sample[] }> {
    const values: Sample[] = [];
    for (const { labels, series } of this.series.values()) values.push(...this.samples(labels, series));
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  /** prom-client's Registry.resetMetrics(). */
  reset(): void {
    this.series.clear();
  }
}

/** A counter's or a gauge's series: add to `value` (or set it). */
export interface ValueSeries {
  value: number;
}

export class CounterFamily extends Family<ValueSeries> {
  readonly type = 'counter';
  protected create(): ValueSeries {
    return { value: 0 };
  }
  protected samples(labels: Record<string, string>, series: ValueSeries): Sample[] {
    return [{ value: series.value, labels }];
  }
}

export class GaugeFamily extends Family<ValueSeries> {
  readonly type = 'gauge';
  constructor(registry: Registry, options: FamilyOptions) {
    super(registry, options);
    // A gauge without labels reads 0 until set, as prom-client's does.
    if (this.labelNames.length === 0) this.of();
  }
  protected create(): ValueSeries {
    return { value: 0 };
  }
  protected samples(labels: Record<string, string>, series: ValueSeries): Sample[] {
    return [{ value: series.value, labels }];
  }
}

/** A histogram's series: observations counted per bucket (not cumulative; the exposition sums them), their sum and count. */
export interface HistogramSeries {
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

export class HistogramFamily extends Family<HistogramSeries> {
  readonly type = 'histogram';
  private readonly bounds: readonly number[];

  constructor(registry: Registry, options: FamilyOptions & { buckets: readonly number[] }) {
    super(registry, options);
    this.bounds = [...options.buckets].sort((a, b) => a - b);
  }

  protected create(): HistogramSeries {
    // One slot per bound, and a last one for +Inf.
    return { counts: new Float64Array(this.bounds.length + 1), sum: 0, count: 0 };
  }

  /** Counts one observation in `series` (of this family). */
  observe(series: HistogramSeries, value: number): void {
    const { bounds } = this;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    series.counts[i]!++;
    series.sum += value;
    series.count++;
  }

  protected samples(labels: Record<string, string>, series: HistogramSeries): Sample[] {
    const out: Sample[] = [];
    let cumulative = 0;
    for (let i = 0; i <= this.bounds.length; i++) {
      cumulative += series.counts[i]!;
      out.push({ value: cumulative, labels: { ...labels, le: i < this.bounds.length ? this.bounds[i]! : '+Inf' }, metricName: `${this.name}_bucket` });
    }
    out.push({ value: series.sum, labels, metricName: `${this.name}_sum` });
    out.push({ value: series.count, labels, metricName: `${this.name}_count` });
    return out;
  }
}
