/**
 * `tessera check`: loads and composes the configuration, prints every
 * problem (exit 1) or a summary, a warning for each subgraph whose upstream
 * does not answer, and for REST subgraphs the proposed entity keys, the N+1
 * joins, the header parameters the gateway never sends and what the mapping
 * changed from the document.
 */
import { displayPath } from '../config/load.js';
import { createLogger } from '../logger.js';
import { probeSubgraph } from '../transport/probe.js';
import { print, withGateway, type CliResult } from './command.js';

export async function check(configFile: string): Promise<CliResult> {
  return withGateway(configFile, async (gateway) => {
    const types = Object.keys(gateway.schema.getTypeMap()).filter((t) => !t.startsWith('__')).length;
    print(`tessera: ok: ${gateway.descriptors.length} subgraphs (${gateway.descriptors.map((d) => d.name).join(', ')}), ${types} types, channels: ${gateway.channels.map((c) => `${c.channel.name} ${c.channel.path}`).join(', ')}`);
    if (gateway.missing.length > 0) print(`tessera: warning: optional subgraphs not loaded: ${gateway.missing.join(', ')}`);
    // Upstreams whose schema comes from a file were not contacted while loading: probe them (introspected ones answered).
    const probed = gateway.descriptors.filter((d) => !gateway.missing.includes(d.name) && !(d.kind === 'graphql' && !d.source));
    const silent = await Promise.all(probed.map((d) => probeSubgraph(d.upstreams.map((u) => u.url), 1_000)));
    probed.forEach((descriptor, i) => {
      const reasons = silent[i];
      if (!reasons) return;
      const consequence = descriptor.required && gateway.config.server.readiness === 'answered' ? '; /readyz would not report ready until it does' : '';
      print(`tessera: warning: ${displayPath(descriptor.file)}: subgraph "${descriptor.name}": no upstream answered (${reasons.join('; ')})${consequence}`);
    });
    // REST subgraphs: proposed entity keys and bulk endpoints, the joins that cost one call per parent (N+1),
    // and header parameters left out of the schema because the gateway would never send them.
    for (const descriptor of gateway.descriptors) {
      if (descriptor.kind !== 'openapi' || gateway.missing.includes(descriptor.name)) continue;
      const { inspectOpenapiSource } = await import('../sources/openapi/load.js');
      const { headerReportLines, joinReportLines } = await import('../sources/openapi/report.js');
      const report = await inspectOpenapiSource(descriptor, { mode: gateway.config.mode, logger: createLogger('silent') });
      const lines = [
        ...joinReportLines(descriptor, report.joins),
        ...headerReportLines(descriptor, report.refusedHeaders),
        ...report.warnings.map((text) => ({ warning: true, text: `${descriptor.name} (openapi): ${text}` })),
      ];
      for (const line of lines) print(`tessera: ${line.warning ? 'warning: ' : ''}${line.text}`);
    }
    return { code: 0 };
  });
}
