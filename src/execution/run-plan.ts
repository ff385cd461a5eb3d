/**
 * Runs a query plan (planner.ts): each wave's calls go out together,
 * each entity fetch with the deduplicated keys of the objects it joins to
 * (for a federation entity, its deduplicated representations, answered by
 * `_entities` in the same order; fetches of one call that share an entity
 * field share one key list, each answer merged into every object with its key);
 * answers are merged into one data tree, and upstream errors are moved to
 * the client's paths. The caller checks the tree against the schema
 * (result-check.ts), which also removes the key fields the plan added.
 *
 * A fetch whose fields the client left out with @skip/@include (planner.ts,
 * Fetch.neededWhen) joins no objects, so a call none of whose fetches has a
 * key is not sent; a root call whose fields are all left out neither.
 *
 * A subscription's plan runs through subscribePlan: the root call is the
 * subgraph's subscription, and each event is the root answer the later waves
 * run on, as executePlan runs them for a query.
 *
 * A request whose client went away (its scope's signal aborted) stops at the
 * next wave, and the calls that failed with it place no error per object:
 * the answer is clientGone() alone, which nobody reads (docs/reliability.md
 * row 86).
 */
import { isAsyncIterable, mapAsyncIterator, type ExecutionResult } from '@graphql-tools/utils';
import { GraphQLError, type OperationTypeNode } from 'graphql';
import type { Renames } from '../compose/index.js';
import { isNeeded, type Call, type Fetch, type QueryPlan } from './planner.js';
import { represent } from '../sources/federation/representation.js';
import { ERRORS, TesseraError, withoutStackTraces } from '../errors.js';
import type { RequestScope } from '../request-scope.js';

type Data = Record<string, unknown>;

/**
 * Where an object sits in the answer, as a linked list (built as the tree is walked, read only for errors); the
 * root's key is undefined.
 */
interface PathLink {
  prev: PathLink | undefined;
  key: string | number | undefined;
}

/** An object a fetch adds fields to; itself the link of its place in the answer (one object per target, not two). */
interface Target extends PathLink {
  object: Data;
  /** Index of its key in the entity fetch's key list (-1: no complete key). */
  keyIndex: number;
}

function pathOf(link: PathLink | undefined, rest: ReadonlyArray<string | number> = []): Array<string | number> {
  const out: Array<string | number> = [];
  for (let p = link; p; p = p.prev) if (p.key !== undefined) out.push(p.key);
  out.reverse();
  for (const key of rest) out.push(key);
  return out;
}

const isObject = (value: unknown): value is Data => value !== null && typeof value === 'object' && !Array.isArray(value);

/** Adds `source`'s fields to `target`, merging objects (and lists of objects) present in both. */
function mergeInto(target: Data, source: Data): void {
  for (const key in source) {
    const value = source[key];
    const existing = target[key];
    if (existing === undefined || existing === null) target[key] = value;
    else if (isObject(existing) && isObject(value)) mergeInto(existing, value);
    else if (Array.isArray(existing) && Array.isArray(value) && existing.length === value.length) {
      for (let i = 0; i < value.length; i++) {
        const a = existing[i];
        const b = value[i];
        if (isObject(a) && isObject(b)) mergeInto(a, b);
        else if (a == null) existing[i] = b;
      }
    }
  }
}

/**
 * Turns the `__typename` answers of a renamed subgraph (in its own type
 * names) into the unified graph's names, in place: the result check resolves
 * interfaces and unions by them. Only `__typename` keys are read; the plan
 * never aliases them.
 */
function unifyTypenames(value: unknown, renames: Renames): void {
  if (Array.isArray(value)) {
    for (const item of value) unifyTypenames(item, renames);
    return;
  }
  if (!isObject(value)) return;
  for (const key in value) {
    const field = value[key];
    if (key === '__typename' && typeof field === 'string') value[key] = renames.unifiedType(field);
    else if (field !== null && typeof field === 'object') unifyTypenames(field, renames);
  }
}

