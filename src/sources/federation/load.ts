/**
 * `kind: federation`: an Apollo Federation v2 subgraph. Its SDL comes from
 * `sdl:` (a file or URL), from the supergraph file it was read from
 * (supergraph.ts), or else from its own `_service { sdl }`, asked while it comes up as introspection is for
 * `kind: graphql`. Operations go to it over GraphQL-over-HTTP through the
 * same executor and HttpUpstream as a GraphQL source (so every upstream
 * policy applies); entity fetches are `_entities(representations:)` calls the
 * planner builds (execution/planner.ts) from the FederationInfo read here.
 */
import type { Descriptor } from '../../config/descriptor.js';
import type { FederationDescriptor } from '../../config/federation.js';
import { askWhileStarting, loadFailed, parseSdl, readSdl } from '../graphql/load.js';
import { createGraphqlExecutor } from '../graphql/executor.js';
import { httpUpstreamFor } from '../upstream.js';
import type { LoadedSource, SourceOptions } from '../types.js';
import { stitchingMerge } from './merge.js';
import { readFederationSdl } from './sdl.js';
import { knownSdlOf } from './supergraph.js';

const SERVICE_QUERY = 'query __ApolloGetServiceDefinition__ { _service { sdl } }';

export async function loadFederationSource(descriptor: FederationDescriptor & Descriptor, options: SourceOptions): Promise<LoadedSource> {
  const upstream = httpUpstreamFor(descriptor, options.canaries);
  try {
    let sdl: string;
    let where: string;
    const known = knownSdlOf(descriptor);
    if (known !== undefined) {
      sdl = known;
      where = `the supergraph's subgraph "${descriptor.name}"`;
    } else if (descriptor.sdl) {
      const read = await readSdl(descriptor, descriptor.sdl);
      sdl = read.sdl;
      where = read.where;
    } else {
      where = `_service { sdl } of ${descriptor.upstreams[0]!.url}`;
      sdl = await askWhileStarting(descriptor, upstream, SERVICE_QUERY, '_service { sdl }', (data) => {
        const service = data?._service as { sdl?: unknown } | undefined;
        return typeof service?.sdl === 'string' ? service.sdl : undefined;
      });
    }
    const document = parseSdl(descriptor, sdl, where);
    let read;
    try {
      read = readFederationSdl(sdl, document);
    } catch (error) {
      throw loadFailed(descriptor, `invalid federation SDL in ${where}: ${(error as Error).message}`);
    }
    return {
      descriptor,
      schema: read.schema,
      federation: read.info,
      merge: stitchingMerge(read.info, read.schema),
      executor: createGraphqlExecutor(descriptor, upstream, options.mode),
      close: () => upstream.close(),
    };
  } catch (error) {
    await upstream.close();
    throw error;
  }
}
