/**
 * OpenAPI links (OpenAPI 3.1 section 4.8.20) as nested fields: a link named
 * `owner` on the response of `getRepository` becomes `Repository.owner`,
 * resolved by calling the linked operation with parameters taken from the
 * parent object (`$response.body#/owner_id`), from the request that produced
 * it (`$request.path.id`), or constants.
 */
import type { GraphQLFieldConfigMap } from 'graphql';
import { getNamedType, isObjectType } from 'graphql';
import { scopeOf } from '../../request-scope.js';
import type { Json, JsonObject } from './document.js';
import { pointerReader } from './document.js';
import { deref, type Operation } from './operations.js';
import { fieldName } from './names.js';
import type { BuildContext } from './schema.js';

/** The GraphQL arguments of the call that produced a response object (for `$request.*` expressions). */
const requests = new WeakMap<object, Record<string, unknown>>();

export function rememberRequest(value: unknown, args: Record<string, unknown>): void {
  if (value !== null && typeof value === 'object') requests.set(value, args);
}

type Getter = (parent: Record<string, unknown>) => unknown;

function expression(source: Operation, expr: Json): Getter | undefined {
  if (typeof expr !== 'string' || !expr.startsWith('$')) return () => expr;
  const body = /^\$response\.body(?:#(.*))?$/.exec(expr);
  if (body) {
    const read = pointerReader(`#${body[1] ?? ''}`);
    return (parent) => read(parent);
  }
  const request = /^\$request\.(path|query|header)\.(.+)$/.exec(expr);
  if (request) {
    const arg = source.argOf.get(request[2]!);
    if (!arg) return undefined;
    return (parent) => requests.get(parent)?.[arg];
  }
  return undefined;
}

/** Adds link fields; returns the operations whose results must remember their request. */
export function addLinks(ctx: BuildContext): Set<Operation> {
  const remember = new Set<Operation>();
  for (const op of ctx.operations) {
    const links = deref(ctx.document.root, op.response?.links);
    if (!links) continue;
    const parentType = getNamedType(op.type);
    if (!isObjectType(parentType)) continue;
    const fields: GraphQLFieldConfigMap<unknown, unknown> = {};
    for (const [linkName, value] of Object.entries(links)) {
      const link = deref(ctx.document.root, value);
      if (!link) continue;
      let target: Operation | undefined;
      if (typeof link.operationId === 'string') target = ctx.find(link.operationId);
      else if (typeof link.operationRef === 'string') {
        const m = /^#\/paths\/([^/]+)\/(\w+)$/.exec(link.operationRef);
        if (m) target = ctx.find(`${m[2]!.toUpperCase()} ${m[1]!.replace(/~1/g, '/').replace(/~0/g, '~')}`);
      }
      if (!target || target.root !== 'Query') continue;
      const getters: Array<[string, Getter]> = [];
      let usable = true;
      for (const [param, expr] of Object.entries((link.parameters ?? {}) as JsonObject)) {
        const arg = target.argOf.get(param.replace(/^(path|query|header|cookie)\./, ''));
        const get = expression(op, expr);
        if (!arg || !get) {
          usable = false;
          break;
        }
        if (typeof expr === 'string' && expr.startsWith('$request.')) remember.add(op);
        getters.push([arg, get]);
      }
      if (!usable) continue;
      const callee = target;
      fields[fieldName(linkName)] = {
        type: callee.type,
        description: typeof link.description === 'string' ? link.description : `Follows the link "${linkName}" (${callee.id ?? `${callee.method} ${callee.path}`}).`,
        resolve: async (parent, _args, context) => {
          const args: Record<string, unknown> = {};
          for (const [arg, get] of getters) args[arg] = get(parent as Record<string, unknown>);
          const { value } = await ctx.client.call(callee.compiled, args, scopeOf(context));
          return value;
        },
      };
    }
    if (Object.keys(fields).length > 0) ctx.mapper.addFields(parentType.name, () => fields);
  }
  return remember;
}
