/** The products subgraph the rate-limit test files use, and the cost the rate limiter charges for an operation. */
import { buildSchema, getOperationAST, parse } from 'graphql';
import { COST_DEFAULTS } from '../../src/config/limits.js';
import { estimateCost } from '../../src/plugins/cost.js';

export const PRODUCTS = `type Product { id: ID! name: String! } type Query { products(first: Int): [Product!]! product(id: ID!): Product }`;

export const productsResolvers = {
  Query: {
    products: (_: unknown, { first }: { first?: number }) => Array.from({ length: first ?? 3 }, (_v, i) => ({ id: `p${i}`, name: `product ${i}` })),
    product: (_: unknown, { id }: { id: string }) => ({ id, name: `product ${id}` }),
  },
};

/** The estimated cost of an operation with the default cost model (security.limits.cost): what a cost rule charges for it. */
export function costOf(query: string, sdl = PRODUCTS): number {
  const document = parse(query);
  return estimateCost(buildSchema(sdl), document, getOperationAST(document)!, {}, COST_DEFAULTS);
}
