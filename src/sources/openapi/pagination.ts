/**
 * Paginated list operations as Relay connections (the Relay Cursor
 * Connections spec): `listProducts(page, per_page)` gains
 * `listProductsConnection(first, after)`, which walks upstream pages (offset,
 * page number, cursor, next URL or `Link: rel="next"`) until it has `first`
 * items, at most `maxPages` pages per call.
 *
 * A cursor is opaque to clients: the upstream page it came from and how many
 * items of that page to skip, sealed (cursors.ts) and bound to the field, its
 * other arguments and the page style, so `after` resumes exactly where the
 * previous answer stopped and can say nothing else. A next-page URL an
 * upstream gives is followed only when it is a GET of the same operation on
 * the upstream itself (RestClient.nextPage).
 */
import {
  GraphQLBoolean,
  GraphQLInt,
  GraphQLList,
  GraphQLNonNull,
  GraphQLObjectType,
  GraphQLString,
  getNamedType,
  isListType,
  isNonNullType,
  type GraphQLArgumentConfig,
  type GraphQLOutputType,
} from 'graphql';
import type { OpenapiPagination } from '../../config/openapi.js';
import { TesseraError } from '../../errors.js';
import { LIST_SIZE_KEY, type ListSize } from '../../list-size.js';
import { scopeOf, type RequestScope } from '../../request-scope.js';
import { canonicalArguments, type PageRef, type Position } from './cursors.js';
import { pointerReader, type Json } from './document.js';
import type { RestResult } from './client.js';
import { listShape } from './bulk.js';
import { upperFirst } from './names.js';
import type { Operation } from './operations.js';
import type { BuildContext } from './schema.js';

/** An edge before its cursor is sealed: sealing happens only for the cursors a query selects. */
interface Edge {
  at: Position;
  node: unknown;
  seal: (p: Position) => string;
}

const isCount = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;

/**
 * The position in a cursor that opened (so the gateway sealed it), checked
 * against the page style all the same and with its page size clamped to
 * maxPageSize: a key that leaked must not let a client ask for more.
 */
function checkedPosition(p: Position, config: OpenapiPagination): Position | undefined {
  if (p === null || typeof p !== 'object' || !isCount(p.s) || p.r === null || typeof p.r !== 'object') return undefined;
  const r = p.r as Record<string, unknown>;
  switch (config.type) {
    case 'offset':
      return isCount(r.o) ? { r: { o: r.o }, s: p.s } : undefined;
    case 'page':
      return isCount(r.p) && isCount(r.z) && r.z >= 1 ? { r: { p: r.p, z: Math.min(r.z, config.maxPageSize) }, s: p.s } : undefined;
    case 'cursor':
      return typeof r.c === 'string' || r.c === null ? { r: { c: r.c }, s: p.s } : undefined;
    default:
      return typeof r.u === 'string' || r.u === null ? { r: { u: r.u }, s: p.s } : undefined;
  }
}

/** Query parameters that set a page's size (also read by list-size.ts for the cost estimate). */
export const LIMIT_NAMES = ['limit', 'per_page', 'perPage', 'page_size', 'pageSize', 'size', 'count', 'max_results', 'maxResults'];
const CURSOR_NAMES = ['cursor', 'after', 'page_token', 'pageToken', 'starting_after', 'next_token', 'nextToken', 'continuation'];
const NEXT_NAMES = ['next_cursor', 'nextCursor', 'next_page_token', 'nextPageToken', 'next_token', 'nextToken', 'cursor'];

function properties(ctx: BuildContext, schema: Json | undefined): Record<string, Json> {
  const p = ctx.mapper.effective(schema).schema.properties;
  return p !== null && typeof p === 'object' && !Array.isArray(p) ? p : {};
}

