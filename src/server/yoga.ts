/**
 * One Yoga instance serves one schema version. A schema change builds a new
 * instance and the server swaps the reference, so a request always runs
 * start to finish against one schema.
 */
import { createYoga, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import type { GraphQLSchema } from 'graphql';
import type { Mode } from '../sources/types.js';
import { createScope, type RequestScope } from '../transport/scope.js';

export interface GatewayContext {
  tessera: RequestScope;
}

export interface YogaOptions {
  schema: GraphQLSchema;
  mode: Mode;
  graphqlPath: string;
  graphiql: boolean;
  requestDeadline: number;
  plugins: Plugin[];
}

export type GatewayYoga = YogaServerInstance<Record<string, unknown>, GatewayContext>;

export function buildYoga(options: YogaOptions): GatewayYoga {
  return createYoga<Record<string, unknown>, GatewayContext>({
    schema: options.schema,
    graphqlEndpoint: options.graphqlPath,
    graphiql: options.graphiql ? { title: 'Tessera' } : false,
    landingPage: false,
    // Our own /healthz and /readyz answer health; Yoga's would be a second way.
    healthCheckEndpoint: '/__yoga_health_unused',
    // Unexpected errors are masked in production; TesseraErrors (GraphQLErrors with a code) pass.
    maskedErrors: { isDev: options.mode === 'development' },
    batching: false,
    multipart: false,
    logging: false,
    context: ({ request }) => ({
      tessera: createScope({ deadlineMs: options.requestDeadline, signal: request.signal, headers: request.headers }),
    }),
    plugins: options.plugins,
  });
}
