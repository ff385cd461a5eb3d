/**
 * The whole subgraph schema from a document: operations as root fields, then
 * what the descriptor adds on top (connections, links, joins, entity entry
 * points). Built once at load; nothing here runs per request except the
 * resolvers it creates.
 */
import {
  GraphQLBoolean,
  GraphQLObjectType,
  GraphQLSchema,
  getNamedType,
  isObjectType,
  isScalarType,
  isUnionType,
  validateSchema,
  type GraphQLFieldConfigMap,
  type GraphQLOutputType,
} from 'graphql';
import type { Descriptor } from '../../config/descriptor.js';
import { displayPath } from '../../config/load.js';
import type { OpenapiDescriptor } from '../../config/openapi.js';
import { withListSize } from '../../list-size.js';
import { scopeOf } from '../../request-scope.js';
import type { MergedTypeConfig } from '@graphql-tools/delegate';
import type { OpenapiDocument } from './document.js';
import { addDownloadFields, type Downloads } from './downloads.js';
import { missingProperty } from './errors.js';
import type { RestClient } from './client.js';
import { analyzeOperations } from './bulk.js';
import { documentMistakes } from './document-check.js';
import { addEntityFields } from './entities.js';
import { addJoins } from './joins.js';
import { addLinks, rememberRequest } from './links.js';
import { operationListSize } from './list-size.js';
import { SchemaMapper } from './mapping.js';
import { buildOperations, operationField, selects, type Operation } from './operations.js';
import type { CursorSeal } from './cursors.js';
import { addConnections } from './pagination.js';

const isUrl = (s: string): boolean => /^https?:\/\//i.test(s);

export type OpenapiSourceDescriptor = OpenapiDescriptor & Descriptor;

export interface BuildContext {
  descriptor: OpenapiSourceDescriptor;
  document: OpenapiDocument;
  mapper: SchemaMapper;
  operations: Operation[];
  client: RestClient;
  /** Seals and opens the connections' cursors. */
  cursors: CursorSeal;
  query: GraphQLFieldConfigMap<unknown, unknown>;
  mutation: GraphQLFieldConfigMap<unknown, unknown>;
  /** Problems with the descriptor's keys, reported together with the file path. */
  problems: string[];
  /** Finds an operation by operationId or "METHOD /path". */
  find(selector: string): Operation | undefined;
}

export interface BuiltSchema {
  schema: GraphQLSchema;
  /** Proposed entity keys, bulk endpoints and N+1 joins (for `tessera check`; computed on demand). */
  joins: () => JoinReport;
  operations: Operation[];
  merge: Record<string, MergedTypeConfig>;
  problems: string[];
  /** What the user should hear about but that does not stop the load (`tessera check` prints them, the load logs them). */
  warnings: string[];
  /** The signed links of `<field>Url` fields (binary.url), when there are any. */
  downloads?: Downloads;
}

export function buildOpenapiSchema(document: OpenapiDocument, descriptor: OpenapiSourceDescriptor, client: RestClient, cursors: CursorSeal): BuiltSchema {
  const mapper = new SchemaMapper(document.root, {
    nullability: descriptor.nullability,
    violation: (type, property) => missingProperty(descriptor, type, property),
  });
  // Broken $refs and invalid types stop the load, unless the descriptor asked for leniency (they then map to JSON).
  const shown = isUrl(document.location) ? document.location : displayPath(document.location);
  const mistakes = documentMistakes(document.root, document.version).map((m) => `source: ${shown}${m}`);
  const operations = buildOperations(document.root, mapper, descriptor.operations, descriptor.headers);
  const warnings = [...(descriptor.nullability === 'lenient' ? mistakes : []), ...sharedOperationIds(operations)];
  const ctx: BuildContext = {
    descriptor,
    document,
    mapper,
    operations,
    client,
    cursors,
    query: {},
    mutation: {},
    problems: descriptor.nullability === 'lenient' ? [] : mistakes,
    find: (selector) => operations.find((op) => selects([selector], op.id, op.method, op.path)),
  };
  const linked = addLinks(ctx);
  for (const op of operations) {
    const remember = linked.has(op);
    const resolve = async (_source: unknown, args: Record<string, unknown>, context: unknown): Promise<unknown> => {
      const { value } = await client.call(op.compiled, args, scopeOf(context));
      if (remember) rememberRequest(value, args);
      return value;
    };
    (op.root === 'Query' ? ctx.query : ctx.mutation)[op.fieldName] = withListSize(operationField(op, resolve), operationListSize(ctx, op));
  }
  const downloads = addDownloadFields(ctx);
  addConnections(ctx);
  addJoins(ctx);
  const merge = addEntityFields(ctx);

  if (Object.keys(ctx.query).length === 0) {
    // GraphQL needs a Query type; a document with only writes still gets one.
    ctx.query._noQueries = { type: GraphQLBoolean, description: 'This REST service has no read operations.', resolve: () => null };
  }
  const schema = new GraphQLSchema({
    query: new GraphQLObjectType({ name: 'Query', fields: ctx.query }),
    mutation: Object.keys(ctx.mutation).length > 0 ? new GraphQLObjectType({ name: 'Mutation', fields: ctx.mutation }) : undefined,
  });
  const errors = validateSchema(schema);
  if (errors.length > 0) ctx.problems.push(...errors.slice(0, 5).map((e) => `generated schema is invalid: ${e.message}`));
  else {
    const reaches = int64Reach(schema);
    for (const op of operations) if (op.compiled.response.kind === 'json') op.compiled.response.int64 = reaches(op.type);
  }
  warnings.push(...mapper.warnings.map((w) => `source: ${shown}${w.startsWith('#') ? '' : ': '}${w}`));
  return { schema, operations, merge, problems: ctx.problems, warnings, joins: () => joinReport(ctx), downloads };
}

