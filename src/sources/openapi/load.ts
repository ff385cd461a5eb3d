/**
 * `kind: openapi`: a REST service described by an OpenAPI document. The
 * document is read and turned into a schema once, at load; every call goes
 * through the subgraph's HttpUpstream (undici pools, timeouts, retries), to
 * the URL in the descriptor: the document's own `servers` are never called,
 * so a document cannot point the gateway at another host.
 */
import type { Descriptor } from '../../config/descriptor.js';
import { displayPath } from '../../config/load.js';
import type { OpenapiDescriptor } from '../../config/openapi.js';
import { ConfigError } from '../../errors.js';
import { httpUpstreamFor } from '../upstream.js';
import type { LoadedSource, SourceOptions } from '../types.js';
import { createCompiledExecutor } from '../compiled-executor.js';
import { CursorSeal, cursorKey } from './cursors.js';
import { DocumentError, readOpenapiDocument } from './document.js';
import { RestClient } from './client.js';
import { buildOpenapiSchema, type JoinReport } from './schema.js';

/** A header parameter the schema does not offer: the header rule (transport/headers.ts) would never send it. */
export interface RefusedHeader {
  /** operationId, or `GET /path`. */
  operation: string;
  /** The parameter's name in the document. */
  parameter: string;
  required: boolean;
  reason: string;
}

/**
 * What `tessera check` reports for an OpenAPI descriptor: the entity keys the
 * document proposes, its bulk endpoints, the joins that would cost one
 * call per parent (no bulk endpoint), the header parameters left out of
 * the schema, and the load's warnings. Makes no upstream call.
 */
export async function inspectOpenapiSource(
  descriptor: OpenapiDescriptor & Descriptor,
  options: SourceOptions,
): Promise<{ joins: JoinReport; refusedHeaders: RefusedHeader[]; warnings: string[] }> {
  const source = await loadOpenapiSourceWith(descriptor, options);
  await source.loaded.close();
  return { joins: source.joins(), refusedHeaders: source.refusedHeaders, warnings: source.warnings };
}

export async function loadOpenapiSource(descriptor: OpenapiDescriptor & Descriptor, options: SourceOptions): Promise<LoadedSource> {
  return (await loadOpenapiSourceWith(descriptor, options)).loaded;
}

async function loadOpenapiSourceWith(
  descriptor: OpenapiDescriptor & Descriptor,
  options: SourceOptions,
): Promise<{ loaded: LoadedSource; joins: () => JoinReport; refusedHeaders: RefusedHeader[]; warnings: string[] }> {
  const where = displayPath(descriptor.file);
  let document;
  try {
    document = await readOpenapiDocument(descriptor.source, {
      baseDir: descriptor.dir,
      timeoutMs: descriptor.fetch.timeout,
      maxBytes: descriptor.fetch.maxSize,
    });
  } catch (error) {
    if (error instanceof DocumentError) throw new ConfigError('SOURCE_LOAD_FAILED', [`${where}: source: subgraph "${descriptor.name}": ${error.message}`]);
    throw error;
  }
  const upstream = httpUpstreamFor(descriptor, options.canaries);
  try {
    const client = new RestClient(descriptor, upstream, options.mode);
    let built;
    try {
      built = buildOpenapiSchema(document, descriptor, client, new CursorSeal(options.cursorKey ?? cursorKey()));
    } catch (error) {
      throw new ConfigError('SOURCE_LOAD_FAILED', [`${where}: source: subgraph "${descriptor.name}": cannot map ${document.location} to GraphQL: ${(error as Error).message}`]);
    }
    if (built.problems.length > 0) throw new ConfigError('CONFIG_INVALID', built.problems.map((p) => `${where}: ${p}`));
    const refusedHeaders = built.operations.flatMap((op) =>
      op.refusedHeaders.map((r) => ({ operation: op.id ?? `${op.method} ${op.path}`, parameter: r.name, required: r.required, reason: r.reason })),
    );
    if (refusedHeaders.length > 0) {
      const list = refusedHeaders.map((r) => `${r.parameter} of ${r.operation} (${r.reason})`).join('; ');
      options.logger.warn({ parameters: refusedHeaders.length }, `OpenAPI header parameters not offered as arguments, the gateway would never send them (tessera check lists them): ${list}`);
    }
    for (const warning of built.warnings) options.logger.warn(`${where}: ${warning}`);
    const loaded: LoadedSource = {
      descriptor,
      schema: built.schema,
      executor: createCompiledExecutor(built.schema),
      merge: Object.keys(built.merge).length > 0 ? built.merge : undefined,
      download: built.downloads ? (token, request) => built.downloads!.serve(token, request) : undefined,
      passesResponseHeaders: descriptor.responseHeaders.forward.length > 0 || descriptor.responseHeaders.setCookie,
      close: () => upstream.close(),
    };
    return { loaded, joins: built.joins, refusedHeaders, warnings: built.warnings.map((w) => `${where}: ${w}`) };
  } catch (error) {
    await upstream.close();
    throw error;
  }
}