/** What the document makes plain, or undefined. */
export function detectPagination(ctx: BuildContext, op: Operation): OpenapiPagination | undefined {
  const params = new Set([...op.parameters.values()].filter((p) => p.in === 'query').map((p) => p.name as string));
  const limit = LIMIT_NAMES.find((n) => params.has(n));
  const list = listShape(ctx, op);
  const items = list?.property;
  const base = { items, maxPageSize: 100, maxPages: 10 };
  if (params.has('offset') && limit) return { type: 'offset', offset: 'offset', limit, ...base };
  if (params.has('page') && limit) return { type: 'page', page: 'page', size: limit, firstPage: 1, ...base };
  const cursor = CURSOR_NAMES.find((n) => params.has(n));
  const props = properties(ctx, op.responseSchema);
  if (cursor && limit) {
    const next = NEXT_NAMES.find((n) => n in props);
    if (next) return { type: 'cursor', cursor, limit, next, ...base };
  }
  if ('next' in props && list) return { type: 'nextUrl', next: 'next', limit, ...base };
  return undefined;
}

/** Reads the `next` property (a plain name or a JSON pointer) of a page; the pointer is parsed here, once. */
function nextReader(path: string): (value: unknown) => unknown {
  const read = path.startsWith('/') ? pointerReader(`#${path}`) : (value: unknown) => (value as Record<string, unknown>)[path];
  return (value) => (value === null || typeof value !== 'object' ? undefined : read(value));
}

function linkNext(header: string | string[] | undefined): string | null {
  const text = Array.isArray(header) ? header.join(',') : header;
  if (!text) return null;
  for (const part of text.split(/,(?=\s*<)/)) {
    const m = /<([^>]*)>\s*;(.*)$/.exec(part.trim());
    if (m && /rel="?([^"]*\s)?next(\s[^"]*)?"?/i.test(m[2]!)) return m[1]!;
  }
  return null;
}

