/**
 * `kind: graphql`: the schema comes from an SDL file (or URL) named by
 * `source`, or, when there is none, from introspecting the upstream, retried
 * with backoff while the service comes up.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import {
  buildASTSchema,
  buildClientSchema,
  getIntrospectionQuery,
  parse,
  type DocumentNode,
  type GraphQLError,
  type GraphQLSchema,
  type IntrospectionQuery,
} from 'graphql';
import type { Descriptor } from '../../config/descriptor.js';
import type { GraphqlDescriptor } from '../../config/graphql.js';
import { displayPath, excerpt } from '../../config/load.js';
import { ConfigError } from '../../errors.js';
import { upstreamHeaders } from '../../transport/headers.js';
import type { HttpUpstream } from '../../transport/http.js';
import { sleep } from '../../transport/retry.js';
import { createScope } from '../../request-scope.js';
import { parseUpstreamJson } from '../json.js';
import type { LoadedSource, SourceOptions } from '../types.js';
import { createGraphqlExecutor } from './executor.js';
import { fetchText } from '../fetch-text.js';
import { httpUpstreamFor } from '../upstream.js';

function loadFailed(descriptor: Descriptor, detail: string): ConfigError {
  return new ConfigError('SOURCE_LOAD_FAILED', [`${displayPath(descriptor.file)}: source: subgraph "${descriptor.name}": ${detail}`]);
}

async function schemaFromSdl(descriptor: Descriptor, source: string): Promise<GraphQLSchema> {
  let sdl: string;
  let where = source;
  if (/^https?:\/\//.test(source)) {
    sdl = await fetchText(source).catch((error: Error) => {
      throw loadFailed(descriptor, `cannot fetch ${source}: ${error.message}`);
    });
  } else {
    const path = resolve(descriptor.dir, source);
    where = displayPath(path);
    sdl = await readFile(path, 'utf8').catch(() => {
      throw loadFailed(descriptor, `schema file ${where} not found`);
    });
  }
  let document: DocumentNode;
  try {
    document = parse(sdl);
  } catch (error) {
    // A syntax error has one location: the file's line and column, and the excerpt there.
    const at = (error as GraphQLError).locations?.[0];
    if (!at) throw loadFailed(descriptor, `invalid SDL in ${where}: ${(error as Error).message}`);
    throw loadFailed(descriptor, `invalid SDL in ${where}:${at.line}:${at.column}: ${(error as Error).message}${excerpt(sdl, at.line, at.column)}`);
  }
  try {
    return buildASTSchema(document);
  } catch (error) {
    throw loadFailed(descriptor, `invalid SDL in ${where}: ${(error as Error).message}`);
  }
}

async function schemaFromIntrospection(descriptor: GraphqlDescriptor & Descriptor, upstream: HttpUpstream): Promise<GraphQLSchema> {
  const { attempts, backoff } = descriptor.introspection;
  const body = JSON.stringify({ query: getIntrospectionQuery({ descriptions: true }) });
  let lastProblem = '';
  for (let attempt = 0; attempt < attempts; attempt++) {
    if (attempt > 0) await sleep(backoff * 2 ** (attempt - 1));
    try {
      // No client and no caller: the descriptor's static headers, through the same header rule as every call.
      const scope = createScope({ deadlineMs: descriptor.timeout });
      const result = await upstream.request({
        method: 'POST',
        path: '',
        headers: upstreamHeaders(scope, descriptor.headers, { 'content-type': 'application/json', accept: 'application/json' }),
        body,
        idempotent: true,
        scope,
      });
      if (result.status !== 200) {
        lastProblem = `introspection answered HTTP ${result.status}`;
        continue;
      }
      const payload = parseUpstreamJson(result.body.toString('utf8')) as { data?: IntrospectionQuery; errors?: Array<{ message: string }> };
      if (!payload.data?.__schema) {
        // A GraphQL error (introspection disabled) will not go away by retrying.
        throw loadFailed(descriptor, `introspection returned no schema${payload.errors ? `: ${payload.errors.map((e) => e.message).join('; ')}` : ''}`);
      }
      return buildClientSchema(payload.data);
    } catch (error) {
      if (error instanceof ConfigError) throw error;
      lastProblem = (error as Error).message;
    }
  }
  throw loadFailed(descriptor, `introspection of ${descriptor.upstreams[0]!.url} failed after ${attempts} attempts: ${lastProblem}`);
}

export async function loadGraphqlSource(descriptor: GraphqlDescriptor & Descriptor, options: SourceOptions): Promise<LoadedSource> {
  const upstream = httpUpstreamFor(descriptor);
  try {
    const schema = descriptor.source
      ? await schemaFromSdl(descriptor, descriptor.source)
      : await schemaFromIntrospection(descriptor, upstream);
    return {
      descriptor,
      schema,
      executor: createGraphqlExecutor(descriptor, upstream, options.mode),
      close: () => upstream.close(),
    };
  } catch (error) {
    await upstream.close();
    throw error;
  }
}
