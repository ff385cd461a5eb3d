/**
 * The four subgraphs of the federation scenario: Apollo Federation 2
 * subgraphs built with @apollo/subgraph (`_service`, `_entities`), what
 * Tessera (`kind: federation` descriptors), Hive Gateway and Apollo Gateway
 * all compose; and `monolith`: the whole graph in one schema, the direct
 * call (the limit). The tests serve the same subgraphs
 * (test/integration/federation-benchmark.test.ts).
 */
import { buildSubgraphSchema } from '@apollo/subgraph';
import { makeExecutableSchema } from '@graphql-tools/schema';
import { parse, type GraphQLSchema } from 'graphql';
import {
  inStock,
  productByUpc,
  reviewById,
  reviewsByAuthor,
  reviewsOfProduct,
  shippingEstimate,
  topProducts,
  userById,
  users,
  type Product,
  type Review,
} from './data.js';

const LINK = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@shareable", "@external", "@requires", "@provides"])';

/** One subgraph: its SDL as published and its resolvers (`__resolveReference` per entity). */
export interface SubgraphDefinition {
  sdl: string;
  resolvers: Record<string, Record<string, unknown>>;
}

type Representation = Record<string, unknown>;

function accounts(): SubgraphDefinition {
  return {
    sdl: `${LINK}
type Query {
  me: User
  user(id: ID!): User
  users: [User]
}
type User @key(fields: "id") {
  id: ID!
  name: String
  username: String @shareable
  birthday: Int
}`,
    resolvers: {
      Query: {
        me: () => users[0],
        user: (_: unknown, { id }: { id: string }) => userById.get(id) ?? null,
        users: () => users,
      },
      User: { __resolveReference: (r: Representation) => userById.get(String(r.id)) ?? null },
    },
  };
}

function products(): SubgraphDefinition {
  return {
    sdl: `${LINK}
type Query {
  topProducts(first: Int = 5): [Product]
}
type Product @key(fields: "upc") {
  upc: String!
  name: String
  price: Int
  weight: Int
}`,
    resolvers: {
      Query: { topProducts: (_: unknown, { first }: { first: number }) => topProducts(first) },
      Product: { __resolveReference: (r: Representation) => productByUpc.get(String(r.upc)) ?? null },
    },
  };
}

/** inventory: `shippingEstimate` needs the product's price and weight, which products owns (@requires). */
function inventory(): SubgraphDefinition {
  return {
    sdl: `${LINK}
type Product @key(fields: "upc") {
  upc: String!
  weight: Int @external
  price: Int @external
  inStock: Boolean
  shippingEstimate: Int @requires(fields: "price weight")
}`,
    resolvers: {
      Product: {
        __resolveReference: (r: { upc: string; price?: number | null; weight?: number | null }) =>
          r.upc in inStock ? { upc: r.upc, price: r.price ?? null, weight: r.weight ?? null, inStock: inStock[r.upc] } : null,
        shippingEstimate: (p: { price: number | null; weight: number | null }) => shippingEstimate(p.price, p.weight),
      },
    },
  };
}

function reviews(): SubgraphDefinition {
  return {
    sdl: `${LINK}
type Review @key(fields: "id") {
  id: ID!
  body: String
  author: User @provides(fields: "username")
  product: Product
}
type User @key(fields: "id") {
  id: ID!
  username: String @external
  reviews: [Review]
}
type Product @key(fields: "upc") {
  upc: String!
  reviews: [Review]
}`,
    resolvers: {
      Review: {
        __resolveReference: (r: Representation) => reviewById.get(String(r.id)) ?? null,
        author: (r: Review) => ({ id: r.authorId, username: userById.get(r.authorId)?.username ?? null }),
        product: (r: Review) => ({ upc: r.productUpc }),
      },
      User: { __resolveReference: (r: Representation) => ({ id: r.id }), reviews: (u: { id: string }) => reviewsByAuthor(u.id) },
      Product: { __resolveReference: (r: Representation) => ({ upc: r.upc }), reviews: (p: { upc: string }) => reviewsOfProduct(p.upc) },
    },
  };
}

export const SUBGRAPHS = { accounts, inventory, products, reviews } as const;
export type SubgraphName = keyof typeof SUBGRAPHS;

/** A subgraph's executable schema, built by @apollo/subgraph. */
export function subgraphSchema(definition: SubgraphDefinition): GraphQLSchema {
  return buildSubgraphSchema({ typeDefs: parse(definition.sdl), resolvers: definition.resolvers as never });
}

/** The direct call: the same graph served by one hand-written server, no gateway. */
export function monolith(): GraphQLSchema {
  const product = (p: Product) => ({ ...p, inStock: inStock[p.upc] ?? null, shippingEstimate: shippingEstimate(p.price, p.weight) });
  return makeExecutableSchema({
    typeDefs: /* GraphQL */ `
      type Query {
        me: User
        user(id: ID!): User
        users: [User]
        topProducts(first: Int = 5): [Product]
      }
      type User {
        id: ID!
        name: String
        username: String
        birthday: Int
        reviews: [Review]
      }
      type Product {
        upc: String!
        name: String
        price: Int
        weight: Int
        inStock: Boolean
        shippingEstimate: Int
        reviews: [Review]
      }
      type Review {
        id: ID!
        body: String
        author: User
        product: Product
      }
    `,
    resolvers: {
      Query: {
        me: () => users[0],
        user: (_: unknown, { id }: { id: string }) => userById.get(id) ?? null,
        users: () => users,
        topProducts: (_: unknown, { first }: { first: number }) => topProducts(first).map(product),
      },
      User: { reviews: (u: { id: string }) => reviewsByAuthor(u.id) },
      Product: { reviews: (p: { upc: string }) => reviewsOfProduct(p.upc) },
      Review: {
        author: (r: Review) => userById.get(r.authorId) ?? null,
        product: (r: Review) => {
          const p = productByUpc.get(r.productUpc);
          return p ? product(p) : null;
        },
      },
    },
  });
}