export function addConnections(ctx: BuildContext): void {
  let pageInfo: GraphQLObjectType | undefined;
  for (const [selector, declared] of Object.entries(ctx.descriptor.pagination)) {
    const at = `pagination.${selector}`;
    const op = ctx.find(selector);
    if (!op || op.root !== 'Query') {
      ctx.problems.push(`${at}: ${op ? 'only GET operations can be paginated' : 'no such operation in the document'}`);
      continue;
    }
    const config = declared === 'auto' ? detectPagination(ctx, op) : declared;
    if (!config) {
      ctx.problems.push(`${at}: no pagination parameters recognised; declare them (type: offset | page | cursor | nextUrl | link)`);
      continue;
    }
    let itemType: GraphQLOutputType | undefined;
    const respType = isNonNullType(op.type) ? op.type.ofType : op.type;
    if (config.items) {
      const prop = properties(ctx, op.responseSchema)[config.items];
      const t = prop === undefined ? undefined : ctx.mapper.outputType(prop, `${upperFirst(op.fieldName)}${upperFirst(config.items)}`);
      if (t && isListType(t)) itemType = t.ofType;
    } else if (isListType(respType)) {
      itemType = respType.ofType;
    }
    if (!itemType) {
      ctx.problems.push(`${at}: ${config.items ? `the response has no array property "${config.items}"` : 'the response is not an array; name the property holding the items with `items`'}`);
      continue;
    }
    pageInfo ??= new GraphQLObjectType({
      // Reserved in the name registry, so a document's own PageInfo becomes PageInfo2.
      name: 'PageInfo',
      fields: {
        hasNextPage: { type: new GraphQLNonNull(GraphQLBoolean) },
        endCursor: { type: GraphQLString, resolve: (info: { end?: Edge }) => (info.end ? info.end.seal(info.end.at) : null) },
      },
    });
    const itemName = getNamedType(itemType).name;
    const edge = new GraphQLObjectType({
      name: ctx.mapper.types.claim(`${upperFirst(op.fieldName)}Edge`),
      fields: { cursor: { type: new GraphQLNonNull(GraphQLString), resolve: (e: Edge) => e.seal(e.at) }, node: { type: itemType } },
    });
    const connection = new GraphQLObjectType({
      name: ctx.mapper.types.claim(`${upperFirst(op.fieldName)}Connection`),
      description: `Pages of ${itemName} from ${op.id ?? `${op.method} ${op.path}`}.`,
      fields: {
        edges: { type: new GraphQLNonNull(new GraphQLList(new GraphQLNonNull(edge))) },
        nodes: { type: new GraphQLNonNull(new GraphQLList(itemType)), resolve: (c: { edges: Array<{ node: unknown }> }) => c.edges.map((e) => e.node) },
        pageInfo: { type: new GraphQLNonNull(pageInfo) },
      },
    });
    const pagingParams = new Set<string>(
      [
        'offset' in config ? config.offset : undefined,
        'page' in config ? config.page : undefined,
        'size' in config ? config.size : undefined,
        'cursor' in config ? config.cursor : undefined,
        'limit' in config ? config.limit : undefined,
      ]
        .filter((n): n is string => Boolean(n))
        .map((n) => op.argOf.get(n))
        .filter((n): n is string => Boolean(n)),
    );
    const args: Record<string, GraphQLArgumentConfig> = {};
    for (const [name, arg] of Object.entries(op.args)) if (!pagingParams.has(name)) args[name] = arg;
    args.first = { type: GraphQLInt, description: `How many items (default ${Math.min(20, config.maxPageSize)}).` };
    args.after = { type: GraphQLString, description: 'The endCursor (or an edge cursor) of an earlier answer.' };
    const name = `${op.fieldName}Connection`;
    if (ctx.query[name]) {
      ctx.problems.push(`${at}: Query.${name} already exists`);
      continue;
    }
    const readNext = config.type === 'cursor' || config.type === 'nextUrl' ? nextReader(config.next) : undefined;
    // What a cursor is bound to besides the other arguments; NUL cannot occur in a GraphQL name.
    const binding = `${ctx.descriptor.name}\0Query.${name}\0${config.type}\0`;
    ctx.query[name] = {
      type: connection,
      args,
      description: `${op.description ? `${op.description}\n\n` : ''}As a Relay connection.`,
      // For the cost estimate: `first` items (default and cap as paginate() applies them) in edges and nodes.
      extensions: { [LIST_SIZE_KEY]: { slicingArguments: ['first'], sizedFields: ['edges', 'nodes'], assumedSize: Math.min(20, config.maxPageSize), maxSize: config.maxPageSize * config.maxPages } satisfies ListSize },
      resolve: (_source, fieldArgs, context) => paginate(ctx, op, config, { readNext, binding, field: `Query.${name}` }, fieldArgs as Record<string, unknown>, scopeOf(context)),
    };
  }
}

interface ConnectionParts {
  readNext: ((value: unknown) => unknown) | undefined;
  /** Subgraph, field and page style, for the cursor binding. */
  binding: string;
  /** `Query.<name>`, for messages. */
  field: string;
}

