/** Demo GraphQL service "accounts": the shop's users. Deterministic data. */
import { readFileSync } from 'node:fs';
import { createSchema, createYoga } from 'graphql-yoga';
import { serve, type DemoService } from '../lib/serve.js';

export interface User {
  id: string;
  name: string;
  username: string;
  email: string;
}

const FIRST = ['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Donald', 'Frances', 'Ken', 'Margaret', 'Dennis'];
const LAST = ['Lovelace', 'Hopper', 'Turing', 'Dijkstra', 'Liskov', 'Knuth', 'Allen', 'Thompson', 'Hamilton', 'Ritchie'];

export const users: User[] = Array.from({ length: 20 }, (_, i) => {
  const name = `${FIRST[i % 10]} ${LAST[(i * 3) % 10]}`;
  const username = `${FIRST[i % 10]!.toLowerCase()}${i + 1}`;
  return { id: `u${i + 1}`, name, username, email: `${username}@example.com` };
});
const byId = new Map(users.map((u) => [u.id, u]));

export const typeDefs = readFileSync(new URL('./schema.graphql', import.meta.url), 'utf8');

export function createAccountsYoga() {
  return createYoga<{ request: Request }>({
    schema: createSchema({
      typeDefs,
      resolvers: {
        Query: {
          me: (_: unknown, __: unknown, ctx: { request: Request }) => byId.get(ctx.request.headers.get('x-user-id') ?? 'u1') ?? null,
          user: (_: unknown, { id }: { id: string }) => byId.get(id) ?? null,
          users: (_: unknown, { ids }: { ids: string[] }) => ids.map((id) => byId.get(id) ?? null),
          allUsers: (_: unknown, { first }: { first: number }) => users.slice(0, Math.max(0, first)),
        },
      },
    }),
    logging: false,
    graphiql: false,
  });
}

export async function start(port = 4101): Promise<DemoService> {
  const yoga = createAccountsYoga();
  return serve(port, yoga, '/graphql');
}
