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

export function loadFailed(descriptor: Descriptor, detail: string): ConfigError {
  return new ConfigError('SOURCE_LOAD_FAILED', [`${displayPath(descriptor.file)}: source: subgraph "${descriptor.name}": ${detail}`]);
}

/** An SDL file (relative to the descriptor) or URL, read and parsed; a syntax error names the file, line and column. */
export async function readSdl(descriptor: Descriptor, source: string): Promise<{ sdl: string; document: DocumentNode; where: string }> {
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
  return { sdl, document: parseSdl(descriptor, sdl, where), where };
}

/** SDL parsed; a syntax error names where it came from, its line and column, and shows the excerpt there. */
export function parseSdl(descriptor: Descriptor, sdl: string, where: string): DocumentNode {
  try {
    return parse(sdl);
  } catch (error) {
    // A syntax error has one location: the file's line and column, and the excerpt there.
    const at = (error as GraphQLError).locations?.[0];
    if (!at) throw loadFailed(descriptor, `invalid SDL in ${where}: ${(error as Error).message}`);
    throw loadFailed(descriptor, `invalid SDL in ${where}:${at.line}:${at.column}: ${(error as Error).message}${excerpt(sdl, at.line, at.column)}`);
  }
}

async function schemaFromSdl(descriptor: Descriptor, source: string): Promise<GraphQLSchema> {
  const { document, where } = await readSdl(descriptor, source);
  try {
    return buildASTSchema(document);
  } catch (error) {
    throw loadFailed(descriptor, `invalid SDL in ${where}: ${(error as Error).message}`);
  }
}

/**
 * Asks the first upstream one query while it comes up (`introspection.attempts`, backoff doubling), and
 * returns what `pick` finds in the answer's data. An answer without it is a ConfigError at once (`what`
 * names the query): a GraphQL error will not go away by retrying.
 */
export async function askWhileStarting<T>(
  descriptor: Descriptor & { introspection: { attempts: number; backoff: number } },
  upstream: HttpUpstream,
  query: string,
  what: string,
  pick: (data: Record<string, unknown> | undefined) => T | undefined,
): Promise<T> {
  const { attempts, backoff } = descriptor.introspection;
  const body = JSON.stringify({ query });
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
        lastProblem = `${what} answered HTTP ${result.status}`;
        continue;
      }
      const payload = parseUpstreamJson(result.body.toString('utf8')) as { data?: Record<string, unknown>; errors?: Array<{ message: string }> };
      const found = pick(payload.data ?? undefined);
      if (found === undefined) {
        throw loadFailed(descriptor, `${what} returned no schema${payload.errors ? `: ${payload.errors.map((e) => e.message).join('; ')}` : ''}`);
      }
      return found;
    } catch (error) {
      if (error instanceof ConfigError) throw error;
      lastProblem = (error as Error).message;
    }
  }
  throw loadFailed(descriptor, `${what} of ${descriptor.upstreams[0]!.url} failed after ${attempts} attempts: ${lastProblem}`);
}

async function schemaFromIntrospection(descriptor: GraphqlDescriptor & Descriptor, upstream: HttpUpstream): Promise<GraphQLSchema> {
  const data = await askWhileStarting(descriptor, upstream, getIntrospectionQuery({ descriptions: true }), 'introspection', (d) => (d?.__schema ? (d as unknown as IntrospectionQuery) : undefined));
  return buildClientSchema(data);
}

export async function loadGraphqlSource(descriptor: GraphqlDescriptor & Descriptor, options: SourceOptions): Promise<LoadedSource> {
  const upstream = httpUpstreamFor(descriptor, options.canaries);
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
