/**
 * Entity entry points: when `entities.X.batch.field` (or `entities.X.field`)
 * names a field the document does not have, it is generated from X's bulk
 * endpoint (results reordered to match the keys, missing ones null), or from
 * its single endpoint called per key.
 */
import type { MergedTypeConfig } from '@graphql-tools/delegate';
import { GraphQLID, GraphQLList, GraphQLNonNull } from 'graphql';
import { scopeOf } from '../../request-scope.js';
import type { BuildContext } from './schema.js';
import { analyzeOperations, findType, listShape, type BulkEndpoint } from './bulk.js';
import { fetchBulk, fetchOne } from './key-calls.js';

/**
 * Entity entry points named in `entities:` that the document does not have
 * as operations. Returns merge config only where compose/ cannot derive it.
 */
export function addEntityFields(ctx: BuildContext): Record<string, MergedTypeConfig> {
  const entities = ctx.descriptor.entities;
  if (Object.keys(entities).length === 0) return {};
  const analysis = analyzeOperations(ctx);
  for (const [typeName, entity] of Object.entries(entities)) {
    if (!entity.resolvable) continue;
    const at = `entities.${typeName}`;
    const fieldName = entity.batch?.field ?? entity.field;
    const argument = entity.batch?.argument ?? entity.argument;
    if (!fieldName || !argument || ctx.query[fieldName]) continue;
    const type = findType(ctx, typeName);
    if (!type) {
      ctx.problems.push(`${at}: the document has no object type ${typeName}`);
      continue;
    }
    const declared = ctx.descriptor.bulk[typeName];
    let bulk: BulkEndpoint | undefined;
    let maxKeys = 100;
    if (declared) {
      const op = ctx.find(declared.operation);
      const list = op ? listShape(ctx, op) : undefined;
      if (!op || !list) {
        ctx.problems.push(`bulk.${typeName}.operation: ${!op ? `no operation "${declared.operation}" in the document` : `${declared.operation} does not return a list of ${typeName}`}`);
        continue;
      }
      const inBody = !op.argOf.has(declared.parameter) && Boolean(op.compiled.body);
      if (!op.argOf.has(declared.parameter) && !inBody) {
        ctx.problems.push(`bulk.${typeName}.parameter: ${declared.operation} has no parameter "${declared.parameter}"`);
        continue;
      }
      bulk = { operation: op, parameter: declared.parameter, key: declared.key, list, inBody };
      maxKeys = declared.maxKeys;
    } else {
      bulk = analysis.bulks.get(type.name);
    }
    const single = analysis.singles.get(type.name);
    const description = 'Entity entry point for the gateway: one result per key, in order (null where the upstream has none).';
    if (entity.batch) {
      if (bulk) {
        const b = bulk;
        ctx.query[fieldName] = {
          type: new GraphQLNonNull(new GraphQLList(type)),
          args: { [argument]: { type: new GraphQLNonNull(new GraphQLList(new GraphQLNonNull(GraphQLID))) } },
          description: `${description} Calls ${b.operation.id ?? `${b.operation.method} ${b.operation.path}`} once per ${maxKeys} keys.`,
          resolve: async (_source, args, context) => {
            const keys = args[argument] as unknown[];
            const index = await fetchBulk(ctx, b, keys, maxKeys, scopeOf(context));
            return keys.map((k) => index.get(String(k)) ?? null);
          },
        };
      } else if (single) {
        const s = { operation: single.operation, arg: single.operation.argOf.get(single.parameter)! };
        ctx.query[fieldName] = {
          type: new GraphQLNonNull(new GraphQLList(type)),
          args: { [argument]: { type: new GraphQLNonNull(new GraphQLList(new GraphQLNonNull(GraphQLID))) } },
          description: `${description} No bulk endpoint: calls ${single.operation.id ?? single.operation.path} once per key.`,
          resolve: (_source, args, context) => {
            const scope = scopeOf(context);
            return (args[argument] as unknown[]).map((k) => fetchOne(ctx, s, k, scope));
          },
        };
      } else {
        ctx.problems.push(`${at}.batch.field: the document has no operation "${fieldName}", and no endpoint that fetches ${typeName} by key was found (declare one under \`bulk.${typeName}\`)`);
      }
    } else if (single) {
      const s = { operation: single.operation, arg: single.operation.argOf.get(single.parameter)! };
      ctx.query[fieldName] = {
        type,
        args: { [argument]: { type: new GraphQLNonNull(GraphQLID) } },
        description: 'Entity entry point for the gateway: one result by key.',
        resolve: async (_source, args, context) => {
          const out = await fetchOne(ctx, s, args[argument], scopeOf(context));
          if (out instanceof Error) throw out;
          return out;
        },
      };
    } else {
      ctx.problems.push(`${at}.field: the document has no operation "${fieldName}", and no endpoint that fetches ${typeName} by key was found`);
    }
  }
  return {};
}