/**
 * The answer to a call whose document has internal aliases (Call.internalAlias: `prefix`), with their response keys
 * back, in place in the data and in its errors' paths. No client's response key starts with the prefix (the planner
 * picks one per document that none does: AliasPrefixes).
 */
function withoutInternalAliases(result: ExecutionResult, prefix: string): ExecutionResult {
  const unaliased = (key: string | number): string | number => (typeof key === 'string' && key.startsWith(prefix) ? key.slice(prefix.length) : key);
  const rename = (value: unknown): void => {
    if (Array.isArray(value)) {
      for (const item of value) rename(item);
      return;
    }
    if (!isObject(value)) return;
    for (const key of Object.keys(value)) {
      const field = value[key];
      if (field !== null && typeof field === 'object') rename(field);
      if (key.startsWith(prefix)) {
        value[key.slice(prefix.length)] = field;
        delete value[key];
      }
    }
  };
  rename(result.data);
  if (!result.errors?.some((e) => e.path?.some((k) => unaliased(k) !== k))) return result;
  return {
    ...result,
    errors: result.errors.map((e) => (e.path ? new GraphQLError(e.message, { path: e.path.map(unaliased), extensions: e.extensions, originalError: (e as GraphQLError).originalError ?? undefined }) : e)),
  };
}

/** Objects under `parents` at `path`, lists walked through, nulls skipped; with `filters`, only the objects of a type where they say (Fetch.filters). */
function walk(parents: readonly Target[], path: readonly string[], filters?: Fetch['filters']): Target[] {
  let current: readonly Target[] = parents;
  for (let depth = 0; depth < path.length; depth++) {
    const key = path[depth]!;
    if (filters) for (const f of filters) if (f.depth === depth) current = current.filter((t) => f.typenames.includes(t.object.__typename as string));
    const next: Target[] = [];
    const visit = (value: unknown, prev: PathLink, key: string | number): void => {
      if (Array.isArray(value)) {
        const list: PathLink = { prev, key };
        for (let i = 0; i < value.length; i++) visit(value[i], list, i);
      } else if (isObject(value)) {
        next.push({ object: value, prev, key, keyIndex: -1 });
      }
    };
    for (const parent of current) visit(parent.object[key], parent, key);
    current = next;
  }
  if (filters) for (const f of filters) if (f.depth === path.length) current = current.filter((t) => f.typenames.includes(t.object.__typename as string));
  // Never the parents' own targets: keyIndex is this fetch's.
  return path.length === 0 ? current.map((t) => ({ ...t, keyIndex: -1 })) : (current as Target[]);
}

export interface PlanRequest {
  variables: Record<string, unknown> | undefined;
  context: unknown;
}

/**
 * The answer to a planned request whose client went away: one request error, no data (status 499 in the request
 * log line and REQUEST_ABORTED in the metrics); made anew per request (a plugin may add to an error).
 */
export function clientGone(): ExecutionResult {
  return {
    data: null,
    errors: [new TesseraError('REQUEST_ABORTED', 'The client went away: the gateway stopped the request.', { extensions: { http: { status: ERRORS.REQUEST_ABORTED.status } } })],
  };
}

/** Whether the request's client went away (its scope's signal aborted); false outside a request. */
export function clientGoneFrom(context: unknown): boolean {
  return (context as { tessera?: RequestScope } | undefined)?.tessera?.signal.aborted === true;
}

/** The client's variables a call's document uses. */
function variablesOf(call: Call, request: PlanRequest): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of call.variables) if (request.variables && name in request.variables) out[name] = request.variables[name];
  return out;
}

/**
 * Runs the plan; the answer is unchecked (key fields included, values as the subgraphs sent them), or
 * clientGone() when the client went away before it was done. With `rootAnswer`, the root call is not sent: its
 * answer is that (a subscription's event, subscribePlan), and the later waves run on it.
 */
