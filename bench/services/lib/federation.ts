/**
 * Apollo Federation's subgraph protocol written by hand (no @apollo/subgraph,
 * so the services stay free of the peers' dependencies): `_service { sdl }`
 * returns the SDL as written, and `_entities(representations:)` resolves each
 * representation with the type's `resolveReference`.
 *
 * https://www.apollographql.com/docs/federation/subgraph-spec/
 */
import { makeExecutableSchema } from '@graphql-tools/schema';
import type { GraphQLSchema } from 'graphql';

/** What the federation directives need to be defined for graphql-js to build the schema. */
const PRELUDE = /* GraphQL */ `
  scalar _Any
  scalar FieldSet
  type _Service { sdl: String }
  directive @link(url: String!, import: [String]) repeatable on SCHEMA
  directive @key(fields: FieldSet!, resolvable: Boolean = true) repeatable on OBJECT | INTERFACE
  directive @external on FIELD_DEFINITION | OBJECT
  directive @requires(fields: FieldSet!) on FIELD_DEFINITION
  directive @provides(fields: FieldSet!) on FIELD_DEFINITION
  directive @shareable repeatable on OBJECT | FIELD_DEFINITION
`;

export type Representation = { __typename: string } & Record<string, unknown>;

export interface FederatedSubgraph {
  /** The subgraph's SDL as published (with `extend schema @link(...)`). */
  sdl: string;
  /** Entity type names (types with @key), members of the `_Entity` union. */
  entities: string[];
  resolvers: Record<string, Record<string, unknown>>;
  /** For each entity type: representation -> object (or null). */
  resolveReference: Record<string, (representation: Representation) => Record<string, unknown> | null>;
}

export function federatedSchema(subgraph: FederatedSubgraph): GraphQLSchema {
  const hasQuery = /\btype\s+Query\b/.test(subgraph.sdl);
  const entityFields = subgraph.entities.length > 0 ? '_entities(representations: [_Any!]!): [_Entity]!' : '';
  const typeDefs = [
    PRELUDE,
    subgraph.sdl,
    subgraph.entities.length > 0 ? `union _Entity = ${subgraph.entities.join(' | ')}` : '',
    `${hasQuery ? 'extend type' : 'type'} Query { _service: _Service! ${entityFields} }`,
  ].join('\n');
  const query = (subgraph.resolvers.Query ?? {}) as Record<string, unknown>;
  return makeExecutableSchema({
    typeDefs,
    resolvers: {
      ...subgraph.resolvers,
      Query: {
        ...query,
        _service: () => ({ sdl: subgraph.sdl }),
        ...(subgraph.entities.length > 0
          ? {
              _entities: (_: unknown, { representations }: { representations: Representation[] }) =>
                representations.map((representation) => {
                  const resolve = subgraph.resolveReference[representation.__typename];
                  const found = resolve ? resolve(representation) : null;
                  return found ? { ...found, __typename: representation.__typename } : null;
                }),
            }
          : {}),
      },
      ...(subgraph.entities.length > 0 ? { _Entity: { __resolveType: (obj: { __typename: string }) => obj.__typename } } : {}),
    },
  });
}
