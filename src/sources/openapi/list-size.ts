/**
 * How many items an operation's field returns, declared for the cost
 * estimate (src/list-size.ts) from what the document and the descriptor say:
 *
 * - the size: every query parameter named like a page size (pagination.ts
 *   LIMIT_NAMES, plus `first`, `last`, `top`, `take`; case and separators
 *   ignored, so `$top` and `PageSize` count) and the one the descriptor's
 *   `pagination` declares, whatever its name, when its argument is a number
 *   or a string (an `integer` without `format: int32` is a BigInt that may
 *   arrive as "1000");
 * - the list it sizes: the response when it is an array, else the property
 *   the descriptor's `pagination.<op>.items` names, else the one
 *   array-of-objects property of the page object (joins.ts listShape);
 * - the size when none is given: the parameter's `default` in the document,
 *   else the gateway's `limits.cost.listSize`.
 *
 * The generated connections are annotated where they are built
 * (pagination.ts addConnections).
 */
import { getNamedType, isListType, isNonNullType, isScalarType, GraphQLBoolean } from 'graphql';
import type { OpenapiPagination } from '../../config/openapi.js';
import { foldName, type ListSize } from '../../list-size.js';
import { listShape } from './bulk.js';
import { LIMIT_NAMES } from './pagination.js';
import type { Operation } from './operations.js';
import type { BuildContext } from './schema.js';

const SIZE_NAMES: ReadonlySet<string> = new Set([...LIMIT_NAMES, 'first', 'last', 'top', 'take'].map(foldName));

/** The page-size parameter(s) a `pagination` entry declares for `op`, when one selects it. */
function declaredPagination(ctx: BuildContext, op: Operation): OpenapiPagination | undefined {
  for (const [selector, declared] of Object.entries(ctx.descriptor.pagination)) {
    if (declared !== 'auto' && ctx.find(selector) === op) return declared;
  }
  return undefined;
}

function numberOf(value: unknown): number | undefined {
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : undefined;
  return n !== undefined && Number.isFinite(n) && n >= 0 ? Math.ceil(n) : undefined;
}

export function operationListSize(ctx: BuildContext, op: Operation): ListSize | undefined {
  const declared = declaredPagination(ctx, op);
  const declaredSize = declared && ('limit' in declared ? declared.limit : 'size' in declared ? declared.size : undefined);
  const slicingArguments: string[] = [];
  let assumedSize: number | undefined;
  for (const [name, parameter] of op.parameters) {
    if (parameter.in !== 'query' || (name !== declaredSize && !SIZE_NAMES.has(foldName(name)))) continue;
    const argument = op.argOf.get(name);
    const config = argument === undefined ? undefined : op.args[argument];
    if (!config) continue;
    const type = isNonNullType(config.type) ? config.type.ofType : config.type;
    if (isListType(type) || !isScalarType(getNamedType(type)) || getNamedType(type) === GraphQLBoolean) continue;
    slicingArguments.push(argument!);
    assumedSize ??= numberOf(ctx.mapper.effective(parameter.schema).schema.default);
  }
  if (slicingArguments.length === 0) return undefined;

  const type = isNonNullType(op.type) ? op.type.ofType : op.type;
  if (isListType(type)) return { slicingArguments, sizedFields: [], assumedSize };
  const property = declared?.items ?? listShape(ctx, op)?.property;
  if (property === undefined || op.responseSchema === undefined) return undefined;
  const field = ctx.mapper.outputFieldNames(ctx.mapper.effective(op.responseSchema).schema).get(property);
  return field === undefined ? undefined : { slicingArguments, sizedFields: [field], assumedSize };
}
