/**
 * The proxy scenario's one subgraph: a product listing whose fixed query
 * answers about 2 KB. `/graphql` serves the plain schema (Tessera, the direct
 * call, the raw proxy); `/federation` the same schema as a Federation 2
 * subgraph (Hive Gateway, Apollo Gateway need `_service`).
 */
import { makeExecutableSchema } from '@graphql-tools/schema';
import type { GraphQLSchema } from 'graphql';
import { federatedSchema } from './lib/federation.js';

const SDL = `type Query {
  products(first: Int = 10): [Product!]!
  product(id: ID!): Product
}
type Product {
  id: ID!
  name: String!
  description: String!
  price: Float!
  currency: String!
  tags: [String!]!
  rating: Float
  seller: Seller!
}
type Seller {
  id: ID!
  name: String!
  country: String!
}`;

const NAMES = ['Desk lamp', 'Oak table', 'Wool rug', 'Steel kettle', 'Linen shirt', 'Road bike', 'Tea set', 'Rain jacket'];
const TAGS = ['home', 'kitchen', 'outdoor', 'gift', 'sale', 'new', 'eco', 'classic'];
const COUNTRIES = ['FR', 'DE', 'NL', 'SE', 'PT', 'IT'];

const products = Array.from({ length: 40 }, (_, i) => ({
  id: `p${i + 1}`,
  name: NAMES[i % NAMES.length]!,
  description: `A ${NAMES[i % NAMES.length]!.toLowerCase()} made to last, shipped in recycled packaging within two days.`,
  price: Math.round((9.5 + ((i * 37) % 200)) * 100) / 100,
  currency: 'EUR',
  tags: [TAGS[i % 8]!, TAGS[(i + 3) % 8]!, TAGS[(i + 5) % 8]!],
  rating: i % 5 === 4 ? null : 3 + ((i * 3) % 20) / 10,
  seller: { id: `s${(i % 6) + 1}`, name: `Seller ${(i % 6) + 1}`, country: COUNTRIES[i % 6]! },
}));

const resolvers = {
  Query: {
    products: (_: unknown, { first }: { first: number }) => products.slice(0, Math.max(0, first)),
    product: (_: unknown, { id }: { id: string }) => products.find((p) => p.id === id) ?? null,
  },
};

export const PROXY_QUERY = /* GraphQL */ `
query Listing {
  products(first: 8) {
    id
    name
    description
    price
    currency
    tags
    rating
    seller { id name country }
  }
}
`;

export function proxySchemas(): { plain: GraphQLSchema; federation: GraphQLSchema } {
  return {
    plain: makeExecutableSchema({ typeDefs: SDL, resolvers }),
    federation: federatedSchema({
      sdl: `extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])\n${SDL}`,
      entities: [],
      resolvers,
      resolveReference: {},
    }),
  };
}
