/**
 * One Yoga instance serves one schema version. A schema change builds a new
 * instance and the server swaps the reference, so a request always runs
 * start to finish against one schema.
 */
import { createYoga, maskError, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import { GraphQLError, type GraphQLSchema } from 'graphql';
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

/**
 * graphql-js reports data that breaks the schema (a null for a non-null
 * field, "Int cannot represent ...") as plain Errors, which the default mask
 * would turn into "Unexpected error". Their text names only schema elements,
 * and it tells the client which subgraph field is broken, so it is kept, with
 * its own code.
 */
const RESULT_COERCION = /^(Cannot return null for non-nullable field|\w+ cannot represent)/;

function maskGatewayError(error: unknown, message: string, isDev?: boolean): Error {
  if (error instanceof GraphQLError && error.originalError && !(error.originalError instanceof GraphQLError) && RESULT_COERCION.test(error.originalError.message)) {
    return new GraphQLError(error.originalError.message, {
      nodes: error.nodes,
      path: error.path,
      extensions: { code: 'RESPONSE_VALIDATION_FAILED' },
    });
  }
  return maskError(error, message, isDev);
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
    maskedErrors: { isDev: options.mode === 'development', maskError: maskGatewayError },
    batching: false,
    // GraphQL multipart requests (file uploads to REST sources); CSRF prevention guards it.
    multipart: true,
    logging: false,
    context: ({ request }) => ({
      tessera: createScope({ deadlineMs: options.requestDeadline, signal: request.signal, headers: request.headers }),
    }),
    plugins: options.plugins,
  });
}