export async function executePlan(plan: QueryPlan, request: PlanRequest, rootAnswer?: () => Promise<ExecutionResult>): Promise<ExecutionResult> {
  const data: Data = {};
  const errors: GraphQLError[] = [];
  const targets = new Map<Fetch, Target[]>();
  const root: Target[] = [{ object: data, prev: undefined, key: undefined, keyIndex: 0 }];
  const gone = (): boolean => clientGoneFrom(request.context);

  /**
   * The fetch failed: every field it was to fill, on every object, is null with the error, whose
   * original is the one failure (the error log tells one call from many, and finds its cause).
   * Nothing when the client went away: that answer is never built.
   */
  const fail = (fetch: Fetch, objects: readonly Target[], error: GraphQLError): void => {
    if (gone()) return;
    const originalError = error.originalError ?? error;
    withoutStackTraces(() => {
      for (const target of objects) {
        for (const field of fetch.fields) {
          errors.push(new GraphQLError(error.message, { path: pathOf(target, [field]), extensions: error.extensions, originalError }));
        }
      }
    });
  };
  const asGraphqlError = (error: unknown): GraphQLError =>
    error instanceof GraphQLError ? error : new GraphQLError(error instanceof Error ? error.message : String(error), { originalError: error instanceof Error ? error : undefined });

  const runRoot = async (call: Call): Promise<void> => {
    const fetch = call.fetches[0]!;
    // Every field it fills left out by the client's @skip/@include (Fetch.neededWhen): not sent, nothing under it joined.
    if (!isNeeded(fetch, request.variables)) {
      targets.set(fetch, []);
      return;
    }
    targets.set(fetch, root);
    let result: ExecutionResult;
    try {
      result = rootAnswer
        ? await rootAnswer()
        : ((await call.subgraph.executor({ document: call.documentFor([]), variables: variablesOf(call, request), operationType: call.operationType as OperationTypeNode, context: request.context as Record<string, unknown> })) as ExecutionResult);
    } catch (error) {
      fail(fetch, root, asGraphqlError(error));
      return;
    }
    if (call.internalAlias) result = withoutInternalAliases(result, call.internalAlias);
    const renames = call.subgraph.renames;
    if (renames?.typesRenamed) unifyTypenames(result.data, renames);
    if (isObject(result.data)) mergeInto(data, result.data);
    const upstreamErrors = (result.errors ?? []) as GraphQLError[];
    if (!isObject(result.data) && upstreamErrors.length > 0) {
      fail(fetch, root, upstreamErrors[0]!);
      errors.push(...upstreamErrors.slice(1));
    } else {
      errors.push(...upstreamErrors);
    }
  };

  const runEntities = async (call: Call): Promise<void> => {
    const variables = variablesOf(call, request);
    // Fetches sharing an entity field (the planner's wavesOf: same field, same selection) share its key list.
    const lists = new Map<string, { keys: unknown[]; seen: Map<string, number> }>();
    const prepared = call.fetches.map((fetch) => {
      const parents = fetch.parent ? targets.get(fetch.parent) ?? [] : root;
      // A fetch the client's @skip/@include leave out (Fetch.neededWhen) joins no objects: no keys, and no call when no fetch of it has any.
      const objects = isNeeded(fetch, request.variables) ? walk(parents, fetch.path, fetch.filters) : [];
      const entity = fetch.entity!;
      let list = lists.get(entity.alias);
      if (!list) lists.set(entity.alias, (list = { keys: [], seen: new Map() }));
      const { keys, seen } = list;
      const typename = entity.entry.federation?.typename;
      const single = entity.keyAliases.length === 1 && !typename;
      // A representation's values, read for each object (a nested one through its field set: sources/federation/representation.ts).
      const values: unknown[] = [];
      const shapes = entity.keyShapes;
      for (const target of objects) {
        let key: unknown;
        let id: string;
        if (single) {
          key = target.object[entity.keyAliases[0]!];
          if (key == null) continue;
          id = typeof key === 'string' ? key : JSON.stringify(key);
        } else {
          // A composite key, or a federation representation: `__typename`, key fields (never null), then @requires
          // fields, a nested one with its field set's fields alone. Its id first (of the values as sent); the object
          // is built only for a key not seen yet (most repeat in a nested answer). One string field (the usual
          // `__typename` and id): the value itself is its id, no string built.
          const aliases = entity.keyAliases;
          let complete = true;
          id = '';
          for (let i = 0; i < aliases.length && complete; i++) {
            const shape = shapes?.[i];
            const answered = target.object[aliases[i]!];
            const value = shape && answered != null ? represent(answered, shape) : answered;
            values[i] = value;
            complete = value !== undefined && !(typename && value === null && i < entity.keyCount);
            if (aliases.length === 1 && typeof value === 'string') id = value;
            else id += typeof value === 'string' ? `${value}\u0000` : `\u0001${JSON.stringify(value)}\u0000`;
          }
          if (!complete) continue;
          key = undefined;
        }
        let index = seen.get(id);
        if (index === undefined) {
          if (key === undefined) {
            const composite: Data = typename ? { __typename: typename } : {};
            const names = entity.keyNames;
            for (let i = 0; i < names.length; i++) composite[names[i]!] = values[i];
            key = composite;
          }
          index = keys.length;
          seen.set(id, index);
          keys.push(key);
        }
        target.keyIndex = index;
      }
      if (entity.entry.batch) variables[entity.variable] = keys;
      else keys.forEach((key, n) => (variables[`${entity.variable}_${n}`] = key));
      targets.set(fetch, objects);
      return { fetch, objects, keys };
    });
    if (prepared.every((p) => p.keys.length === 0)) return;
    let result: ExecutionResult;
    try {
      const document = call.documentFor(prepared.map((p) => p.keys.length));
      result = (await call.subgraph.executor({ document, variables, operationType: 'query' as OperationTypeNode, context: request.context as Record<string, unknown> })) as ExecutionResult;
    } catch (error) {
      const failure = asGraphqlError(error);
      for (const { fetch, objects } of prepared) fail(fetch, objects.filter((o) => o.keyIndex >= 0), failure);
      return;
    }
    if (call.internalAlias) result = withoutInternalAliases(result, call.internalAlias);
    const renames = call.subgraph.renames;
    if (renames?.typesRenamed) unifyTypenames(result.data, renames);
    const upstreamErrors = (result.errors ?? []) as GraphQLError[];
    const answered = isObject(result.data) ? result.data : undefined;
    /** Errors already placed as the reason a whole fetch failed. */
    const placed = new Set<GraphQLError>();
    for (const { fetch, objects, keys } of prepared) {
      if (keys.length === 0) continue;
      const { alias, entry } = fetch.entity!;
      // One-key fields answer `<alias>_<n>` each; a batch field one list in key order.
      const list = entry.batch ? answered?.[alias] : answered && keys.map((_, n) => answered[`${alias}_${n}`] ?? null);
      const withKey = objects.filter((o) => o.keyIndex >= 0);
      if (!Array.isArray(list) || list.length !== keys.length) {
        const reason = upstreamErrors.find((e) => !e.path || (e.path.length === 1 && e.path[0] === alias));
        if (reason) placed.add(reason);
        fail(
          fetch,
          withKey,
          reason ??
            new TesseraError(
              'SOURCE_BAD_RESPONSE',
              `Invalid response from subgraph "${call.subgraph.name}": ${fetch.entity!.entry.field} answered ${Array.isArray(list) ? `${list.length} entities for ${keys.length} keys` : 'no list'}`,
              { extensions: { subgraph: call.subgraph.name } },
            ),
        );
        continue;
      }
      for (const target of withKey) {
        const item = list[target.keyIndex];
        if (!isObject(item)) continue;
        // The concrete type of an @interfaceObject's object replaces the interface's name it had (mergeInto keeps the first value).
        if (fetch.concreteType && typeof item.__typename === 'string') target.object.__typename = item.__typename;
        mergeInto(target.object, item);
      }
    }
    /**
     * Which fetches and key an error path in the call's terms is about: [alias, n, ...] (batch) or [alias_n, ...]
     * (one key); several fetches when they share the field.
     */
    const locateInCall = (path: ReadonlyArray<string | number>): { fetches: Fetch[]; index: number; rest: Array<string | number> } | undefined => {
      const [first, ...others] = path;
      if (typeof first !== 'string') return undefined;
      for (const fetch of call.fetches) {
        const { alias, entry } = fetch.entity!;
        const sharing = (): Fetch[] => call.fetches.filter((f) => f.entity!.alias === alias);
        if (entry.batch && first === alias && typeof others[0] === 'number') return { fetches: sharing(), index: others[0], rest: others.slice(1) };
        if (!entry.batch && first.startsWith(`${alias}_`)) {
          const index = Number(first.slice(alias.length + 1));
          if (Number.isInteger(index)) return { fetches: sharing(), index, rest: others };
        }
      }
      return undefined;
    };
    // An error about one key belongs to every object with that key: about a federation entity itself
    // (`_entities.N`, a reference that failed), at that object's path, where Apollo Gateway and Router put it; about
    // another entity field's answer, at each field the fetch was to fill (as stitching does); else at the path below
    // it. The others are passed on unlocated (their paths are in the call's terms).
    for (const error of upstreamErrors) {
      if (placed.has(error)) continue;
      const at = error.path ? locateInCall(error.path) : undefined;
      if (!at) {
        errors.push(error.path ? new GraphQLError(error.message, { extensions: error.extensions, originalError: error.originalError ?? undefined }) : error);
        continue;
      }
      for (const fetch of at.fetches) {
        const objects = targets.get(fetch)!.filter((t) => t.keyIndex === at.index);
        if (at.rest.length === 0 && !fetch.entity!.entry.federation) {
          fail(fetch, objects, error);
          continue;
        }
        for (const target of objects) {
          errors.push(new GraphQLError(error.message, { path: pathOf(target, at.rest), extensions: error.extensions, originalError: error.originalError ?? undefined }));
        }
      }
    }
  };

  for (const step of plan.steps) {
    for (const [depth, wave] of step.waves.entries()) {
      if (gone()) return clientGone();
      await Promise.all(wave.map((call) => (depth === 0 ? runRoot(call) : runEntities(call))));
    }
  }
  if (gone()) return clientGone();
  return errors.length > 0 ? { data, errors } : { data };
}

