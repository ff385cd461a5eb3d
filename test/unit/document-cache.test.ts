/**
 * useDocumentCache (plugins/use-document-cache.ts), in a Yoga server built as
 * the gateway builds one (buildYoga: Yoga's own cache off): a text is parsed
 * once, a document validated once per rule set, a rule set that differs gets
 * its own validation, and what is kept is bounded.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createSchema, createYoga, type Plugin } from 'graphql-yoga';
import { GraphQLError, parse, validate, type ValidationRule } from 'graphql';
import { buildYoga } from '../../src/server/yoga.js';
import { useDocumentCache } from '../../src/plugins/use-document-cache.js';

const schema = createSchema({ typeDefs: 'type Query { hello: String secret: String }', resolvers: { Query: { hello: () => 'world', secret: () => 's' } } });

/** Counts parse and validate calls; adds `noSecret` when the request says `x-strict: 1` (a rule set per request). */
function counting(): { plugin: Plugin; parses: string[]; validations: number } {
  const noSecret: ValidationRule = (context) => ({
    Field(node) {
      if (node.name.value === 'secret') context.reportError(new GraphQLError('secret is not for you', { nodes: [node] }));
    },
  });
  const seen = { parses: [] as string[], validations: 0 };
  const plugin: Plugin = {
    onParse({ setParseFn }) {
      setParseFn((source, options) => {
        seen.parses.push(typeof source === 'string' ? source : source.body);
        return parse(source, options);
      });
    },
    onValidate({ addValidationRule, setValidationFn, context }) {
      if ((context as { request: Request }).request.headers.get('x-strict') === '1') addValidationRule(noSecret);
      setValidationFn((...args) => {
        seen.validations++;
        return validate(...args);
      });
    },
  };
  return {
    plugin,
    get parses() {
      return seen.parses;
    },
    get validations() {
      return seen.validations;
    },
  };
}

function gateway(plugins: Plugin[]) {
  const yoga = buildYoga({ schema, mode: 'production', graphqlPath: '/graphql', graphiql: false, requestDeadline: 5000, plugins });
  return async (query: string, headers: Record<string, string> = {}) => {
    const response = await yoga.fetch('http://localhost/graphql', { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query }) });
    return (await response.json()) as { data?: unknown; errors?: Array<{ message: string }> };
  };
}

test('a text is parsed once and a document validated once for the same rules', async () => {
  const seen = counting();
  const send = gateway([seen.plugin]);
  for (let i = 0; i < 3; i++) assert.deepEqual(await send('{ hello }'), { data: { hello: 'world' } });
  assert.deepEqual(seen.parses, ['{ hello }']);
  assert.equal(seen.validations, 1);
  await send('{ hello secret }');
  assert.equal(seen.parses.length, 2);
  assert.equal(seen.validations, 2);
});

test('a request that adds a rule gets its own validation; the result of other rules is never reused for it', async () => {
  const seen = counting();
  const send = gateway([seen.plugin]);
  assert.deepEqual(await send('{ secret }'), { data: { secret: 's' } });
  const strict = await send('{ secret }', { 'x-strict': '1' });
  assert.deepEqual(strict.errors?.map((e) => e.message), ['secret is not for you']);
  assert.equal(seen.validations, 2);
  // One result is kept per document, with its rules: a change of rules validates again, each time.
  assert.deepEqual(await send('{ secret }'), { data: { secret: 's' } });
  assert.deepEqual((await send('{ secret }', { 'x-strict': '1' })).errors?.map((e) => e.message), ['secret is not for you']);
  assert.deepEqual((await send('{ secret }', { 'x-strict': '1' })).errors?.map((e) => e.message), ['secret is not for you']);
  assert.equal(seen.validations, 4);
  assert.deepEqual(seen.parses, ['{ secret }']);
});

test('a text that does not parse fails the same way every time, parsed once', async () => {
  const seen = counting();
  const send = gateway([seen.plugin]);
  const first = await send('{ hello');
  const second = await send('{ hello');
  assert.match(first.errors?.[0]?.message ?? '', /Syntax Error/);
  assert.deepEqual(second, first);
  assert.equal(seen.parses.length, 1);
});

test('what is kept is bounded by count and by the size of the texts', async () => {
  const seen = counting();
  // The plugin alone with small bounds, Yoga's own cache off as in buildYoga.
  const bounded = createYoga({ schema, logging: false, parserAndValidationCache: false, plugins: [seen.plugin, useDocumentCache({ maxDocuments: 2, maxTextSize: 40 })] });
  const send = (query: string) =>
    bounded.fetch('http://localhost/graphql', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) });
  const long = `{ hello ${'a: hello '.repeat(5)}}`; // 55 characters: over maxTextSize, never kept
  await send(long);
  await send(long);
  assert.equal(seen.parses.filter((p) => p === long).length, 2);
  for (const q of ['{ a: hello }', '{ b: hello }', '{ c: hello }', '{ a: hello }']) await send(q);
  // Two kept at most: '{ a: hello }' was pushed out by the third and parsed again.
  assert.equal(seen.parses.filter((p) => p === '{ a: hello }').length, 2);
});