/**
 * Operations that share an operationId: each still gets a field (the later
 * ones numbered), but descriptor keys that name the operationId select the
 * first one only.
 */
function sharedOperationIds(operations: Operation[]): string[] {
  const byId = new Map<string, Operation[]>();
  for (const op of operations) if (op.id !== undefined) byId.set(op.id, [...(byId.get(op.id) ?? []), op]);
  return [...byId]
    .filter(([, ops]) => ops.length > 1)
    .map(([id, ops]) => {
      const list = ops.map((op) => `${op.method} ${op.path} (field ${op.root}.${op.fieldName})`).join(', ');
      return `operationId "${id}" is used by ${ops.length} operations: ${list}; descriptor keys naming "${id}" select the first`;
    });
}

/**
 * Which types reach the Int64 scalar through their fields (joins and links
 * included, which only errs toward the exact parse): the types holding one
 * directly, then their holders, until nothing changes.
 */
function int64Reach(schema: GraphQLSchema): (type: GraphQLOutputType) => boolean {
  const reaching = new Set<string>(['BigInt']);
  const composite = Object.values(schema.getTypeMap()).filter((t) => !t.name.startsWith('__') && (isObjectType(t) || isUnionType(t)));
  for (let changed = true; changed; ) {
    changed = false;
    for (const type of composite) {
      if (reaching.has(type.name)) continue;
      const parts = isUnionType(type) ? type.getTypes() : Object.values((type as GraphQLObjectType).getFields()).map((f) => getNamedType(f.type));
      if (parts.some((p) => reaching.has(p.name))) {
        reaching.add(type.name);
        changed = true;
      }
    }
  }
  const int64 = schema.getType('BigInt');
  return (type) => int64 !== undefined && isScalarType(int64) && reaching.has(getNamedType(type).name);
}

export interface JoinReport {
  /** `GET /products/{id}` → Product resolvable by `id`. */
  entities: Array<{ type: string; key: string; operation: string }>;
  /** Endpoints that fetch many of a type at once. */
  bulk: Array<{ type: string; operation: string; parameter: string; key: string }>;
  /** Types fetched one at a time only: joining them costs one call per parent. */
  nPlusOne: string[];
  /**
   * Joins the descriptor declares that make one call per parent (descriptor
   * `joins` without `batch`, entity entry points served by a single endpoint),
   * with the bulk endpoint that could batch them when the document has one.
   */
  unbatched: Array<{ join: string; operation: string; bulk?: { operation: string; parameter: string } }>;
  /** Types the descriptor's `joins` already fetch through a bulk endpoint (`batch:`): no batching advice for them. */
  batched: string[];
}

function joinReport(ctx: BuildContext): JoinReport {
  const analysis = analyzeOperations(ctx);
  const label = (op: Operation): string => op.id ?? `${op.method} ${op.path}`;
  const bulkOf = (typeName: string): { operation: string; parameter: string } | undefined => {
    const b = analysis.bulks.get(typeName);
    return b ? { operation: label(b.operation), parameter: b.parameter } : undefined;
  };
  const unbatched: JoinReport['unbatched'] = [];
  const batched = new Set<string>();
  for (const [coordinate, join] of Object.entries(ctx.descriptor.joins)) {
    const target = ctx.find(join.operation);
    if (!target) continue;
    if (join.batch) batched.add(getNamedType(target.type).name);
    else unbatched.push({ join: coordinate, operation: label(target), bulk: bulkOf(getNamedType(target.type).name) });
  }
  for (const [typeName, entity] of Object.entries(ctx.descriptor.entities)) {
    const single = analysis.singles.get(typeName);
    const generated = entity.resolvable && entity.batch && !ctx.operations.some((op) => op.fieldName === entity.batch!.field);
    if (generated && single && !ctx.descriptor.bulk[typeName] && !analysis.bulks.has(typeName)) {
      unbatched.push({ join: `entities.${typeName}`, operation: label(single.operation) });
    }
  }
  return {
    entities: [...analysis.singles].map(([type, s]) => ({ type, key: s.key, operation: label(s.operation) })),
    bulk: [...analysis.bulks].map(([type, b]) => ({ type, operation: label(b.operation), parameter: b.parameter, key: b.key })),
    nPlusOne: analysis.nPlusOne,
    unbatched,
    batched: [...batched].sort(),
  };
}
