/**
 * One scrape of /metrics shows every worker of `tessera serve --workers N`.
 * The primary listens on no port, so the worker that receives the scrape asks
 * it over the cluster's IPC channel; the primary asks every connected worker
 * for its metrics (prom-client's `getMetricsAsJSON()`), aggregates them with
 * prom-client's AggregatorRegistry (counters and histograms summed; a gauge
 * as its `aggregator` says, sum unless set) and answers with the Prometheus
 * text, with no per-worker label:
 *
 *   worker A ── metrics.scrape ──────► primary ── metrics.snapshot ──► every worker (A too)
 *   worker A ◄── { text, missing } ─── primary ◄── its metrics as JSON ─┘
 *
 * A worker that does not answer within WORKER_METRICS_TIMEOUT_MS (stuck,
 * still starting, draining) is left out: the scrape answers with the others,
 * and `tessera_metrics_workers_missing` says how many were left out (the
 * worker that was scraped logs it too). WORKER_METRICS_TIMEOUT_MS is below
 * the worker's own wait for the primary (PRIMARY_TIMEOUT_MS), so a missing
 * worker never makes the whole scrape fail; a primary that does not answer
 * makes the scraped worker answer with its own metrics alone, and log it.
 *
 * The primary asks the workers as it does any question of the process group
 * (cluster-group.ts: ClusterWorkers.gather), and each worker answers through
 * the group's one listener (answerPrimary).
 */
import type { Logger } from 'pino';
import { AggregatorRegistry, Gauge, type Registry } from 'prom-client';
import { primaryClient } from './cluster.js';
import { answerPrimary, WORKER_TIMEOUT_MS, type ClusterWorkers } from './cluster-group.js';

/** Longest wait of the primary for one worker's metrics. */
export const WORKER_METRICS_TIMEOUT_MS = WORKER_TIMEOUT_MS;

/** One registry's metrics as prom-client gives them for aggregation. */
export type MetricsSnapshot = Awaited<ReturnType<Registry['getMetricsAsJSON']>>;

/** The primary's answer to a scrape: the aggregated exposition, and how many workers it lacks. */
export interface ClusterScrape {
  text: string;
  workers: number;
  missing: number;
}

/** The metrics only an aggregated scrape has (no labels), beside every worker's own. */
export const CLUSTER_METRIC_NAMES = ['tessera_metrics_workers', 'tessera_metrics_workers_missing'] as const;

/** What the primary asks a worker. */
export type WorkerOps = { 'metrics.snapshot': { args: []; value: MetricsSnapshot } };

/** In the cluster primary: asks every worker of `workers` for its metrics and aggregates those that answer in time. */
export function clusterScrape(workers: ClusterWorkers): () => Promise<ClusterScrape> {
  return async () => {
    const { answers, missing } = await workers.gather('metrics.snapshot', []);
    const registry = AggregatorRegistry.aggregate(answers.map(({ value }) => value as MetricsSnapshot));
    const [answered, missed] = CLUSTER_METRIC_NAMES;
    new Gauge({
      name: missed,
      help: `Workers whose metrics this scrape lacks: they did not answer the cluster primary within ${WORKER_METRICS_TIMEOUT_MS} ms (stuck, starting or draining).`,
      registers: [registry],
    }).set(missing.length);
    new Gauge({ name: answered, help: 'Workers whose metrics this scrape aggregates.', registers: [registry] }).set(answers.length);
    return { text: await registry.metrics(), workers: answers.length, missing: missing.length };
  };
}

/** A worker's metrics endpoint: the whole process group's, through the primary. */
export interface WorkerMetrics {
  /** The aggregated exposition; this worker's own metrics alone if the primary does not answer. */
  scrape(): Promise<string>;
  /** Stops answering the primary's requests (the gateway closed). */
  close(): void;
}

/**
 * The metrics of a worker forked by `tessera serve` (serveSharedState's
 * environment), aggregated by the primary; undefined in every other process,
 * which serves its own registry.
 */
export function workerMetrics(registry: Registry, logger: Logger): WorkerMetrics | undefined {
  const client = primaryClient();
  if (!client) return undefined;
  const stopAnswering = answerPrimary({ 'metrics.snapshot': (): Promise<WorkerOps['metrics.snapshot']['value']> => registry.getMetricsAsJSON() });
  return {
    async scrape() {
      try {
        const { text, workers, missing } = await client.request('metrics.scrape');
        if (missing > 0) {
          logger.warn(
            { workers, missing },
            `metrics scrape: ${missing} worker(s) did not answer the cluster primary within ${WORKER_METRICS_TIMEOUT_MS} ms; their counts are missing from this scrape (tessera_metrics_workers_missing)`,
          );
        }
        return text;
      } catch (error) {
        logger.warn({ err: error }, 'metrics scrape: the cluster primary did not answer; this scrape shows this worker only. If it lasts, the primary is stuck: restart tessera serve');
        return registry.metrics();
      }
    },
    close: stopAnswering,
  };
}
