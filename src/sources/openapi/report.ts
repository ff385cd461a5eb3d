/**
 * The load report of an OpenAPI subgraph as lines for `tessera check`: what
 * the document proposes (entity keys, bulk endpoints, with the descriptor
 * line that turns batching on) and, as warnings, the joins that will cost one
 * upstream call per parent and the header parameters the schema does not
 * offer because the gateway would never send them.
 */
import type { OpenapiDescriptor } from '../../config/openapi.js';
import type { RefusedHeader } from './load.js';
import type { JoinReport } from './schema.js';

export interface ReportLine {
  /** A warning asks for attention (an N+1 join); the rest is information. */
  warning: boolean;
  text: string;
}

export function joinReportLines(descriptor: Pick<OpenapiDescriptor, 'name' | 'entities'>, report: JoinReport): ReportLine[] {
  const lines: ReportLine[] = [];
  const info = (text: string): number => lines.push({ warning: false, text: `${descriptor.name} (openapi): ${text}` });
  const warn = (text: string): number => lines.push({ warning: true, text: `${descriptor.name} (openapi): ${text}` });
  if (report.entities.length > 0) info(`entity keys proposed: ${report.entities.map((e) => `${e.type} by ${e.key} (${e.operation})`).join(', ')}`);
  if (report.bulk.length > 0) info(`bulk endpoints: ${report.bulk.map((b) => `${b.type} by ${b.key} (${b.operation}, parameter ${b.parameter})`).join(', ')}`);
  for (const b of report.bulk) {
    // An entity makes the type joinable by key from other subgraphs; joins of this one that already batch need no advice.
    if (descriptor.entities[b.type] || report.batched.includes(b.type)) continue;
    const field = `${descriptor.name}${plural(b.type)}ByIds`.replace(/^./, (c) => c.toLowerCase());
    info(`to batch ${b.type} joins, add: entities: { ${b.type}: { key: ${b.key}, batch: { field: ${field}, argument: ids } } }`);
  }
  if (report.nPlusOne.length > 0) {
    const shown = report.nPlusOne.slice(0, 20).join(', ') + (report.nPlusOne.length > 20 ? ` and ${report.nPlusOne.length - 20} more` : '');
    info(`fetched one at a time only (a join to them would cost one call per parent; declare \`bulk.<Type>\` if the service has a bulk endpoint): ${shown}`);
  }
  for (const u of report.unbatched) {
    warn(
      u.bulk
        ? `N+1: ${u.join} calls ${u.operation} once per parent; batch it with \`batch: { operation: ${u.bulk.operation}, parameter: ${u.bulk.parameter} }\``
        : `N+1: ${u.join} calls ${u.operation} once per parent and no bulk endpoint was found`,
    );
  }
  return lines;
}

/** One warning per header parameter left out of the schema: which, in which operation, and why. */
export function headerReportLines(descriptor: Pick<OpenapiDescriptor, 'name'>, refused: RefusedHeader[]): ReportLine[] {
  return refused.map((r) => ({
    warning: true,
    text: `${descriptor.name} (openapi): header parameter ${r.parameter} of ${r.operation} is not offered as an argument: ${r.reason}${r.required ? ' (the document marks it required: the upstream gets no such header)' : ''}`,
  }));
}

/** An English plural good enough for a suggested field name (Category -> Categories, Box -> Boxes). */
function plural(word: string): string {
  if (/[^aeiou]y$/i.test(word)) return `${word.slice(0, -1)}ies`;
  if (/(s|x|z|ch|sh)$/i.test(word)) return `${word}es`;
  return `${word}s`;
}
