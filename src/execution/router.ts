/**
 * The router: how an operation reaches the subgraphs, decided once per
 * parsed document and operation (Yoga caches parsing, so once per distinct
 * query text) and kept in a WeakMap. One of three routes, each with a reason
 * (README "How an operation runs"):
 *
 * 1. `direct`: an operation whose every field belongs to one subgraph's own
 *    schema is sent to that subgraph as it is, and its answer returned as it
 *    came (as the subgraph's own JSON text when the result check kept its
 *    data as parsed: passthrough.ts). For a proxied query that removes most
 *    of the gateway's CPU (see the README's Performance section). Taken
 *    when, for one subgraph whose part of the graph is its schema unchanged
 *    (not renamed), the operation is a query or mutation whose root
 *    selections are plain fields, and every field, fragment type condition,
 *    variable type and directive in the document exists in that subgraph's
 *    schema (`__typename` anywhere, but no introspection, which the gateway
 *    answers itself). Never a subscription.
 * 2. `planned`: the query planner (planner.ts) turns the operation into a
 *    fixed list of upstream calls over any subgraphs, renamed ones included,
 *    run by run-plan.ts, answers merged as plain objects; a subscription
 *    over federation subgraphs too (subscribe: each event joined and checked
 *    as a query's answer).
 * 3. `stitched`: what the planner declines runs through
 *    @graphql-tools/stitch (the execute function the router is given),
 *    unless it selects a federation field stitching cannot answer to the
 *    spec (plannerOnly): then it is refused, located at that field.
 *
 * Whatever the route, the answer's errors are located at the client's
 * fields (locateErrors), and a stitched answer's error paths get back the
 * list indices stitching drops (stitchedPaths), so that the routes agree
 * (test/integration/routes-agree.test.ts).
 *
 * No answer is passed on blindly: a remote subgraph's direct answer and
 * every planned answer are checked by executing the client's operation over
 * them against the gateway's schema (result-check.ts), which checks every
 * value's type, applies null bubbling, and puts upstream errors at their
 * paths. For that, `__typename` is added to the forwarded document under
 * interfaces and unions.
 */
