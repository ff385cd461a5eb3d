/**
 * Apollo Gateway (@apollo/gateway) in-process, for differential tests: it
 * composes the given subgraphs (their SDL, served at their URLs on loopback)
 * and answers queries. Run without @apollo/server (not installed in the
 * project): `load()` hands over the API schema and the executor, and each
 * operation is validated against that schema first, as Apollo Server would.
 */
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { ApolloGateway } from '@apollo/gateway';
import { composeServices } from '@theguild/federation-composition';
import { getOperationAST, parse, validate, type GraphQLSchema } from 'graphql';

export interface ApolloAnswer {
  data?: unknown;
  errors?: Array<{ message: string; path?: ReadonlyArray<string | number> }>;
}

export async function startApolloGateway(t: TestContext, subgraphs: ReadonlyArray<{ name: string; url: string; sdl: string }>): Promise<(query: string, variables?: Record<string, unknown>) => Promise<ApolloAnswer>> {
  const composed = composeServices(subgraphs.map(({ name, sdl, url }) => ({ name, typeDefs: parse(sdl), url })));
  assert.equal(composed.errors, undefined);
  const silent = { debug() {}, info() {}, warn() {}, error() {} };
  const gateway = new ApolloGateway({ supergraphSdl: composed.supergraphSdl!, logger: silent });
  const { schema, executor } = await gateway.load();
  t.after(() => gateway.stop());
  return async (query, variables = {}) => {
    const document = parse(query);
    const invalid = validate(schema as GraphQLSchema, document);
    if (invalid.length > 0) return { errors: invalid.map((e) => ({ message: e.message })) };
    const operation = getOperationAST(document)!;
    const fragments = Object.fromEntries(document.definitions.flatMap((d) => (d.kind === 'FragmentDefinition' ? [[d.name.value, d]] : [])));
    const result = await executor({
      request: { query, variables, http: { method: 'POST', headers: new Map(), url: '/', search: '' } },
      document,
      source: query,
      queryHash: query,
      operationName: operation.name?.value ?? null,
      operation,
      schema,
      context: {},
      logger: silent,
      cache: undefined,
      metrics: {},
      overallCachePolicy: undefined,
      fragments,
    } as never);
    return JSON.parse(JSON.stringify(result)) as ApolloAnswer;
  };
}
