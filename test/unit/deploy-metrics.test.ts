/**
 * deploy/grafana/tessera-dashboard.json and deploy/prometheus/tessera-alerts.yaml
 * use only metrics the gateway exports, with labels those metrics have: the
 * names and labels are read from GatewayMetrics' own registry (and the two
 * gauges only an aggregated `--workers N` scrape adds), not from a list kept
 * by hand. test/integration/metrics.test.ts and metrics-workers.test.ts check
 * the same against a live gateway's exposition.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GatewayMetrics } from '../../src/telemetry/metrics.js';
import { CLUSTER_METRIC_NAMES } from '../../src/store/cluster-metrics.js';
import { alertRules, deployExpressions, deployProblems } from '../kit/metrics.js';

function exported(): Map<string, { type: string; labels: ReadonlySet<string> }> {
  const metrics = new GatewayMetrics({ subgraphs: [], maxOperations: 10, gatewayId: 'test' });
  try {
    const known = new Map<string, { type: string; labels: ReadonlySet<string> }>();
    for (const metric of metrics.registry.getMetricsAsArray()) {
      // prom-client keeps each metric's label names on the metric object (not in its typings).
      const labels = (metric as unknown as { labelNames?: readonly string[] }).labelNames ?? [];
      known.set(metric.name, { type: String(metric.type), labels: new Set(labels) });
    }
    for (const name of CLUSTER_METRIC_NAMES) known.set(name, { type: 'gauge', labels: new Set() });
    return known;
  } finally {
    metrics.close();
  }
}

test('every tessera_* metric and label the dashboard and the alert rules use is one the gateway exports', () => {
  const known = exported();
  assert.ok(known.get('tessera_upstream_errors_total')?.labels.has('kind'), 'the label names are read from the registry');
  const expressions = deployExpressions();
  assert.ok(expressions.length >= 20, `${expressions.length} expressions found`);
  assert.deepEqual(deployProblems(known), []);
});

test('the checker finds a metric the gateway does not export, and a label a metric does not have', () => {
  const known = exported();
  const without = new Map(known);
  without.delete('tessera_gateway_overhead_seconds');
  assert.ok(deployProblems(without).some((p) => /tessera_gateway_overhead_seconds_bucket is not a metric/.test(p)));
  const fewer = new Map(known);
  fewer.set('tessera_upstream_errors_total', { type: 'counter', labels: new Set(['subgraph', 'instance', 'version']) });
  assert.ok(deployProblems(fewer).some((p) => /"kind"/.test(p)));
});

test('the dashboard shows the golden signals the issue names, and every alert rule tells the person on call what and where', () => {
  const used = deployExpressions().map((e) => e.expr).join('\n');
  for (const name of [
    'tessera_requests_total',
    'tessera_request_duration_seconds_bucket',
    'tessera_gateway_overhead_seconds_bucket',
    'tessera_upstream_calls_total',
    'tessera_upstream_errors_total',
    'tessera_upstream_duration_seconds_bucket',
    'tessera_upstream_in_flight',
    'tessera_breaker_state',
    'tessera_response_cache_total',
    'tessera_rate_limit_refusals_total',
    'tessera_upstream_retries_total',
    'tessera_upstream_retry_budget_exhausted_total',
  ]) {
    assert.match(used, new RegExp(`\\b${name}\\b`), name);
  }
  const rules = alertRules();
  for (const alert of ['TesseraHighErrorRate', 'TesseraHighLatencyP99', 'TesseraBreakerOpen', 'TesseraGatewayOverheadHigh', 'TesseraRetryBudgetExhausted']) {
    const rule = rules.find((r) => r.alert === alert);
    assert.ok(rule, alert);
    assert.ok((rule.annotations?.summary ?? '').length > 10, `${alert}: a summary`);
    assert.ok((rule.annotations?.description ?? '').length > 40, `${alert}: a description`);
  }
});
