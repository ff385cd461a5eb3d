/**
 * `kind: grpc`: the schema comes from .proto files (`source`, `protos`,
 * `includePaths`) or from the upstream's server reflection, and is built once
 * here; its resolvers call the upstream through one GrpcUpstream (one channel
 * per instance) that lives as long as the source.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { validateSchema, type GraphQLSchema } from 'graphql';
import type protobuf from 'protobufjs';
import type { Descriptor } from '../../config/descriptor.js';
import type { GrpcDescriptor } from '../../config/grpc.js';
import { displayPath } from '../../config/load.js';
import { ConfigError, isConfigError } from '../../errors.js';
import type { CanaryBoard } from '../../transport/canary.js';
import { GrpcUpstream, type GrpcTlsMaterial } from '../../transport/grpc.js';
import { upstreamHeaders } from '../../transport/headers.js';
import { discoveryOptions, shadowSettings } from '../upstream.js';
import type { LoadedSource, SourceOptions } from '../types.js';
import { loadFailed } from './errors.js';
import { createCompiledExecutor } from '../compiled-executor.js';
import { createCaller } from './client.js';
import { buildJoins } from './joins.js';
import { loadProtoFiles, protobufMessage } from './protos.js';
import { loadFromReflection } from './reflection.js';
import { assembleSchema, buildRootFields, findServices } from './schema.js';

type GrpcSourceDescriptor = GrpcDescriptor & Descriptor;

function tlsMaterial(descriptor: GrpcSourceDescriptor): GrpcTlsMaterial | undefined {
  const tls = descriptor.tls;
  if (!tls) return undefined;
  if (Boolean(tls.cert) !== Boolean(tls.key)) throw loadFailed(descriptor, 'mutual TLS needs both `cert` and `key`', 'tls');
  const read = (key: 'ca' | 'cert' | 'key'): Buffer | undefined => {
    const file = tls[key];
    if (!file) return undefined;
    const path = resolve(descriptor.dir, file);
    try {
      return readFileSync(path);
    } catch {
      throw loadFailed(descriptor, `${displayPath(path)} cannot be read`, `tls.${key}`);
    }
  };
  return { ca: read('ca'), cert: read('cert'), key: read('key'), serverName: tls.serverName };
}

export function grpcUpstreamFor(descriptor: GrpcSourceDescriptor, canaries?: CanaryBoard): GrpcUpstream {
  return new GrpcUpstream({
    subgraph: descriptor.name,
    instances: descriptor.upstreams,
    discovery: discoveryOptions(descriptor),
    timeout: descriptor.timeout,
    streamTimeout: descriptor.streamTimeout,
    maxReceiveMessageSize: descriptor.maxResponseSize,
    maxSendMessageSize: descriptor.maxRequestSize,
    keepalive: descriptor.keepalive,
    retry: descriptor.retry,
    breaker: descriptor.breaker,
    outliers: descriptor.outliers,
    // A check sends the static metadata every call sends (a service credential), never a client's.
    health: descriptor.health && { ...descriptor.health, headers: upstreamHeaders({ headers: new Headers(), identity: undefined }, descriptor.headers) },
    balance: descriptor.balance,
    adaptiveConcurrency: descriptor.adaptiveConcurrency,
    canary: descriptor.canary && { options: descriptor.canary, board: canaries },
    tls: tlsMaterial(descriptor),
    shadow: descriptor.shadow && shadowSettings(descriptor.shadow),
  });
}

async function protoRoot(descriptor: GrpcSourceDescriptor, upstream: GrpcUpstream): Promise<protobuf.Root> {
  if (descriptor.reflection) {
    try {
      return await loadFromReflection(upstream, { timeoutMs: descriptor.timeout, services: descriptor.services });
    } catch (error) {
      throw loadFailed(descriptor, `${(error as Error).message} (${descriptor.upstreams[0]!.url})`, 'reflection');
    }
  }
  const entries = [descriptor.source, ...descriptor.protos].filter((f): f is string => Boolean(f)).map((f) => resolve(descriptor.dir, f));
  if (entries.length === 0) throw loadFailed(descriptor, 'give the .proto file in `source` (or `protos`), or set `reflection: true`');
  if (descriptor.source && /^https?:\/\//.test(descriptor.source)) {
    throw loadFailed(descriptor, '.proto files are read from disk (a URL cannot carry its imports); use `reflection: true` to read definitions from the service');
  }
  try {
    return loadProtoFiles(entries, descriptor.includePaths.map((p) => resolve(descriptor.dir, p)));
  } catch (error) {
    throw loadFailed(descriptor, protobufMessage(error));
  }
}

/** The schema of a gRPC source, without an upstream call (for tools and the corpus check); resolvers still need `caller`. */
export function schemaFromRoot(descriptor: GrpcSourceDescriptor, root: protobuf.Root, caller: Parameters<typeof buildRootFields>[1]): { schema: GraphQLSchema; skipped: string[] } {
  const { unknown } = findServices(root, descriptor.services);
  if (unknown.length > 0) throw loadFailed(descriptor, `no service named ${unknown.join(', ')} in the definitions`, 'services');
  let built;
  try {
    built = buildRootFields(
      {
        root,
        services: descriptor.services,
        readOnly: descriptor.readOnly,
        maps: descriptor.maps,
        fieldNames: descriptor.fieldNames,
        reserved: Object.keys(descriptor.joins),
        subgraph: descriptor.name,
      },
      caller,
    );
  } catch (error) {
    throw loadFailed(descriptor, protobufMessage(error));
  }
  const joins = buildJoins(descriptor, built, caller);
  if (joins.problems.length > 0) throw new ConfigError('CONFIG_INVALID', joins.problems);
  let schema: GraphQLSchema;
  try {
    schema = assembleSchema(built, descriptor.name, joins.query);
  } catch (error) {
    throw loadFailed(descriptor, `the generated schema is invalid: ${(error as Error).message}`);
  }
  const invalid = validateSchema(schema);
  if (invalid.length > 0) throw loadFailed(descriptor, `the generated schema is invalid: ${invalid.map((e) => e.message).join('; ')}`);
  return { schema, skipped: built.skipped };
}

export async function loadGrpcSource(descriptor: GrpcSourceDescriptor, options: SourceOptions): Promise<LoadedSource> {
  const upstream = grpcUpstreamFor(descriptor, options.canaries);
  try {
    const root = await protoRoot(descriptor, upstream);
    const caller = createCaller(upstream, descriptor, options.mode);
    const { schema, skipped } = schemaFromRoot(descriptor, root, caller);
    for (const reason of skipped) options.logger.warn({ subgraph: descriptor.name }, `gRPC method left out of the schema: ${reason}`);
    return {
      descriptor,
      schema,
      // The root resolvers (methods, entity joins) make the calls; below the root a gRPC answer is already a
      // plain object keyed by GraphQL field names, so queries and mutations take the compiled executor, and
      // subscriptions (server streams) the general one, which the compiled one hands them to.
      executor: createCompiledExecutor(schema),
      close: () => upstream.close(),
    };
  } catch (error) {
    await upstream.close();
    if (isConfigError(error)) throw error;
    throw loadFailed(descriptor, (error as Error).message);
  }
}
