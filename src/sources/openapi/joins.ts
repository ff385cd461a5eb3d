/**
 * Descriptor joins (`joins: { Order.customer: … }`): a field on a type that
 * calls another operation with values of the parent; with `batch`, the keys
 * of one request are collected by a DataLoader and sent in one bulk call,
 * otherwise one call per distinct key (identical GETs are shared) with at
 * most `concurrency` in flight.
 */
import DataLoader from 'dataloader';
import { GraphQLList } from 'graphql';
import type { RequestScope } from '../../request-scope.js';
import { scopeOf } from '../../request-scope.js';
import type { BuildContext } from './schema.js';
import {
  findType,
  isArrayProperty,
  listShape,
  unwrapNullable,
  type BulkEndpoint,
} from './bulk.js';
import { callOne, fetchBulk, fetchOne } from './key-calls.js';

export function addJoins(ctx: BuildContext): void {
  const where = 'joins';
  for (const [coordinate, join] of Object.entries(ctx.descriptor.joins)) {
    const [typeName, field] = coordinate.split('.') as [string, string];
    const at = `${where}.${coordinate}`;
    const parent = findType(ctx, typeName);
    if (!parent) {
      ctx.problems.push(`${at}: the document has no object type ${typeName}`);
      continue;
    }
    const target = ctx.find(join.operation);
    if (!target) {
      ctx.problems.push(`${at}.operation: no operation "${join.operation}" in the document`);
      continue;
    }
    const parentSchema = ctx.mapper.objectTypes.get(parent.name)!.schema;
    if (ctx.mapper.outputFieldNames(parentSchema).has(field)) {
      ctx.problems.push(`${at}: ${typeName} already has a field "${field}"`);
      continue;
    }
    let mapping = join.arguments;
    if (!mapping) {
      const required = [...target.parameters.values()].filter((p) => p.in === 'path' || p.required === true).map((p) => p.name as string);
      if (!join.from || required.length !== 1) {
        ctx.problems.push(`${at}: give \`arguments: { <parameter>: <field of ${typeName}> }\`${join.from ? ` (${target.id ?? target.path} has ${required.length} required parameters)` : ', or `from` for an operation with one required parameter'}`);
        continue;
      }
      mapping = { [required[0]!]: join.from };
    }
    const pairs: Array<[string, string]> = [];
    for (const [param, from] of Object.entries(mapping)) {
      const arg = target.argOf.get(param);
      if (!arg) ctx.problems.push(`${at}.arguments.${param}: ${target.id ?? target.path} has no parameter "${param}"`);
      else pairs.push([arg, from]);
    }
    if (pairs.length !== Object.keys(mapping).length) continue;
    // A key that is a list (`productIds: [..]`) joins a list: one item per key, in the parent's order.
    const listKey = pairs.length === 1 && isArrayProperty(ctx, parentSchema, pairs[0]![1]);

    let resolve: (parent: Record<string, unknown>, args: unknown, context: unknown) => unknown;
    if (join.batch) {
      const batch = join.batch;
      const bulkOp = ctx.find(batch.operation);
      const list = bulkOp ? listShape(ctx, bulkOp) : undefined;
      const inBody = Boolean(bulkOp && !bulkOp.argOf.has(batch.parameter) && bulkOp.compiled.body);
      if (!bulkOp || !list || (!bulkOp.argOf.has(batch.parameter) && !inBody)) {
        ctx.problems.push(`${at}.batch: ${!bulkOp ? `no operation "${batch.operation}"` : !list ? `${batch.operation} does not return a list of objects` : `${batch.operation} has no parameter "${batch.parameter}"`}`);
        continue;
      }
      const bulk: BulkEndpoint = { operation: bulkOp, parameter: batch.parameter, key: batch.key, list, inBody };
      const from = pairs[0]![1];
      const memoKey = `openapi:join:${ctx.descriptor.name}:${coordinate}`;
      const loaderFor = (scope: RequestScope): DataLoader<unknown, unknown, string> => {
        let loader = scope.memo.get(memoKey) as DataLoader<unknown, unknown, string> | undefined;
        if (!loader) {
          loader = new DataLoader(
            async (keys) => {
              const index = await fetchBulk(ctx, bulk, keys, batch.maxKeys, scope);
              return keys.map((k) => index.get(String(k)) ?? null);
            },
            { cacheKeyFn: String, maxBatchSize: batch.maxKeys * 10 },
          );
          scope.memo.set(memoKey, loader);
        }
        return loader;
      };
      resolve = (parentValue, _args, context) => {
        const key = parentValue[from];
        if (key === undefined || key === null) return null;
        const loader = loaderFor(scopeOf(context));
        if (!listKey) return loader.load(key);
        if (!Array.isArray(key)) return null;
        // Every key of every parent in the request goes into the same bulk call(s); an item that failed is an error at its index.
        return Promise.all(key.map((k: unknown) => (k === undefined || k === null ? null : loader.load(k).catch((error: unknown) => error))));
      };
    } else if (listKey) {
      const [arg, from] = pairs[0]!;
      const single = { operation: target, arg };
      resolve = (parentValue, _args, context) => {
        const keys = parentValue[from];
        if (!Array.isArray(keys)) return null;
        const scope = scopeOf(context);
        // Identical GETs are shared within the request, at most `concurrency` in flight; 404 is a null item.
        return Promise.all(keys.map((k: unknown) => (k === undefined || k === null ? null : fetchOne(ctx, single, k, scope))));
      };
    } else {
      resolve = async (parentValue, _args, context) => {
        const args: Record<string, unknown> = {};
        for (const [arg, from] of pairs) {
          const v = parentValue[from];
          if (v === undefined || v === null) return null;
          args[arg] = v;
        }
        const out = await callOne(ctx, target, args, scopeOf(context));
        if (out instanceof Error) throw out;
        return out;
      };
    }
    const item = unwrapNullable(target.type);
    const type = listKey ? new GraphQLList(item) : item;
    ctx.mapper.addFields(parent.name, () => ({
      [field]: {
        type,
        description: `Joined from ${target.id ?? `${target.method} ${target.path}`}.`,
        resolve: resolve as never,
      },
    }));
  }
}
