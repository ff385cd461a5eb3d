/** Demo GraphQL service "reviews": three reviews per product (p1..p60), written by users u1..u20. */
import { readFileSync } from 'node:fs';
import { createSchema, createYoga } from 'graphql-yoga';
import { GraphQLError } from 'graphql';
import { serve, type DemoService } from '../lib/serve.js';

interface Review {
  id: string;
  body: string;
  rating: number;
  authorId: string;
  productId: string;
}

const PHRASES = ['Works as described.', 'Would buy again.', 'Sturdy and well made.', 'Arrived late, but fine.', 'Better than expected.', 'Not worth the price.'];

function seedReviews(): Review[] {
  const out: Review[] = [];
  for (let p = 1; p <= 60; p++) {
    for (let k = 0; k < 3; k++) {
      const n = out.length + 1;
      out.push({
        id: `r${n}`,
        body: PHRASES[(p + k) % PHRASES.length]!,
        rating: ((p * 7 + k * 3) % 5) + 1,
        authorId: `u${((p + k * 7) % 20) + 1}`,
        productId: `p${p}`,
      });
    }
  }
  return out;
}

export const typeDefs = readFileSync(new URL('./schema.graphql', import.meta.url), 'utf8');

export function createReviewsYoga() {
  const reviews = seedReviews();
  const byProduct = (id: string): Review[] => reviews.filter((r) => r.productId === id);
  const average = (id: string): number | null => {
    const list = byProduct(id);
    return list.length ? Math.round((list.reduce((s, r) => s + r.rating, 0) / list.length) * 100) / 100 : null;
  };
  return createYoga({
    schema: createSchema({
      typeDefs,
      resolvers: {
        Query: {
          reviews: (_: unknown, { first }: { first: number }) => reviews.slice(0, Math.max(0, first)),
          review: (_: unknown, { id }: { id: string }) => reviews.find((r) => r.id === id) ?? null,
          topProducts: (_: unknown, { first }: { first: number }) => {
            const ids = [...new Set(reviews.map((r) => r.productId))];
            return ids
              .sort((a, b) => (average(b) ?? 0) - (average(a) ?? 0) || a.localeCompare(b, 'en', { numeric: true }))
              .slice(0, Math.max(0, first))
              .map((id) => ({ id }));
          },
          _usersByIds: (_: unknown, { ids }: { ids: string[] }) => ids.map((id) => ({ id })),
          _productsByIds: (_: unknown, { ids }: { ids: string[] }) => ids.map((id) => ({ id })),
        },
        Mutation: {
          addReview: (_: unknown, args: { productId: string; authorId: string; body: string; rating: number }) => {
            if (args.rating < 1 || args.rating > 5) throw new GraphQLError('rating must be between 1 and 5', { extensions: { code: 'BAD_USER_INPUT' } });
            const review = { id: `r${reviews.length + 1}`, body: args.body, rating: args.rating, authorId: args.authorId, productId: args.productId };
            reviews.push(review);
            return review;
          },
        },
        Review: {
          author: (r: Review) => ({ id: r.authorId }),
          product: (r: Review) => ({ id: r.productId }),
        },
        User: {
          reviews: (u: { id: string }) => reviews.filter((r) => r.authorId === u.id),
        },
        Product: {
          reviews: (p: { id: string }, { first }: { first?: number }) => byProduct(p.id).slice(0, first ?? undefined),
          averageRating: (p: { id: string }) => average(p.id),
        },
      },
    }),
    logging: false,
    graphiql: false,
  });
}

export async function start(port = 4102): Promise<DemoService> {
  return serve(port, createReviewsYoga(), '/graphql');
}