async function paginate(
  ctx: BuildContext,
  op: Operation,
  config: OpenapiPagination,
  { readNext, binding: connectionBinding, field }: ConnectionParts,
  fieldArgs: Record<string, unknown>,
  scope: RequestScope,
) {
  const { first: firstArg, after, ...rest } = fieldArgs;
  const binding = connectionBinding + canonicalArguments(rest);
  const seal = (p: Position): string => ctx.cursors.seal(p, binding);
  const first = Math.max(0, Math.min(typeof firstArg === 'number' ? firstArg : Math.min(20, config.maxPageSize), config.maxPageSize * config.maxPages));
  const arg = (param: string | undefined): string | undefined => (param ? op.argOf.get(param) : undefined);
  const limitArg = arg('limit' in config ? config.limit : 'size' in config ? config.size : undefined);

  let position: Position;
  if (typeof after === 'string') {
    const opened = ctx.cursors.open(after, binding);
    const checked = opened && checkedPosition(opened, config);
    if (!checked) {
      throw new TesseraError(
        'BAD_REQUEST',
        `"after" is not a cursor returned by this connection (${field} of subgraph "${ctx.descriptor.name}" with these arguments): ` +
          'it was edited, comes from another connection or other arguments, or was issued by a gateway with another security.cursors.secret',
        { extensions: { subgraph: ctx.descriptor.name } },
      );
    }
    position = checked;
  } else {
    switch (config.type) {
      case 'offset':
        position = { r: { o: 0 }, s: 0 };
        break;
      case 'page':
        position = { r: { p: config.firstPage, z: Math.min(first || 1, config.maxPageSize) }, s: 0 };
        break;
      case 'cursor':
        position = { r: { c: null }, s: 0 };
        break;
      default:
        position = { r: { u: null }, s: 0 };
    }
  }

  const fetchPage = async (ref: PageRef, want: number): Promise<{ items: unknown[]; next?: PageRef }> => {
    const args: Record<string, unknown> = { ...rest };
    const size = Math.max(1, Math.min(want, config.maxPageSize));
    let result: RestResult;
    if ('o' in ref) {
      args[arg((config as { offset: string }).offset)!] = ref.o;
      if (limitArg) args[limitArg] = size;
    } else if ('p' in ref) {
      args[arg((config as { page: string }).page)!] = ref.p;
      if (limitArg) args[limitArg] = ref.z;
    } else if ('c' in ref) {
      if (ref.c !== null) args[arg((config as { cursor: string }).cursor)!] = ref.c;
      if (limitArg) args[limitArg] = size;
    } else if (limitArg) {
      args[limitArg] = size;
    }
    if ('u' in ref && ref.u !== null) result = await ctx.client.follow(op.compiled, ref.u, scope);
    else result = await ctx.client.call(op.compiled, args, scope);
    const value = result.value;
    const list = config.items ? (value as Record<string, unknown> | null)?.[config.items] : value;
    const items = Array.isArray(list) ? list : [];
    let next: PageRef | undefined;
    if ('o' in ref) next = limitArg && items.length >= size ? { o: ref.o + items.length } : undefined;
    else if ('p' in ref) next = items.length >= ref.z ? { p: ref.p + 1, z: ref.z } : undefined;
    else if (config.type === 'cursor') {
      const c = readNext!(value);
      next = typeof c === 'string' && c !== '' ? { c } : typeof c === 'number' ? { c: String(c) } : undefined;
    } else {
      const u = config.type === 'nextUrl' ? readNext!(value) : linkNext(result.headers.link);
      // Checked now, so a cursor only ever holds a path the gateway would call.
      next = typeof u === 'string' && u !== '' ? { u: ctx.client.nextPage(op.compiled, u) } : undefined;
    }
    return { items, next };
  };

  const edges: Edge[] = [];
  let hasNextPage = false;
  let ref = position.r;
  let skip = position.s;
  for (let pages = 0; edges.length < first; pages++) {
    if (pages >= config.maxPages) {
      hasNextPage = true;
      break;
    }
    const page = await fetchPage(ref, first - edges.length + skip);
    for (let i = skip; i < page.items.length; i++) {
      if (edges.length === first) {
        hasNextPage = true;
        break;
      }
      let at: Position;
      if ('o' in ref) at = { r: { o: ref.o + i + 1 }, s: 0 };
      else if (i + 1 >= page.items.length && page.next) at = { r: page.next, s: 0 };
      else at = { r: ref, s: i + 1 };
      edges.push({ at, node: page.items[i], seal });
    }
    if (edges.length === first) {
      hasNextPage ||= Boolean(page.next);
      break;
    }
    if (!page.next || page.items.length === 0) break;
    ref = page.next;
    skip = 0;
  }
  return { edges, pageInfo: { hasNextPage, end: edges.at(-1) } };
}