/**
 * Runs a subscription's plan (planner.ts: one step, its root call the subgraph's subscription): subscribes once,
 * then for each event runs the later waves on that event's data as executePlan runs them on a root call's answer
 * (one call per subgraph per wave per event), each event's answer unchecked as executePlan's. A failed entity
 * fetch puts its errors in that event's answer alone; the stream goes on. Closing the returned stream (`return`)
 * closes the subgraph's. A subgraph that answers the subscription with one result (an error) or fails to
 * subscribe gives one answer, as a query's failed root call does.
 */
export async function subscribePlan(plan: QueryPlan, request: PlanRequest): Promise<AsyncIterable<ExecutionResult> | ExecutionResult> {
  const call = plan.steps[0]!.waves[0]![0]!;
  let stream: ExecutionResult | AsyncIterable<ExecutionResult>;
  try {
    stream = (await call.subgraph.executor({
      document: call.documentFor([]),
      variables: variablesOf(call, request),
      operationType: 'subscription' as OperationTypeNode,
      context: request.context as Record<string, unknown>,
    })) as ExecutionResult | AsyncIterable<ExecutionResult>;
  } catch (error) {
    return executePlan(plan, request, () => Promise.reject(error));
  }
  if (!isAsyncIterable(stream)) {
    const single = stream;
    return executePlan(plan, request, async () => single);
  }
  return mapAsyncIterator(stream, (event) => executePlan(plan, request, async () => event));
}
