/**
 * The four subgraphs of the federation scenario, each with two faces over the
 * same data and resolvers:
 * - `federation`: an Apollo Federation 2 subgraph (`_service`, `_entities`),
 *   what Hive Gateway and Apollo Gateway compose;
 * - `plain`: a plain GraphQL schema with batch root fields (`_usersByIds`, ...)
 *   that Tessera joins as GraphQL sources with entity declarations (see
 *   `federationDescriptors` in bench/lib/scenarios/federation.ts).
 * And `monolith`: the whole graph in one schema, the direct call (the limit).
 */
import { makeExecutableSchema } from '@graphql-tools/schema';
import type { GraphQLSchema } from 'graphql';
import { federatedSchema, type Representation } from '../lib/federation.js';
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

export interface Subgraph {
  plain: GraphQLSchema;
  federation: GraphQLSchema;
}

const LINK = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@shareable", "@external", "@requires", "@provides"])';

function accounts(): Subgraph {
  const query = {
    me: () => users[0],
    user: (_: unknown, { id }: { id: string }) => userById.get(id) ?? null,
    users: () => users,
  };
  return {
    federation: federatedSchema({
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
      entities: ['User'],
      resolvers: { Query: query },
      resolveReference: { User: (r) => userById.get(String(r.id)) as unknown as Record<string, unknown> },
    }),
    plain: makeExecutableSchema({
      typeDefs: /* GraphQL */ `
        type Query {
          me: User
          user(id: ID!): User
          users: [User]
          "Entity entry point: one user per id, in order."
          _usersByIds(ids: [ID!]!): [User]!
        }
        type User {
          id: ID!
          name: String
          username: String
          birthday: Int
        }
      `,
      resolvers: { Query: { ...query, _usersByIds: (_: unknown, { ids }: { ids: string[] }) => ids.map((id) => userById.get(id) ?? null) } },
    }),
  };
}

function products(): Subgraph {
  const query = { topProducts: (_: unknown, { first }: { first: number }) => topProducts(first) };
  return {
    federation: federatedSchema({
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
      entities: ['Product'],
      resolvers: { Query: query },
      resolveReference: { Product: (r) => productByUpc.get(String(r.upc)) as unknown as Record<string, unknown> },
    }),
    plain: makeExecutableSchema({
      typeDefs: /* GraphQL */ `
        type Query {
          topProducts(first: Int = 5): [Product]
          "Entity entry point: one product per upc, in order."
          _productsByUpcs(upcs: [String!]!): [Product]!
        }
        type Product {
          upc: String!
          name: String
          price: Int
          weight: Int
        }
      `,
      resolvers: { Query: { ...query, _productsByUpcs: (_: unknown, { upcs }: { upcs: string[] }) => upcs.map((upc) => productByUpc.get(upc) ?? null) } },
    }),
  };
}

/** inventory: `shippingEstimate` needs the product's price and weight, which products owns (@requires). */
function inventory(): Subgraph {
  const stock = (key: { upc: string; price?: number | null; weight?: number | null }) =>
    key.upc in inStock ? { upc: key.upc, price: key.price ?? null, weight: key.weight ?? null, inStock: inStock[key.upc], shippingEstimate: shippingEstimate(key.price, key.weight) } : null;
  return {
    federation: federatedSchema({
      sdl: `${LINK}
type Product @key(fields: "upc") {
  upc: String!
  weight: Int @external
  price: Int @external
  inStock: Boolean
  shippingEstimate: Int @requires(fields: "price weight")
}`,
      entities: ['Product'],
      resolvers: {},
      resolveReference: { Product: (r: Representation) => stock(r as unknown as { upc: string; price?: number; weight?: number }) },
    }),
    // Tessera's equivalent of @requires: the entity key includes price and weight, so the
    // gateway fetches them (from products) before it calls inventory.
    plain: makeExecutableSchema({
      typeDefs: /* GraphQL */ `
        input ProductKey {
          upc: String!
          price: Int
          weight: Int
        }
        type Query {
          "Entity entry point: one product per key, in order."
          _productsByKeys(keys: [ProductKey!]!): [Product]!
        }
        type Product {
          upc: String!
          price: Int
          weight: Int
          inStock: Boolean
          shippingEstimate: Int
        }
      `,
      resolvers: { Query: { _productsByKeys: (_: unknown, { keys }: { keys: Array<{ upc: string; price?: number; weight?: number }> }) => keys.map(stock) } },
    }),
  };
}

function reviews(): Subgraph {
  const typeResolvers = {
    Review: {
      author: (r: Review) => ({ id: r.authorId, username: userById.get(r.authorId)?.username ?? null }),
      product: (r: Review) => ({ upc: r.productUpc }),
    },
    User: { reviews: (u: { id: string }) => reviewsByAuthor(u.id) },
    Product: { reviews: (p: { upc: string }) => reviewsOfProduct(p.upc) },
  };
  return {
    federation: federatedSchema({
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
      entities: ['Review', 'User', 'Product'],
      resolvers: typeResolvers,
      resolveReference: {
        Review: (r) => (reviewById.get(String(r.id)) as unknown as Record<string, unknown>) ?? null,
        User: (r) => ({ id: r.id }),
        Product: (r) => ({ upc: r.upc }),
      },
    }),
    plain: makeExecutableSchema({
      typeDefs: /* GraphQL */ `
        type Review {
          id: ID!
          body: String
          author: User
          product: Product
        }
        type User {
          id: ID!
          reviews: [Review]
        }
        type Product {
          upc: String!
          reviews: [Review]
        }
        type Query {
          "Entity entry points: one result per key, in order (named apart from accounts' and products' own)."
          _reviewUsersByIds(ids: [ID!]!): [User]!
          _reviewProductsByUpcs(upcs: [String!]!): [Product]!
        }
      `,
      resolvers: {
        ...typeResolvers,
        Query: {
          _reviewUsersByIds: (_: unknown, { ids }: { ids: string[] }) => ids.map((id) => ({ id })),
          _reviewProductsByUpcs: (_: unknown, { upcs }: { upcs: string[] }) => upcs.map((upc) => ({ upc })),
        },
      },
    }),
  };
}

export const SUBGRAPHS = { accounts, inventory, products, reviews } as const;
export type SubgraphName = keyof typeof SUBGRAPHS;

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
