/**
 * The status page's own script and style, as strings so that they reach
 * dist/ with the rest of the build (no bundler, no copy step) and are served
 * from memory. The script is a plain browser script: it reads the JSON URL
 * from `<body data-api>`, polls it, and draws with the `uPlot` global of
 * uPlot's IIFE build, loaded before it. Every text it shows goes through
 * `textContent`, never markup, so a name from a descriptor cannot inject any.
 */

export const STATUS_SCRIPT = String.raw`'use strict';
(function () {
  var POLL_MS = 3000;
  var api = document.body.dataset.api;
  var cards = new Map();
  var channelCards = new Map();
  var lastOk = 0;

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function sum(values) {
    var total = 0;
    for (var i = 0; i < values.length; i++) total += values[i];
    return total;
  }

  function fixed(n, digits) {
    return n === null ? '–' : n.toFixed(digits);
  }

  /** The figures of the last minute (series.recent, summed by the gateway). */
  function summaryText(series) {
    var r = series.recent;
    var errors = r.count > 0 ? (100 * r.errors) / r.count : 0;
    return 'last minute: ' + fixed(r.rate, 1) + ' req/s · ' + fixed(errors, 1) + '% errors · p50 ' + fixed(r.p50, 1) + ' ms · p99 ' + fixed(r.p99, 1) + ' ms';
  }

  var PALETTE = ['#2563eb', '#9333ea', '#0891b2', '#ca8a04', '#db2777', '#4d7c0f'];

  /** A chart in 'holder' for the given series labels; re-created when its labels change. */
  function chart(holder, title, labels, colors, data, unit) {
    var key = labels.join('\u0000');
    var width = Math.max(240, holder.clientWidth || 320);
    if (!holder._plot || holder._key !== key || holder._width !== width) {
      if (holder._plot) holder._plot.destroy();
      holder.textContent = '';
      var series = [{}];
      for (var i = 0; i < labels.length; i++) {
        series.push({ label: labels[i], stroke: colors[i % colors.length], width: 1.5, spanGaps: false, points: { show: false } });
      }
      holder._plot = new uPlot({
        title: title,
        width: width,
        height: 150,
        series: series,
        scales: { x: { time: true }, y: { range: function (u, min, max) { return [0, Math.max(1, max * 1.1)]; } } },
        axes: [{}, { label: unit, size: 50 }],
        legend: { live: false },
        cursor: { drag: { x: false, y: false } },
      }, data, holder);
      holder._key = key;
      holder._width = width;
    } else {
      holder._plot.setData(data);
    }
  }

  /** The charts of one ring: rate and errors, then p50 and p99. */
  function drawSeries(parts, timeline, series, title) {
    chart(parts.traffic, title + ': requests/s', ['req/s', 'errors/s'], ['#16a34a', '#dc2626'], [timeline, series.rate, series.errorRate], 'per second');
    chart(parts.latency, title + ': latency', ['p50 ms', 'p99 ms'], ['#2563eb', '#ea580c'], [timeline, series.p50, series.p99], 'ms');
    // What the test (and a curious reader) can check: the requests this chart plots.
    parts.traffic.dataset.total = String(sum(series.count));
    parts.summary.textContent = summaryText(series);
  }

  /** green: healthy; amber: a breaker not closed, an instance checked down, a canary version guarded, or errors over 5% of the last minute's calls; red: waiting, not loaded, or every instance out (breaker open or checked down). */
  function dotClass(subgraph) {
    var out = subgraph.instances.filter(function (i) { return i.breaker === 'open' || i.check === 'down'; }).length;
    if (subgraph.health === 'waiting' || subgraph.health === 'not loaded' || (out > 0 && out === subgraph.instances.length)) return 'dot bad';
    var notClosed = subgraph.instances.some(function (i) { return i.breaker === 'open' || i.breaker === 'half-open' || i.check === 'down' || i.canary === 'guarded'; });
    if (notClosed || subgraph.series.recent.errors > 0.05 * subgraph.series.recent.count) return 'dot warn';
    return 'dot ok';
  }

  function subgraphCard(subgraph) {
    var card = el('article', 'card');
    card.dataset.subgraph = subgraph.name;
    var head = el('h3');
    var dot = el('span', 'dot');
    head.append(dot, el('span', 'name', subgraph.name), el('span', 'kind', subgraph.kind));
    var health = el('span', 'health');
    head.append(health);
    var table = el('table', 'instances');
    var header = el('tr');
    ['instance', 'version', 'weight', 'breaker', 'check', 'canary'].forEach(function (h) { header.append(el('th', '', h)); });
    var body = el('tbody');
    table.append(el('thead'), body);
    table.tHead.append(header);
    var summary = el('p', 'summary');
    // Shadow traffic (descriptor shadow:): the copies' outcomes since start; hidden without it.
    var shadow = el('p', 'shadow');
    var concurrency = el('p', 'concurrency');
    var traffic = el('div', 'chart');
    traffic.dataset.chart = 'traffic';
    var latency = el('div', 'chart');
    latency.dataset.chart = 'latency';
    var versionTraffic = el('div', 'chart');
    versionTraffic.dataset.chart = 'version-traffic';
    var versionLatency = el('div', 'chart');
    versionLatency.dataset.chart = 'version-latency';
    var charts = el('div', 'charts');
    charts.append(traffic, latency, versionTraffic, versionLatency);
    card.append(head, table, shadow, concurrency, summary, charts);
    return { card: card, dot: dot, health: health, body: body, shadow: shadow, concurrency: concurrency, summary: summary, traffic: traffic, latency: latency, versionTraffic: versionTraffic, versionLatency: versionLatency };
  }

  function renderSubgraph(parts, subgraph, snapshot) {
    parts.dot.className = dotClass(subgraph);
    parts.dot.title = subgraph.health;
    parts.health.textContent = subgraph.health;
    parts.health.className = 'health ' + subgraph.health.replace(' ', '-');
    parts.body.textContent = '';
    subgraph.instances.forEach(function (instance) {
      var row = el('tr');
      var breaker = el('td', 'breaker ' + instance.breaker, instance.breaker);
      var check = el('td', 'check ' + instance.check, instance.check);
      // A version the canary guard took to weight 0: a badge, its reason (measured against the stable version) in the tooltip.
      var canary = el('td', 'canary ' + instance.canary, instance.canary === 'guarded' ? 'guarded (weight 0)' : instance.canary);
      var guarded = subgraph.versions.filter(function (v) { return v.version === instance.version && v.guarded; })[0];
      if (guarded) canary.title = guarded.guarded.kind + ' ' + guarded.guarded.reason + ': ' + JSON.stringify(guarded.guarded.measured) + ' against stable ' + JSON.stringify(guarded.guarded.stable);
      row.append(el('td', 'url', instance.url), el('td', '', instance.version === null ? '–' : instance.version), el('td', '', String(instance.weight)), breaker, check, canary);
      parts.body.append(row);
    });
    parts.shadow.hidden = !subgraph.shadow;
    if (subgraph.shadow) {
      var s = subgraph.shadow;
      parts.shadow.textContent = 'shadow → ' + s.version + ': ' + s.match + ' match, ' + s.mismatch + ' mismatch, ' + s.dropped + ' dropped, ' + s.failed + ' failed, ' + s.timeout + ' timeout';
      parts.shadow.className = 'shadow' + (s.mismatch + s.failed + s.timeout > 0 ? ' differs' : '');
    }
    var limit = subgraph.concurrency;
    parts.concurrency.hidden = !limit || limit === 'off';
    if (limit && limit !== 'off') {
      parts.concurrency.textContent = 'adaptive concurrency: limit ' + limit.limit + ', in flight ' + limit.inFlight + ', shed ' + limit.shed;
    }
    drawSeries(parts, snapshot.timeline, subgraph.series, subgraph.name);
    var versions = subgraph.versions;
    var named = versions.length > 1 || (versions.length === 1 && versions[0].version !== '');
    parts.versionTraffic.hidden = !named;
    parts.versionLatency.hidden = !named;
    if (named) {
      var labels = versions.map(function (v) { return v.version === '' ? '(no version)' : v.version; });
      chart(parts.versionTraffic, subgraph.name + ' by version: requests/s', labels, PALETTE, [snapshot.timeline].concat(versions.map(function (v) { return v.series.rate; })), 'per second');
      chart(parts.versionLatency, subgraph.name + ' by version: p99', labels, PALETTE, [snapshot.timeline].concat(versions.map(function (v) { return v.series.p99; })), 'ms');
    }
  }

  function channelCard(channel) {
    var card = el('article', 'card');
    card.dataset.channel = channel.name;
    var head = el('h3');
    head.append(el('span', 'name', channel.name), el('code', 'path', channel.path));
    var summary = el('p', 'summary');
    var traffic = el('div', 'chart');
    traffic.dataset.chart = 'traffic';
    var latency = el('div', 'chart');
    latency.dataset.chart = 'latency';
    var charts = el('div', 'charts');
    charts.append(traffic, latency);
    card.append(head, summary, charts);
    return { card: card, summary: summary, traffic: traffic, latency: latency };
  }

  /** With tessera serve --workers N: how many workers the figures add up, and how many did not answer (left out). */
  function workersText(snapshot) {
    if (snapshot.groupError) return 'this worker only: ' + snapshot.groupError;
    if (snapshot.workers <= 1 && !snapshot.missing) return '';
    return snapshot.workers + ' workers' + (snapshot.missing ? ', ' + snapshot.missing + ' missing (did not answer in time; left out)' : '');
  }

  /** server.admission: the limit now, requests waiting, and since start those that waited and were dropped. */
  function admissionText(admission) {
    if (!admission) return '';
    var now = admission.limit === null ? 'no admission limit now' : 'at most ' + admission.limit + ' requests at once, ' + admission.queued + ' waiting';
    return now + '; since start ' + admission.waited + ' waited, ' + admission.dropped + ' dropped (client left while waiting)';
  }

  function render(snapshot) {
    var stage = snapshot.stage
      ? '; staged rollout: ' + snapshot.stage.version + ' to ' + snapshot.stage.rule + ' (' + Object.keys(snapshot.stage.subgraphs).map(function (name) { return name + ' ' + snapshot.stage.subgraphs[name]; }).join(', ') + ')'
      : '';
    document.getElementById('schema').textContent = 'schema ' + snapshot.schema.hash + ', loaded ' + new Date(snapshot.schema.loadedAt).toLocaleString() + stage;
    document.getElementById('admission').textContent = admissionText(snapshot.admission);
    var workers = document.getElementById('workers');
    workers.textContent = workersText(snapshot);
    workers.className = snapshot.missing || snapshot.groupError ? 'workers bad' : 'workers';
    var channels = document.getElementById('channels');
    snapshot.channels.forEach(function (channel) {
      var parts = channelCards.get(channel.name);
      if (!parts) {
        parts = channelCard(channel);
        channelCards.set(channel.name, parts);
        channels.append(parts.card);
      }
      drawSeries(parts, snapshot.timeline, channel.series, 'channel ' + channel.name);
    });
    var list = document.getElementById('subgraphs');
    snapshot.subgraphs.forEach(function (subgraph) {
      var parts = cards.get(subgraph.name);
      if (!parts) {
        parts = subgraphCard(subgraph);
        cards.set(subgraph.name, parts);
        list.append(parts.card);
      }
      renderSubgraph(parts, subgraph, snapshot);
    });
  }

  function setState(text, bad) {
    var state = document.getElementById('state');
    state.textContent = text;
    state.className = bad ? 'state bad' : 'state';
  }

  function poll() {
    fetch(api, { headers: { accept: 'application/json' }, cache: 'no-store' })
      .then(function (res) {
        if (!res.ok) throw new Error('HTTP ' + res.status);
        return res.json();
      })
      .then(function (snapshot) {
        render(snapshot);
        lastOk = Date.now();
        setState('updated ' + new Date(lastOk).toLocaleTimeString() + ' (every ' + POLL_MS / 1000 + ' s)', false);
      })
      .catch(function (error) {
        setState('no answer from ' + api + (lastOk ? ' since ' + new Date(lastOk).toLocaleTimeString() : '') + ': ' + error.message, true);
      })
      .finally(function () {
        setTimeout(poll, POLL_MS);
      });
  }

  poll();
})();
`;