import { isAsyncIterable, mapAsyncIterator, type ExecutionResult } from '@graphql-tools/utils';
import {
  getVariableValues,
  GraphQLError,
  astFromValue,
  doTypesOverlap,
  isAbstractType,
  isSpecifiedDirective,
  isCompositeType,
  isInterfaceType,
  isObjectType,
  Kind,
  TypeInfo,
  getNamedType,
  isNonNullType,
  typeFromAST,
  visit,
  visitWithTypeInfo,
  BREAK,
  type ASTNode,
  type DocumentNode,
  type FragmentDefinitionNode,
  type FieldNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import type { Logger } from 'pino';
import type { ComposedSubgraph } from '../compose/index.js';
import { requestError, TesseraError, withoutStackTraces } from '../errors.js';
import { planGraph, planOperation, Unplannable, Unsatisfiable, type PlanGraph, type QueryPlan } from './planner.js';
import type { LabelledOverride } from '../compose/federation.js';
import { clientGone, clientGoneFrom, executePlan, subscribePlan } from './run-plan.js';
import { checkingSchema, ResultChecker, type CheckArgs } from './result-check.js';
import { fieldNodesAt, fragmentsOf, type Fragments } from './collect-fields.js';
import { passedThrough } from './passthrough.js';

/** The subgraph a `direct` operation is sent to (a subgraph that is not renamed). */
export type DirectRoute = Pick<ComposedSubgraph, 'name' | 'schema' | 'executor' | 'trusted'>;

export type RouteName = 'direct' | 'planned' | 'stitched';

/** The route taken by one operation of one document, and why. */
export type Decision =
  | { route: 'direct'; reason: string; subgraph: DirectRoute }
  | { route: 'planned'; reason: string; plan: QueryPlan }
  | { route: 'stitched'; reason: string; refused?: Refusal };

/** Why a stitched operation is refused (plannerOnly): the message and the field it is located at. */
export interface Refusal {
  message: string;
  field: FieldNode;
}

/** What the router is given for one execution: graphql-js's execute arguments. */
export interface RouteArgs extends CheckArgs {
  rootValue?: unknown;
}

const TYPENAME: FieldNode = { kind: Kind.FIELD, name: { kind: Kind.NAME, value: '__typename' } };

/** The document with `__typename` selected in every selection set whose type is an interface or union. */
export function withAbstractTypenames(document: DocumentNode, schema: GraphQLSchema): DocumentNode {
  const typeInfo = new TypeInfo(schema);
  return visit(
    document,
    visitWithTypeInfo(typeInfo, {
      SelectionSet: {
        leave(node: SelectionSetNode) {
          const type = typeInfo.getType();
          const named = type ? getNamedType(type) : undefined;
          if (!named || !isAbstractType(named)) return undefined;
          if (node.selections.some((s) => s.kind === Kind.FIELD && s.name.value === '__typename' && !s.alias)) return undefined;
          return { ...node, selections: [...node.selections, TYPENAME] };
        },
      },
    }),
  );
}

/**
 * Whether the subgraph has the field with the unified graph's type: one it types otherwise (`id: ID!` where the
 * unified graph has `ID`) may make the client's document invalid there (`... on User { id } ... on Admin { id }`),
 * so only the planner, which aliases it, sends it.
 */
function hasField(schema: GraphQLSchema, typeName: string, fieldName: string, unifiedType: unknown): boolean {
  const type = schema.getType(typeName);
  const field = type !== undefined && 'getFields' in type ? (type.getFields() as Record<string, { type: unknown } | undefined>)[fieldName] : undefined;
  if (field === undefined || String(field.type) !== String(unifiedType)) return false;
  // An interface's field: the subgraph answers it for each of its implementations (not one another took over).
  return !isInterfaceType(type) || schema.getPossibleTypes(type).every((t) => fieldName in t.getFields());
}

/**
 * Whether a fragment on `condition` may be spread where `parent` is in a subgraph's schema (GraphQL spec 5.5.2.3):
 * a type that implements an interface only in another subgraph (Pass implements Node elsewhere) may not.
 */
function spreadable(schema: GraphQLSchema, parent: string | undefined, condition: string): boolean {
  const inner = schema.getType(condition);
  const outer = parent === undefined ? undefined : schema.getType(parent);
  return inner !== undefined && outer !== undefined && isCompositeType(inner) && isCompositeType(outer) && doTypesOverlap(schema, inner, outer);
}

/** The document with the defaults of its directives' arguments (the schema's own directives) written in; the same document when none is missing. */
function directiveDefaults(document: DocumentNode, schema: GraphQLSchema): DocumentNode {
  let changed = false;
  const out = visit(document, {
    Directive(node) {
      const definition = schema.getDirective(node.name.value);
      if (!definition || isSpecifiedDirective(definition)) return undefined;
      const missing = definition.args.filter((a) => a.defaultValue !== undefined && !node.arguments?.some((n) => n.name.value === a.name));
      const values = missing.map((a) => ({ kind: Kind.ARGUMENT, name: { kind: Kind.NAME, value: a.name }, value: astFromValue(a.defaultValue, a.type) }) as const);
      if (values.length === 0 || values.some((v) => !v.value)) return undefined;
      changed = true;
      return { ...node, arguments: [...(node.arguments ?? []), ...values] };
    },
  });
  return changed ? out : document;
}

/** The operation and the fragments it uses, as a document (what the direct route must serve). */
function operationDocument(document: DocumentNode, operation: OperationDefinitionNode): DocumentNode {
  const fragments = fragmentsOf(document);
  if (document.definitions.length === 1 + fragments.size) return document;
  const used = new Map<string, FragmentDefinitionNode>();
  const pending: ASTNode[] = [operation];
  while (pending.length > 0) {
    visit(pending.pop()!, {
      FragmentSpread(node) {
        const fragment = fragments.get(node.name.value);
        if (fragment && !used.has(node.name.value)) {
          used.set(node.name.value, fragment);
          pending.push(fragment);
        }
      },
    });
  }
  return { kind: Kind.DOCUMENT, definitions: [operation, ...used.values()] };
}

/** The one subgraph that can serve every part of the operation (all of the document's without one), if there is one. */
export function directRouteOf(
  document: DocumentNode,
  schema: GraphQLSchema,
  routes: readonly DirectRoute[],
  operation?: OperationDefinitionNode,
  /** The one subgraph that may serve a "Type.field" (a labelled @override), if only one may. */
  onlyOwner?: (coordinate: string) => string | undefined,
): DirectRoute | undefined {
  if (operation) document = operationDocument(document, operation);
  const fragments = fragmentsOf(document);
  let candidates = routes.slice();
  const keep = (test: (route: DirectRoute) => boolean): void => {
    candidates = candidates.filter(test);
  };
  const typeInfo = new TypeInfo(schema);
  visit(
    document,
    visitWithTypeInfo(typeInfo, {
      OperationDefinition(node) {
        if (node.operation === 'subscription' || node.selectionSet.selections.some((s) => s.kind !== Kind.FIELD)) candidates = [];
      },
      VariableDefinition(node) {
        const type = typeFromAST(schema, node.type as never);
        const name = type ? getNamedType(type).name : undefined;
        keep((r) => name !== undefined && r.schema.getType(name) !== undefined);
      },
      Field(node) {
        const name = node.name.value;
        if (name === '__typename') return;
        if (name.startsWith('__')) {
          candidates = [];
          return;
        }
        const parentName = typeInfo.getParentType()?.name;
        const only = parentName !== undefined ? onlyOwner?.(`${parentName}.${name}`) : undefined;
        const unifiedType = typeInfo.getFieldDef()?.type;
        keep((r) => parentName !== undefined && (only === undefined || r.name === only) && hasField(r.schema, parentName, name, unifiedType));
      },
      InlineFragment(node) {
        const parent = typeInfo.getParentType()?.name;
        if (node.typeCondition) keep((r) => spreadable(r.schema, parent, node.typeCondition!.name.value));
      },
      FragmentSpread(node) {
        const parent = typeInfo.getParentType()?.name;
        const fragment = fragments.get(node.name.value);
        keep((r) => fragment !== undefined && spreadable(r.schema, parent, fragment.typeCondition.name.value));
      },
      FragmentDefinition(node) {
        keep((r) => r.schema.getType(node.typeCondition.name.value) !== undefined);
      },
      Directive(node) {
        keep((r) => r.schema.getDirective(node.name.value) !== undefined);
      },
      enter() {
        if (candidates.length === 0) return BREAK;
        return undefined;
      },
    }),
  );
  return candidates[0];
}

/** The operation to run (GraphQL spec 6.1, GetOperation), or the request error graphql-js would give. */
function selectedOperation(document: DocumentNode, operationName: string | null | undefined): OperationDefinitionNode | GraphQLError {
  const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  if (operationName) return operations.find((o) => o.name?.value === operationName) ?? new GraphQLError(`Unknown operation named "${operationName}".`);
  if (operations.length === 1) return operations[0]!;
  return new GraphQLError('Must provide operation name if query contains multiple operations.');
}

/**
 * What stitching would answer when the subgraph call itself fails: every
 * root field null with the error at its path (or data null when a root field
 * is non-null).
 */
function failedResult(error: unknown, operation: OperationDefinitionNode, schema: GraphQLSchema): ExecutionResult {
  const root = operation.operation === 'mutation' ? schema.getMutationType() : schema.getQueryType();
  const data: Record<string, null> = {};
  let nonNull = false;
  const errors = operation.selectionSet.selections.map((selection) => {
    const field = selection as FieldNode;
    const key = field.alias?.value ?? field.name.value;
    data[key] = null;
    const definition = root?.getFields()[field.name.value];
    if (definition && isNonNullType(definition.type)) nonNull = true;
    const base = error instanceof GraphQLError ? error : new GraphQLError((error as Error).message ?? String(error));
    // Every field's copy keeps the one failure as its original: the error log tells one call from many, and finds its cause.
    return new GraphQLError(base.message, { nodes: [field], path: [key], extensions: base.extensions, originalError: base.originalError ?? base });
  });
  return { data: nonNull ? null : data, errors };
}

/** Whether a path walks the data as it is: a number at each list, a name at each object, until its end or a null. */
function fits(data: unknown, path: ReadonlyArray<string | number>): boolean {
  let value = data;
  for (const key of path) {
    if (value == null) return true;
    if (Array.isArray(value) !== (typeof key === 'number')) return false;
    value = (value as Record<string | number, unknown>)[key];
  }
  return true;
}

/** The full paths, list indices included, at which a path without them reaches a null (or stops at one), in document order. */
function nullsAt(data: unknown, path: ReadonlyArray<string | number>): Array<Array<string | number>> {
  const out: Array<Array<string | number>> = [];
  const walk = (value: unknown, at: Array<string | number>, rest: ReadonlyArray<string | number>): void => {
    // A key an object does not have (a union member the selection does not cover) is no null of the answer.
    if (value === undefined && at.length > 0) return;
    if (value == null) {
      out.push([...at, ...rest]);
      return;
    }
    if (Array.isArray(value)) {
      value.forEach((item, i) => walk(item, [...at, i], rest[0] === i ? rest.slice(1) : rest));
      return;
    }
    if (rest.length === 0 || typeof rest[0] === 'number') return;
    walk((value as Record<string, unknown>)[rest[0]!], [...at, rest[0]!], rest.slice(1));
  };
  walk(data, [], path);
  return out;
}

/** The subgraphs a plan calls, in the order of their first call. */
function subgraphsOf(plan: QueryPlan): Set<string> {
  const names = new Set<string>();
  for (const step of plan.steps) for (const wave of step.waves) for (const call of wave) names.add(call.subgraph.name);
  return names;
}

/**
 * The fields of the unified graph stitching would answer differently from Apollo Gateway, "Type.field" → why:
 * stitching has one fixed owner per field and knows no federation interface objects, so
 * - a field moved by a progressive @override rolled per request (`percent(n)`, 0 < n < 100; one on for every
 *   request or none is settled at composition, compose/federation.ts overriddenFields), and
 * - a field an @interfaceObject subgraph gives the interface's implementations that no other subgraph has, or a
 *   field returning the interface whose only subgraphs know it as an @interfaceObject (stitching cannot tell
 *   each object's concrete type)
 * are answered by the planner alone.
 */
function plannerOnly(schema: GraphQLSchema, subgraphs: readonly ComposedSubgraph[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const subgraph of subgraphs) {
    for (const [at, { from, label, percent }] of subgraph.overrides ?? []) {
      out.set(at, `it moves from subgraph "${from}" to "${subgraph.name}" for ${percent}% of requests (@override(label: "${label}"))`);
    }
  }
  const objectOwners = subgraphs.filter((s) => s.interfaceObjects?.size);
  if (objectOwners.length === 0) return out;
  /** Whether a subgraph other than those knowing `iface` as an @interfaceObject serves "type.field". */
  const servedElsewhere = (iface: string, type: string, field: string): boolean =>
    subgraphs.some((s) => {
      if (s.interfaceObjects?.has(iface)) return false;
      const t = s.visible.getType(type);
      return t !== undefined && 'getFields' in t && field in (t.getFields() as Record<string, unknown>);
    });
  for (const subgraph of objectOwners) {
    for (const iface of subgraph.interfaceObjects!) {
      const unified = schema.getType(iface);
      if (!unified || !isInterfaceType(unified)) continue;
      const why = `subgraph "${subgraph.name}" answers it for the interface ${iface} as an @interfaceObject`;
      const family = [iface, ...schema.getPossibleTypes(unified).map((t) => t.name)];
      const own = subgraph.visible.getType(iface);
      for (const field of own && 'getFields' in own ? Object.keys(own.getFields()) : []) {
        for (const type of family) if (!servedElsewhere(iface, type, field)) out.set(`${type}.${field}`, why);
      }
      for (const type of Object.values(subgraph.visible.getTypeMap())) {
        if (type.name.startsWith('__') || !isObjectType(type)) continue;
        const typeName = subgraph.visible.getQueryType() === type ? 'Query' : subgraph.visible.getMutationType() === type ? 'Mutation' : type.name;
        for (const field of Object.values(type.getFields())) {
          if (getNamedType(field.type).name === iface && !servedElsewhere(iface, typeName, field.name)) {
            out.set(`${typeName}.${field.name}`, `it returns ${iface} objects from subgraph "${subgraph.name}", which knows ${iface} as an @interfaceObject`);
          }
        }
      }
    }
  }
  return out;
}

export interface RouterOptions {
  /** The channel's schema. */
  schema: GraphQLSchema;
  subgraphs: readonly ComposedSubgraph[];
  /** execution.planner: false sends what cannot go direct to stitching. */
  planner: boolean;
  /** Tests only: the routes that may be taken (the others are passed over, as if they declined); all when absent. */
  routes?: readonly RouteName[];
  logger?: Logger;
}

const ALL_ROUTES: readonly RouteName[] = ['direct', 'planned', 'stitched'];

export class Router {
  private readonly schema: GraphQLSchema;
  private readonly direct: DirectRoute[];
  private readonly graph: PlanGraph | undefined;
  private readonly allowed: ReadonlySet<RouteName>;
  private readonly logger: Logger | undefined;
  private readonly checker: ResultChecker;
  /** Per document: each operation's decision, by operation name. */
  private readonly known = new WeakMap<DocumentNode, Map<string, Decision>>();
  private readonly fragments = new WeakMap<DocumentNode, Fragments>();
  private readonly rewritten = new WeakMap<DocumentNode, Map<string, DocumentNode>>();
  /** Operations found, per document and name; a name that finds none is not kept (it comes from the client). */
  private readonly operations = new WeakMap<DocumentNode, Map<string, OperationDefinitionNode>>();
  /** Labelled @override fields ("Type.field" → the overriding subgraph and the label), and each label's percent. */
  private readonly overrides = new Map<string, LabelledOverride & { to: string }>();
  private readonly labels: Array<[label: string, percent: number]>;
  /** "Type.field" → why only the planner answers it as Apollo Gateway does (plannerOnly); checked when an operation is stitched. */
  private readonly plannerOnly: Map<string, string>;
  /** Per document, with the defaults of its directives' arguments filled in (withDirectiveDefaults); kept only when the schema has such defaults. */
  private readonly defaulted: WeakMap<DocumentNode, DocumentNode> | undefined;

  constructor(options: RouterOptions) {
    this.schema = options.schema;
    this.allowed = new Set(options.routes ?? ALL_ROUTES);
    this.direct = this.allowed.has('direct') ? options.subgraphs.filter((s) => !s.renamed) : [];
    this.graph = options.planner && this.allowed.has('planned') ? planGraph(options.subgraphs) : undefined;
    this.logger = options.logger;
    this.checker = new ResultChecker(checkingSchema(options.schema));
    const labels = new Map<string, number>();
    for (const subgraph of options.subgraphs) {
      for (const [at, override] of subgraph.overrides ?? []) {
        this.overrides.set(at, { ...override, to: subgraph.name });
        labels.set(override.label, override.percent);
      }
    }
    this.labels = [...labels].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    this.plannerOnly = plannerOnly(options.schema, options.subgraphs);
    const defaults = options.schema.getDirectives().some((d) => !isSpecifiedDirective(d) && d.args.some((a) => a.defaultValue !== undefined));
    this.defaulted = defaults ? new WeakMap() : undefined;
  }

  /**
   * The document every route sends on: a directive of the schema's own (a composed executable directive, not
   * @skip/@include) with the defaults of the arguments the client left out written in, from the gateway's
   * definition: a subgraph whose own definition has no default refuses the directive without them.
   */
  withDirectiveDefaults(document: DocumentNode): DocumentNode {
    if (!this.defaulted) return document;
    let out = this.defaulted.get(document);
    if (!out) this.defaulted.set(document, (out = directiveDefaults(document, this.schema)));
    return out;
  }

  /**
   * The labelled @override labels on for one request (federation's progressive override): each `percent(n)` label
   * is on with probability n/100, rolled once per request so every field it moves goes the same way in it; as a
   * key of the labels on ("" for none), which decide() plans for.
   */
  rollLabels(): string {
    if (this.labels.length === 0) return '';
    let on = '';
    for (const [label, percent] of this.labels) if (percent > 0 && Math.random() * 100 < percent) on += on ? `\n${label}` : label;
    return on;
  }

  /** Whether any operation could take another route than stitching (else the router need not be asked). */
  get routes(): boolean {
    return this.direct.length > 0 || this.graph !== undefined;
  }

  /**
   * The route of one operation of a document, decided on first use for each set of override labels on
   * (`labels`, from rollLabels: at most one decision per combination of the graph's labels).
   */
  decide(document: DocumentNode, operation: OperationDefinitionNode, labels = ''): Decision {
    let entry = this.known.get(document);
    if (!entry) this.known.set(document, (entry = new Map()));
    const name = operation.name?.value ?? '';
    const key = labels ? `${name}\u0000${labels}` : name;
    let decision = entry.get(key);
    if (!decision) {
      decision = this.decideOnce(document, operation, labels);
      entry.set(key, decision);
      this.logger?.debug({ operation: name || undefined, route: decision.route, reason: decision.reason }, `operation routed: ${decision.route}`);
    }
    return decision;
  }

  /**
   * A stitched decision that would answer differently from Apollo Gateway, refused instead (docs/reliability.md
   * row 77): the operation selects a field only the planner answers to the federation spec (plannerOnly), so it
   * gets a request error located at that field, saying why the planner declined it.
   */
  private decideOnce(document: DocumentNode, operation: OperationDefinitionNode, labels: string): Decision {
    const decision = this.decideRoute(document, operation, labels);
    if (decision.route !== 'stitched' || this.plannerOnly.size === 0) return decision;
    const found = this.plannerOnlyField(document, operation);
    if (!found) return decision;
    const message = `Field "${found.coordinate}" cannot be answered here: ${found.why}, which only the query planner answers as federation specifies, and the planner declines this operation (${decision.reason}).`;
    return { ...decision, reason: `${decision.reason}; refused: ${found.coordinate} is answered by the planner only`, refused: { message, field: found.field } };
  }

  /** The first field of the operation (its fragments included) that only the planner answers (plannerOnly), if any. */
  private plannerOnlyField(document: DocumentNode, operation: OperationDefinitionNode): { field: FieldNode; coordinate: string; why: string } | undefined {
    let found: { field: FieldNode; coordinate: string; why: string } | undefined;
    const only = this.plannerOnly;
    const typeInfo = new TypeInfo(this.schema);
    visit(
      operationDocument(document, operation),
      visitWithTypeInfo(typeInfo, {
        Field(node) {
          const parent = typeInfo.getParentType();
          const coordinate = parent ? `${parent.name}.${node.name.value}` : '';
          const why = parent ? only.get(coordinate) : undefined;
          if (why === undefined) return undefined;
          found = { field: node, coordinate, why };
          return BREAK;
        },
      }),
    );
    return found;
  }

  private decideRoute(document: DocumentNode, operation: OperationDefinitionNode, labels: string): Decision {
    const enabled = new Set(labels ? labels.split('\n') : []);
    const onlyOwner = this.overrides.size > 0 ? (at: string) => {
      const override = this.overrides.get(at);
      return override && (enabled.has(override.label) ? override.to : override.from);
    } : undefined;
    // Where labelled overrides exist, each reason says which labels were on (the route span and the logs show it).
    const on = this.labels.length > 0 ? `; override labels on: ${labels ? labels.split('\n').join(', ') : 'none'}` : '';
    const direct = this.direct.length > 0 ? directRouteOf(document, this.schema, this.direct, operation, onlyOwner) : undefined;
    if (direct) return { route: 'direct', reason: `every field is in subgraph "${direct.name}"${on}`, subgraph: direct };
    if (!this.graph) return { route: 'stitched', reason: this.allowed.has('planned') ? 'the query planner is off (execution.planner: false)' : 'the planned route is not allowed' };
    try {
      const plan = planOperation(document, operation, this.schema, this.graph, enabled);
      return { route: 'planned', reason: `subgraphs ${[...subgraphsOf(plan)].map((s) => `"${s}"`).join(', ')}${on}`, plan };
    } catch (error) {
      // Declined (Unplannable) is routine; anything else is a planner bug, and stitching still answers.
      // No federation subgraph can answer a field: stitching would give a silent null, so refused (docs/reliability.md row 82).
      if (error instanceof Unsatisfiable) {
        return { route: 'stitched', reason: `${error.message}; refused`, refused: { message: `Field "${error.coordinate}" cannot be answered: ${error.why}.`, field: error.field } };
      }
      if (error instanceof Unplannable) return { route: 'stitched', reason: error.message };
      this.logger?.error({ operation: operation.name?.value, err: error }, 'query planner failed on this operation (a bug); it is stitched instead');
      return { route: 'stitched', reason: `the planner failed: ${(error as Error).message}` };
    }
  }

  /** The operation to run, or the request error graphql-js would give. */
  operation(document: DocumentNode, name: string | null | undefined): OperationDefinitionNode | GraphQLError {
    let byName = this.operations.get(document);
    if (!byName) this.operations.set(document, (byName = new Map()));
    const found = byName.get(name ?? '');
    if (found) return found;
    const operation = selectedOperation(document, name);
    if (!(operation instanceof GraphQLError)) byName.set(name ?? '', operation);
    return operation;
  }

  /**
   * Runs a direct or planned operation; its errors located at the client's
   * fields (locateErrors). Variables are checked first, as graphql-js's
   * execute would (spec 6.1.2, at most 50 errors): a request error, and no
   * subgraph is called.
   */
  async run(decision: Exclude<Decision, { route: 'stitched' }>, operation: OperationDefinitionNode, args: RouteArgs): Promise<ExecutionResult> {
    const refused = this.variableErrors(operation, args);
    if (refused) return refused;
    if (decision.route === 'planned') {
      const assembled = await executePlan(decision.plan, { variables: args.variableValues as Record<string, unknown> | undefined, context: args.contextValue });
      // clientGone() has no data to check and no error to locate: it passes as it is.
      return this.locateErrors(this.checker.check(assembled, args), args.document, operation);
    }
    // A plugin after the router (the response cache) may execute a rewritten document (with
    // __typename and id aliases, fields of the same subgraph): that one is what is sent.
    const direct = decision.subgraph;
    let result: ExecutionResult;
    try {
      result = (await direct.executor({
        document: this.forwarded(args.document, direct, operation),
        variables: (args.variableValues ?? undefined) as Record<string, unknown> | undefined,
        operationName: args.operationName ?? undefined,
        operationType: operation.operation,
        context: args.contextValue as Record<string, unknown> | undefined,
        rootValue: args.rootValue,
      })) as ExecutionResult;
    } catch (error) {
      if (clientGoneFrom(args.contextValue)) return clientGone();
      return this.locateErrors(failedResult(error, operation, this.schema), args.document, operation);
    }
    if (direct.trusted) return this.locateErrors(result, args.document, operation);
    // An answer the check kept as the subgraph sent it is written as the subgraph's own text (passthrough.ts).
    return passedThrough(this.locateErrors(this.checker.check(result, args), args.document, operation), result);
  }

  /** The operation's variables checked as graphql-js's execute would (spec 6.1.2, at most 50 errors): request errors, or undefined. */
  private variableErrors(operation: OperationDefinitionNode, args: RouteArgs): ExecutionResult | undefined {
    // Without definitions there is nothing to check.
    if (!operation.variableDefinitions?.length) return undefined;
    const coerced = getVariableValues(this.schema, operation.variableDefinitions, (args.variableValues ?? {}) as Record<string, unknown>, { maxErrors: 50 });
    return coerced.errors ? { errors: coerced.errors.map(requestError) } : undefined;
  }

  /**
   * Runs a planned subscription (run-plan.ts subscribePlan): each event's answer checked and its errors located
   * as a planned query's (run). Variables are checked first, as for run: a request error, no subgraph called.
   */
  async subscribe(decision: Extract<Decision, { route: 'planned' }>, operation: OperationDefinitionNode, args: RouteArgs): Promise<ExecutionResult | AsyncIterable<ExecutionResult>> {
    const refused = this.variableErrors(operation, args);
    if (refused) return refused;
    const finish = (assembled: ExecutionResult): ExecutionResult => this.locateErrors(this.checker.check(assembled, args), args.document, operation);
    const answer = await subscribePlan(decision.plan, { variables: args.variableValues as Record<string, unknown> | undefined, context: args.contextValue });
    return isAsyncIterable(answer) ? mapAsyncIterator(answer, finish) : finish(answer);
  }

  /**
   * A stitched answer with the list indices its error paths lack filled in:
   * @graphql-tools/batch-delegate reports an error inside a batched join at
   * the path without the indices of the lists above it (`items.owner.age`
   * for `items.1.owner.age`), where the other routes, like graphql-js, give
   * the index. Such an error belongs to a null at that path in the data; the
   * errors with one such path are given the nulls there in document order,
   * which is the order stitching reports them in.
   */
  stitchedPaths(result: ExecutionResult): ExecutionResult {
    if (!result.errors || result.data == null) return result;
    const data = result.data;
    const used = new Map<string, number>();
    let changed = false;
    const errors = result.errors.map((error) => {
      if (!error.path || fits(data, error.path)) return error;
      const key = error.path.join('\u0000');
      const candidates = nullsAt(data, error.path);
      const n = used.get(key) ?? 0;
      used.set(key, n + 1);
      const path = candidates[n];
      if (!path) return error;
      changed = true;
      return new GraphQLError(error.message, { nodes: error.nodes, path, extensions: error.extensions, originalError: error.originalError ?? undefined });
    });
    return changed ? { ...result, errors } : result;
  }

  /**
   * The result with every error that has a path located at the client's
   * field, whichever route answered: a subgraph's own locations are in the
   * terms of the document it was sent (rewritten by the planner or by
   * stitching, which drops them), so the same failure would otherwise be
   * located differently, or not at all, depending on the route.
   */
  locateErrors(result: ExecutionResult, document: DocumentNode, operation: OperationDefinitionNode): ExecutionResult {
    if (!result.errors?.some((e) => e.path)) return result;
    let fragments = this.fragments.get(document);
    if (!fragments) this.fragments.set(document, (fragments = fragmentsOf(document)));
    const located = result.errors;
    const errors = withoutStackTraces(() =>
      located.map((error) => {
        if (!error.path) return error;
        const nodes = fieldNodesAt(this.schema, operation, fragments, error.path);
        if (!nodes) return error;
        return new GraphQLError(error.message, { nodes, path: error.path, extensions: error.extensions, originalError: error.originalError ?? undefined });
      }),
    );
    return { ...result, errors };
  }

  /**
   * The document sent on the direct route: the client's, without the other
   * operations of the document (the subgraph validates all it is sent, and
   * they may need other subgraphs), with `__typename` under abstract types
   * for a subgraph whose answer is checked.
   */
  private forwarded(document: DocumentNode, route: DirectRoute, operation: OperationDefinitionNode): DocumentNode {
    const alone = document.definitions.every((d) => d === operation || d.kind !== Kind.OPERATION_DEFINITION);
    if (route.trusted && alone) return document;
    let byOperation = this.rewritten.get(document);
    if (!byOperation) this.rewritten.set(document, (byOperation = new Map()));
    const name = operation.name?.value ?? '';
    let forwarded = byOperation.get(name);
    if (!forwarded) {
      forwarded = alone ? document : operationDocument(document, operation);
      if (!route.trusted) forwarded = withAbstractTypenames(forwarded, this.schema);
      byOperation.set(name, forwarded);
    }
    return forwarded;
  }
}

/** The answer to a refused operation: a 400 request error located at the field, made anew for each request (a plugin may add to an error). */
export function refusedResult(refusal: Refusal): ExecutionResult {
  return { errors: [new TesseraError('OPERATION_NOT_PLANNABLE', refusal.message, { nodes: [refusal.field], extensions: { http: { status: 400 } } })] };
}

/** A request error for a document with no operation to run (GraphQL-over-HTTP: 400 with the graphql-response media type). */
export function operationError(error: GraphQLError): ExecutionResult {
  return { errors: [requestError(error)] };
}
