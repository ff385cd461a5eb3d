/**
 * What a planned request over a big list costs the gateway when the subgraph
 * its entity call goes to is dead (docs/reliability.md row 87): every item's
 * joined field is null with its own located error. The gateway runs in THIS
 * process; the list's subgraph (a plain node:http server with a fixed answer)
 * and the load generator in a child process. Printed: CPU per request in this
 * process and bytes of answer, with the users subgraph dead (a closed port:
 * connection refused) and alive (the child answers it), side by side.
 *
 *   NODE_ENV=production npx tsx bench/dead-upstream-cost.ts [--items 500] [--requests 2000] [--concurrency 16]
 *
 * A benchmark, not a test: nothing is asserted. CPU time moves with the machine's load.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { sendLoad, type LoadOrder } from './lib/load-orders.js';

const QUERY = 'query Posts { posts { id title author { id name } } }';
const POSTS_SDL = 'type Post { id: ID! title: String! author: User } type User { id: ID! } type Query { posts: [Post!]! _usersByIds(ids: [ID!]!): [User]! }';
const USERS_SDL = 'type User { id: ID! name: String! } type Query { users(ids: [ID!]!): [User]! }';

type FromChild = { ready: { posts: string; users: string } } | { done: { errors: number } } | { closed: true };
/** To the child: a load order, or close the users subgraph (its port then refuses connections). */
type ToChild = LoadOrder | { close: 'users' };

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString()));
  });
}

function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer(handler);
  const close = (): Promise<void> =>
    new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ url: `http://127.0.0.1:${(server.address() as { port: number }).port}/graphql`, close })));
}

const json = (res: ServerResponse, body: string): void => {
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
};

async function childMain(items: number): Promise<void> {
  // The answer to the one call the plan sends it: the key under the planner's alias (`__key_id`) too.
  const posts = JSON.stringify({ data: { posts: Array.from({ length: items }, (_, n) => ({ id: `p${n}`, title: `post ${n}`, author: { id: `u${n}`, __key_id: `u${n}` } })) } });
  // Introspection at start-up: answered by graphql-js over the SDL; every other request with the fixed answers.
  const { buildSchema, graphqlSync, getIntrospectionQuery } = await import('graphql');
  const introspection = (sdl: string): string => JSON.stringify(graphqlSync({ schema: buildSchema(sdl), source: getIntrospectionQuery() }));
  const postsServer = await listen(async (req, res) => {
    const body = await readBody(req);
    json(res, body.includes('__schema') ? introspection(POSTS_SDL) : posts);
  });
  const usersServer = await listen(async (req, res) => {
    const body = await readBody(req);
    if (body.includes('__schema')) return json(res, introspection(USERS_SDL));
    // The planner's call: `<alias>: users(ids: $<variable>) { ... }`, answered under that alias.
    const { query, variables } = JSON.parse(body) as { query: string; variables: Record<string, string[]> };
    const alias = /(\w+)\s*:\s*users\s*\(/.exec(query)?.[1] ?? 'users';
    const ids = Object.values(variables)[0] ?? [];
    json(res, JSON.stringify({ data: { [alias]: ids.map((id) => ({ id, name: `user ${id}` })) } }));
  });
  process.on('message', (order: ToChild) => {
    if ('close' in order) void usersServer.close().then(() => process.send!({ closed: true } satisfies FromChild));
    else void sendLoad(order).then((errors) => process.send!({ done: { errors } } satisfies FromChild));
  });
  process.send!({ ready: { posts: postsServer.url, users: usersServer.url } } satisfies FromChild);
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { items: { type: 'string', default: '500' }, requests: { type: 'string', default: '2000' }, concurrency: { type: 'string', default: '16' } } });
  const items = Number(values.items);
  const requests = Number(values.requests);
  const concurrency = Number(values.concurrency);
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), ['--child', String(items)], { execArgv: ['--import', 'tsx'], stdio: 'inherit' });
  const next = (): Promise<FromChild> => new Promise((resolve) => child.once('message', (m) => resolve(m as FromChild)));
  try {
    const ready = await next();
    if (!('ready' in ready)) throw new Error('the load child did not start');
    const { createGateway } = await import('../src/index.js');
    const gateway = await createGateway({
      gateway: { mode: 'production', logging: { level: 'silent' }, cache: { dedupe: false }, security: { limits: { cost: { mode: 'measure' } } } },
      descriptors: [
        { name: 'users', kind: 'graphql', url: ready.ready.users, entities: { User: { key: 'id', batch: { field: 'users', argument: 'ids' } } } },
        { name: 'posts', kind: 'graphql', url: ready.ready.posts, entities: { User: { key: 'id', batch: { field: '_usersByIds', argument: 'ids' } } }, transforms: { hide: ['Query._usersByIds'] } },
      ],
    });
    try {
      const { url } = await gateway.listen(0, '127.0.0.1');
      const body = JSON.stringify({ query: QUERY, operationName: 'Posts' });
      const run = async (count: number): Promise<void> => {
        const done = next();
        child.send({ url, body, requests: count, concurrency } satisfies ToChild);
        await done;
      };
      for (const label of ['alive', 'dead']) {
        if (label === 'dead') {
          const closed = next();
          child.send({ close: 'users' } satisfies ToChild);
          await closed;
        }
        const sample = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body }).then((r) => r.text());
        await run(Math.min(1000, requests));
        const cpu = process.cpuUsage();
        await run(requests);
        const used = process.cpuUsage(cpu);
        const errors = (sample.match(/"message"/g) ?? []).length;
        console.log(`users ${label}: ${items} items, ${requests} requests at ${concurrency}: ${((used.user + used.system) / 1000 / requests).toFixed(3)} ms CPU per request, answer ${sample.length} bytes with ${errors} errors`);
      }
    } finally {
      await gateway.close();
    }
  } finally {
    child.kill();
  }
}

if (process.argv.includes('--child')) await childMain(Number(process.argv[process.argv.indexOf('--child') + 1]));
else await main();