export const STATUS_STYLE = `
:root { color-scheme: light; font: 14px/1.4 system-ui, sans-serif; color: #111827; background: #f3f4f6; }
body { margin: 0; }
header { display: flex; flex-wrap: wrap; gap: 1rem; align-items: baseline; padding: .75rem 1.25rem; background: #111827; color: #f9fafb; }
header h1 { font-size: 1.1rem; margin: 0; }
header span { color: #d1d5db; }
.state.bad, .workers.bad { color: #fca5a5; font-weight: 600; }
main { padding: 0 1.25rem 1.25rem; }
h2 { font-size: 1rem; margin: 1.25rem 0 .5rem; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(560px, 1fr)); gap: .75rem; }
.card { background: #fff; border: 1px solid #e5e7eb; border-radius: 6px; padding: .75rem; min-width: 0; }
.card h3 { display: flex; gap: .5rem; align-items: center; margin: 0 0 .5rem; font-size: 1rem; }
.kind, .path { font-weight: 400; color: #4b5563; font-size: .85rem; }
.health { margin-left: auto; font-weight: 400; font-size: .85rem; }
.health.waiting, .health.not-loaded { color: #b91c1c; font-weight: 600; }
.dot { width: .8rem; height: .8rem; border-radius: 50%; background: #9ca3af; flex: none; }
.dot.ok { background: #16a34a; } .dot.warn { background: #f59e0b; } .dot.bad { background: #dc2626; }
table.instances { border-collapse: collapse; width: 100%; font-size: .85rem; }
.instances th, .instances td { text-align: left; padding: .15rem .4rem; border-bottom: 1px solid #f3f4f6; }
.instances td.url { font-family: ui-monospace, monospace; word-break: break-all; }
.shadow { margin: .5rem 0 0; font-size: .85rem; } .shadow.differs { color: #b45309; font-weight: 600; } .shadow[hidden] { display: none; }
.breaker.open, .check.down { color: #b91c1c; font-weight: 600; } .canary.guarded { color: #fff; background: #b91c1c; border-radius: 3px; padding: 0 4px; font-weight: 600; } .breaker.half-open { color: #b45309; font-weight: 600; }
.summary { margin: .5rem 0; color: #374151; font-size: .85rem; }
.charts { display: grid; grid-template-columns: 1fr 1fr; gap: .5rem; }
.chart { min-width: 0; overflow: hidden; }
.chart[hidden] { display: none; }
.uplot .u-title { font-size: .8rem; font-weight: 600; }
`;
