/**
 * The query planner: an operation that needs several subgraphs becomes a
 * fixed list of upstream calls, worked out once per document and operation
 * instead of once per request (what stitching's delegation does).
 *
 * A plan is a tree of fetches. The root fetches ask each subgraph for its
 * root fields. Under them, a field the current subgraph does not have is
 * fetched from a subgraph that resolves the parent type by key (an entity
 * fetch: `entities:` in its descriptor, a batch field taking every key at
 * once, or a one-key field aliased once per key); the current subgraph is
 * asked for the key fields instead. A key
 * field the current subgraph lacks (inventory's `[upc, price, weight]` under
 * a product from reviews) comes from one more entity fetch first.
 *
 * A federation subgraph's entity (compose/federation.ts) is fetched through
 * `_entities(representations:)`: its selections go in `... on <Type>`, and
 * each object's representation carries `__typename`, the fields of the first
 * @key the current subgraph can give (else the first @key, fetched first),
 * and the fields the selected fields @require (field sets with arguments and
 * type conditions included), a nested one with its field set's fields alone
 * (sources/federation/representation.ts); a field a subgraph @requires is only asked of it
 * that way. @provides makes @external fields local at the place it names (by
 * type condition too); an @external key field of a type a Federation 2
 * subgraph defines is never asked of it. Where several subgraphs serve a
 * field (@shareable), the one already asked at that place answers, else the
 * first by name; a shared root field goes to the first that answers its whole
 * selection, else (a value type) is split across them, else the operation is
 * refused (Unsatisfiable). A field a subgraph types otherwise than the
 * unified graph is aliased in its call (INTERNAL_ALIAS). A field
 * taken over with a labelled @override (`label: "percent(n)"`) is served by
 * the overriding subgraph when the label is on for the request, else by the
 * one it was taken from: the plan is made for a set of labels that are on.
 *
 * Each fetch records when it is needed (Fetch.neededWhen): the @skip/@include
 * conditions of the client's fields it fills, with those of the fields and
 * fragments around them, or of the fetches that read its objects or wait for
 * the keys and required fields it brings; run-plan.ts evaluates them against
 * the request's variables and sends no fetch the client left out (the
 * documents stay as planned).
 *
 * Fetches are then grouped into waves by depth: every fetch of a wave for
 * the same subgraph goes out as one document (one aliased batch field per
 * fetch, or one aliased field per key), so the number of upstream calls is
 * fixed by the plan, whatever the list sizes. Mutations run their root fields in order, each group of
 * consecutive fields of one subgraph with everything under it before the
 * next (GraphQL spec 6.2.2).
 *
 * Plans are made in the unified graph's names; each call's document is then
 * translated into its subgraph's own names when the subgraph is renamed
 * (`transforms.prefix`/`rename`): a renamed field is sent aliased to the
 * client's response key, type conditions and variable types get the
 * subgraph's type names (and run-plan.ts turns `__typename` answers back).
 *
 * A subscription over federation subgraphs is planned as a query is: its
 * root field's call, to the one subgraph serving it, is that subgraph's own
 * subscription, and the later waves (entity fetches, @requires, abstract
 * types, @interfaceObject fields) run on each event's data (run-plan.ts
 * subscribePlan); labelled @override labels are rolled once per
 * subscription.
 *
 * The planner takes what it can do exactly and declines the rest (the caller
 * then uses stitching, which gives the same answer): a subscription of a
 * subgraph that is not a federation subgraph, one whose root field would come
 * from several subgraphs or carries @skip/@include, an
 * operation of introspection alone (introspection beside other root fields is
 * answered by the result check, from the gateway's schema), a directive other
 * than @skip/@include it cannot send on as written (forwardedOf: on a
 * fragment or the operation, on a field answered by several calls or by a
 * subgraph that does not declare it). The planner's own aliases and variables
 * (`__key_`, `__alias_`, `$__k`) take other prefixes in a document whose
 * client aliases or variables start with them (AliasPrefixes). An interface
 * or union whose selections need a second subgraph is planned per concrete
 * type (planAbstract), but for the fields selected on an entity interface
 * itself that subgraphs with @key on the interface serve for all of its
 * implementations: fetched by the interface's key (viaEntityInterface), also
 * from a fragment on the interface inside a union (viaInterfaceFragments).
 *
 * Pure: executors are carried, never called here.
 */
import {
  doTypesOverlap,
  getNamedType,
  isAbstractType,
  isInterfaceType,
  isLeafType,
  isUnionType,
  isObjectType,
  isSpecifiedDirective,
  Kind,
  print,
  TypeInfo,
  visit,
  visitWithTypeInfo,
  type DirectiveNode,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLAbstractType,
  type GraphQLCompositeType,
  type GraphQLInterfaceType,
  type GraphQLObjectType,
  type GraphQLSchema,
  type GraphQLUnionType,
  type OperationDefinitionNode,
  type SelectionNode,
  type SelectionSetNode,
  type TypeNode,
  type VariableDefinitionNode,
} from 'graphql';
import type { Executor } from '@graphql-tools/utils';
import type { EntityEntry, Renames } from '../compose/index.js';
import type { LabelledOverride } from '../compose/federation.js';
import { forwardedInclusion, fragmentsOf, walkFields, type Wraps } from './collect-fields.js';
import { shapeOf, type Shape } from '../sources/federation/representation.js';
import { compilable } from './result-check.js';

/** A subgraph the planner can route to, described in the unified graph's names. */
export interface PlanSubgraph {
  name: string;
  /** The executor stitching uses for this subgraph (policy wrappers included). */
  executor: Executor;
  /** Its part of the unified graph: its schema as renamed, without the fields it hides. */
  visible: GraphQLSchema;
  /** Entities it resolves by key, by type name. */
  entities: ReadonlyMap<string, EntityEntry>;
  /** Its own names, when it is renamed: the documents it is sent are translated into them (inSubgraphTerms). */
  renames?: Renames;
  /** A federation subgraph's @provides: "Type.field" → fields of its type it answers there though @external. */
  provides?: ReadonlyMap<string, SelectionSetNode>;
  /** A federation subgraph's @requires: "Type.field" → fields it needs in the representation (so only `_entities` answers it). */
  requires?: ReadonlyMap<string, SelectionSetNode>;
  /** A federation subgraph (kind: federation): what it can answer is all in its SDL. */
  federation?: boolean;
  /** A federation subgraph's @external key fields of its own types ("Type.field"): only received in representations, never answered. */
  externalKeys?: ReadonlySet<string>;
  /** A federation subgraph's labelled (progressive) @override: "Type.field" → the subgraph it takes it from when its label is on. */
  overrides?: ReadonlyMap<string, LabelledOverride>;
  /** A federation subgraph's @interfaceObject types: it answers their objects with the interface's name as `__typename`. */
  interfaceObjects?: ReadonlySet<string>;
}

/** A field both subgraphs of a labelled @override serve: `to` answers it when `label` is on for the request, else `from`. */
export interface PlanOverride {
  to: PlanSubgraph;
  from: string;
  label: string;
}

export interface PlanGraph {
  subgraphs: readonly PlanSubgraph[];
  /** "Type.field" → the subgraphs that serve it (root types under "Query", "Mutation"). */
  owners: ReadonlyMap<string, readonly PlanSubgraph[]>;
  /** "Type.field" → its labelled @override. */
  overrides: ReadonlyMap<string, PlanOverride>;
  /** Every override label, with the share of requests (0 to 100) it is on for. */
  labels: ReadonlyMap<string, number>;
}

/** The subgraphs that serve a field for a request with these override labels on (PlanOverride). */
export function ownersOf(graph: PlanGraph, at: string, enabled: ReadonlySet<string>): readonly PlanSubgraph[] {
  const list = graph.owners.get(at) ?? [];
  const override = graph.overrides.get(at);
  if (!override) return list;
  return enabled.has(override.label) ? list.filter((s) => s.name !== override.from) : list.filter((s) => s !== override.to);
}

/** One fetch: what one subgraph is asked for, for one set of objects. */
export interface Fetch {
  subgraph: PlanSubgraph;
  /** The fetch whose objects this one starts from; none for a root fetch. */
  parent?: Fetch;
  /** Response keys from the parent's objects to this fetch's objects (lists are walked through). */
  path: readonly string[];
  /**
   * Under an interface or union: only the objects whose `__typename` is one of `typenames` once `depth` keys of
   * the path are walked (the fetch joins one concrete type's objects, or those of a union's members that implement
   * an entity interface it is fetched by).
   */
  filters?: ReadonlyArray<{ depth: number; typenames: readonly string[] }>;
  /**
   * For an entity fetch: where the keys are read, and the field's alias and variable in the call (a one-key
   * field is sent once per key, as `<alias>_<n>` with `$<variable>_<n>`).
   */
  entity?: {
    entry: EntityEntry;
    /** The fields read on each object for its key (a federation representation's fields: key fields first, then required ones). */
    keyNames: readonly string[];
    /** Their response keys on the objects, as the plan asked for them (`__key_<name>`). */
    keyAliases: readonly string[];
    /**
     * A federation representation's nested fields (`driver { age }`), by the same index: their value is read through
     * it, so that it holds its field set's fields alone (sources/federation/representation.ts); undefined for a leaf field.
     */
    keyShapes?: ReadonlyArray<Shape | undefined>;
    /** How many of keyNames are key fields (a null one: the object has no key); the rest are @requires fields (null allowed). */
    keyCount: number;
    alias: string;
    variable: string;
  };
  /**
   * Fetches that must have run, with all their descendants, before this one (the fetches that bring a field this
   * one's representation requires through another subgraph: `@requires(fields: "driver { age }")`).
   */
  after?: readonly Fetch[];
  /** What the subgraph is asked for on each object, in the subgraph's terms. */
  selections: readonly SelectionNode[];
  /** The client's response keys this fetch fills on its objects: where its errors go when it fails. */
  fields: readonly string[];
  children: Fetch[];
  /**
   * When the fetch is needed, by the @skip/@include of the client's fields it fills (their fragments' and
   * ancestors' too), or of the fetches it brings objects, keys or required fields to: when every condition of
   * one of these lists holds for the request (isNeeded); undefined: always. A fetch not needed is given no
   * objects by run-plan.ts, so a call whose fetches are all not needed is not sent.
   */
  neededWhen?: ReadonlyArray<readonly Condition[]>;
  /**
   * It answers the concrete type of an @interfaceObject's objects (viaInterfaceOwner): its `__typename` replaces
   * the interface's name the @interfaceObject subgraph gave them (which stays where this fetch is not needed).
   */
  concreteType?: true;
}

/**
 * One @skip or @include whose `if` is a variable (GraphQL spec 3.13): it holds when the variable is false (skip)
 * or true (include); `fallback` is the variable's default value in the operation, for a request without it.
 */
export interface Condition {
  variable: string;
  skip: boolean;
  fallback?: boolean;
}

/**
 * Whether a fetch is needed for a request with these variables (Fetch.neededWhen). A variable that is not a boolean
 * (the request is refused elsewhere) counts as holding: the fetch runs.
 */
export function isNeeded(fetch: Fetch, variables: Readonly<Record<string, unknown>> | undefined): boolean {
  const when = fetch.neededWhen;
  if (!when) return true;
  return when.some((all) =>
    all.every((c) => {
      const given = variables?.[c.variable];
      const value = given === undefined ? c.fallback : given;
      return typeof value !== 'boolean' || value !== c.skip;
    }),
  );
}

/** One upstream request: every fetch of one wave for one subgraph. */
export interface Call {
  subgraph: PlanSubgraph;
  /** A subscription's root call is the subgraph's own subscription (run-plan.ts subscribePlan); every other call a query or mutation. */
  operationType: 'query' | 'mutation' | 'subscription';
  /**
   * The document for this many keys per fetch: the same one whatever the counts unless the call has one-key
   * entity fields, which are sent once per key (memoised per counts).
   */
  documentFor(keyCounts: readonly number[]): DocumentNode;
  fetches: readonly Fetch[];
  /** The client's variables the document uses. */
  variables: readonly string[];
  /**
   * The prefix of its document's aliases for fields the subgraph types otherwise than the unified graph
   * (INTERNAL_ALIAS, or the document's own: AliasPrefixes), when it has any: run-plan.ts renames them back.
   */
  internalAlias?: string;
}

/**
 * The prefix of the planner's aliases for fields a subgraph types otherwise than the unified graph (`id: ID!`
 * in a subgraph where the unified graph has `id: ID`), the response key after it. Under an interface or union,
 * `... on User { id } ... on Admin { id }` is valid for the client but not for a subgraph where the two `id`
 * differ: aliased, the fields no longer have to merge (GraphQL spec 5.3.2).
 */
const INTERNAL_ALIAS = '__alias_';

/** Steps run one after another (one per group of mutation root fields; one for a query); so do a step's waves. */
export interface QueryPlan {
  steps: ReadonlyArray<{ waves: ReadonlyArray<readonly Call[]> }>;
}

/** Why an operation is left to stitching (for debug logs and tests). */
export class Unplannable extends Error {}

/**
 * Declined because no subgraph can answer a field as the federation subgraphs describe it (a shared root field
 * whose selection none of its subgraphs can resolve, as in a supergraph whose keys are all @external there):
 * stitching would answer it with a silent null, so the router refuses the operation, located at `field`.
 */
export class Unsatisfiable extends Unplannable {
  constructor(
    /** "Type.field" */
    readonly coordinate: string,
    readonly why: string,
    readonly field: FieldNode,
  ) {
    super(`${coordinate}: ${why}`);
  }
}

const KEY_PREFIX = '__key_';

/**
 * The prefixes of the planner's own names in the calls of one document: `key` for the key and required fields it
 * asks for (`__key_id`, a later pass's `__key_1_cost`), `internal` for fields a subgraph types otherwise
 * (INTERNAL_ALIAS), `variable` for the key lists of entity fetches (`$__k0`). `__key_`, `__alias_` and `__k`, unless
 * a client's alias in the document starts with one of the first two (`__key_id: email`), or a client's variable with
 * the third: then `__key1_`, `__alias1_` and `__k1_`, or the first number free, so that a name of the planner's is
 * never a client's. Worked out once per document, with its plan.
 */
interface AliasPrefixes {
  key: string;
  internal: string;
  variable: string;
}

function aliasPrefixes(document: DocumentNode): AliasPrefixes {
  const aliases: string[] = [];
  const variables: string[] = [];
  visit(document, {
    Field(node) {
      if (node.alias?.value.startsWith('__')) aliases.push(node.alias.value);
    },
    VariableDefinition(node) {
      if (node.variable.name.value.startsWith('__')) variables.push(node.variable.name.value);
    },
  });
  const free = (prefix: string, names: readonly string[]): boolean => !names.some((name) => name.startsWith(prefix));
  let n = 0;
  while (!free(n === 0 ? KEY_PREFIX : `__key${n}_`, aliases) || !free(n === 0 ? INTERNAL_ALIAS : `__alias${n}_`, aliases)) n++;
  let v = 0;
  while (!free(v === 0 ? '__k' : `__k${v}_`, variables)) v++;
  return {
    key: n === 0 ? KEY_PREFIX : `__key${n}_`,
    internal: n === 0 ? INTERNAL_ALIAS : `__alias${n}_`,
    variable: v === 0 ? '__k' : `__k${v}_`,
  };
}

/**
 * The type of the objects a selection is planned on: an object type, or an interface whose objects are planned
 * without their concrete type (Planner.planInterfaceObject: nothing selected depends on it).
 */
type Parent = GraphQLObjectType | GraphQLInterfaceType;

/** Fetch.entity.keyShapes. */
type Shapes = ReadonlyArray<Shape | undefined> | undefined;
const TYPENAME: FieldNode = { kind: Kind.FIELD, name: { kind: Kind.NAME, value: '__typename' } };

const coordinate = (type: string, field: string): string => `${type}.${field}`;

/** @skip or @include (GraphQL spec 3.13): the planner evaluates them (Fetch.neededWhen) and sends them on as written. */
const isInclusion = (directive: DirectiveNode): boolean => directive.name.value === 'skip' || directive.name.value === 'include';

/**
 * A field's directives other than @skip/@include: executable directives of the composed schema (@composeDirective),
 * sent as written, arguments and variables included, to the one call that answers the field (Planner.forwardable).
 */
const forwardedOf = (field: FieldNode): readonly DirectiveNode[] => field.directives?.filter((d) => !isInclusion(d)) ?? [];

/** The planner's view of the subgraphs it may route to. */
export function planGraph(subgraphs: readonly PlanSubgraph[]): PlanGraph {
  const owners = new Map<string, PlanSubgraph[]>();
  const add = (key: string, subgraph: PlanSubgraph) => {
    const list = owners.get(key);
    if (list) list.push(subgraph);
    else owners.set(key, [subgraph]);
  };
  for (const subgraph of [...subgraphs].sort(byName)) {
    const schema = subgraph.visible;
    // Root types under the unified graph's names.
    const roots = new Map([
      [schema.getQueryType()?.name, 'Query'],
      [schema.getMutationType()?.name, 'Mutation'],
      [schema.getSubscriptionType()?.name, 'Subscription'],
    ]);
    for (const type of Object.values(schema.getTypeMap())) {
      if (type.name.startsWith('__') || !('getFields' in type) || !(isObjectType(type) || isAbstractType(type))) continue;
      const typeName = roots.get(type.name) ?? type.name;
      for (const field of Object.keys(type.getFields())) if (!subgraph.externalKeys?.has(coordinate(type.name, field))) add(coordinate(typeName, field), subgraph);
    }
  }
  const overrides = new Map<string, PlanOverride>();
  const labels = new Map<string, number>();
  for (const subgraph of subgraphs) {
    for (const [at, { from, label, percent }] of subgraph.overrides ?? []) {
      overrides.set(at, { to: subgraph, from, label });
      labels.set(label, percent);
    }
  }
  // Each coordinate's subgraphs in name order: where several serve a field (@shareable), the first by name is asked unless one is already being called.
  return { subgraphs, owners, overrides, labels };
}

/**
 * Fields selected on an interface itself that an @interfaceObject subgraph serves there and the subgraph asked
 * does not (`{ seats { open } }`, Seat.open of the @interfaceObject): answered by that subgraph for every
 * implementation, even one whose own subgraph has the field too (@shareable); under a type condition
 * (`... on Box { open }`) the implementation's field is asked as usual.
 */
interface OnInterface {
  type: string;
  fields: ReadonlySet<FieldNode>;
}

/** A field in a selection, with the directives of the fragments it was selected through (outermost first). */
interface Entry {
  field: FieldNode;
  wraps: Wraps;
}

/** A field fetched by an entity interface's key (planAbstract), for the objects of `members` (all, when undefined). */
interface ViaInterface {
  entry: Entry;
  members?: readonly string[];
}

const responseKey = (field: FieldNode): string => field.alias?.value ?? field.name.value;

/**
 * A key or required field as the planner asks for it: aliased `__key_<name>`, with the field set's arguments
 * (`@requires(fields: "priceIn(currency: \"EUR\")")`) and its own selection when it is nested.
 */
function keyField(field: FieldNode, prefix: string): FieldNode {
  return {
    kind: Kind.FIELD,
    alias: { kind: Kind.NAME, value: prefix + field.name.value },
    name: field.name,
    ...(field.arguments?.length && { arguments: field.arguments }),
    ...(field.selectionSet && { selectionSet: field.selectionSet }),
  };
}

/**
 * The fields of a federation field set (@key, @requires, @provides) by name, nested sets merged; the fields of
 * an inline fragment (`@provides(fields: "... on Book { title }")`) under `... on <Type>`, read for the
 * objects of that type by providedFor.
 */
type Provided = ReadonlyMap<string, Provided>;

const ON = '... on ';

function providedOf(set: SelectionSetNode | undefined, into = new Map<string, Provided>()): Map<string, Provided> {
  for (const selection of set?.selections ?? []) {
    if (selection.kind === Kind.INLINE_FRAGMENT) {
      if (!selection.typeCondition) {
        providedOf(selection.selectionSet, into);
        continue;
      }
      const key = ON + selection.typeCondition.name.value;
      into.set(key, providedOf(selection.selectionSet, (into.get(key) as Map<string, Provided> | undefined) ?? new Map<string, Provided>()));
      continue;
    }
    if (selection.kind !== Kind.FIELD) continue;
    const name = selection.name.value;
    const inner = (into.get(name) as Map<string, Provided> | undefined) ?? new Map<string, Provided>();
    into.set(name, providedOf(selection.selectionSet, inner));
  }
  return into;
}

function mergeProvided(a: Provided | undefined, b: Provided | undefined): Provided | undefined {
  if (!a) return b;
  if (!b) return a;
  const out = new Map(a);
  for (const [name, inner] of b) out.set(name, mergeProvided(out.get(name), inner)!);
  return out;
}

/** The fields `subgraph` @requires for a field of `typeName`; an @interfaceObject subgraph declares them on the interface. */
function requiresOf(subgraph: PlanSubgraph, typeName: string, field: string): SelectionSetNode | undefined {
  const own = subgraph.requires?.get(coordinate(typeName, field));
  if (own || !subgraph.interfaceObjects?.size) return own;
  const known = subgraph.entities.get(typeName)?.federation?.typename;
  return known && known !== typeName ? subgraph.requires?.get(coordinate(known, field)) : undefined;
}

const byName = (a: PlanSubgraph, b: PlanSubgraph): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/** A field set's fields merged by name (a nested field's selections joined), as key fields to ask for. */
function mergeFieldSets(sets: ReadonlyArray<SelectionSetNode | undefined>): FieldNode[] {
  const byField = new Map<string, FieldNode>();
  for (const set of sets) {
    for (const selection of set?.selections ?? []) {
      if (selection.kind !== Kind.FIELD) continue;
      const name = selection.name.value;
      const existing = byField.get(name);
      if (!existing) byField.set(name, selection);
      else if (selection.selectionSet) {
        const inner = [...(existing.selectionSet?.selections ?? []), ...selection.selectionSet.selections];
        byField.set(name, { ...existing, selectionSet: selectionSet(inner) });
      }
    }
  }
  return [...byField.values()];
}

/** A field's arguments as text ('' without any). */
const argumentsOf = (field: FieldNode): string => (field.arguments?.length ? print({ kind: Kind.FIELD, name: field.name, arguments: field.arguments }) : '');

/** The fields of a field set's nested selection, those of its inline fragments included. */
function nestedFields(set: SelectionSetNode | undefined, into: FieldNode[] = []): FieldNode[] {
  for (const s of set?.selections ?? []) {
    if (s.kind === Kind.FIELD) into.push(s);
    else if (s.kind === Kind.INLINE_FRAGMENT) nestedFields(s.selectionSet, into);
  }
  return into;
}

/**
 * Whether two required fields of one name cannot be asked as one field (a field set has no aliases): other
 * arguments, on them or on a nested field of one name (type conditions not told apart).
 */
function conflicting(a: FieldNode, b: FieldNode): boolean {
  if (argumentsOf(a) !== argumentsOf(b)) return true;
  const inner = nestedFields(b.selectionSet);
  return nestedFields(a.selectionSet).some((x) => inner.some((y) => y.name.value === x.name.value && conflicting(x, y)));
}

function selectionSet(selections: readonly SelectionNode[]): SelectionSetNode {
  return { kind: Kind.SELECTION_SET, selections };
}

/** The selection inside inline fragments carrying the directives of the fragments it came through. */
function wrapped(selection: SelectionNode, wraps: Entry['wraps']): SelectionNode {
  let out = selection;
  for (let i = wraps.length - 1; i >= 0; i--) {
    out = { kind: Kind.INLINE_FRAGMENT, directives: wraps[i], selectionSet: selectionSet([out]) };
  }
  return out;
}

/** Fetch.neededWhen while it is worked out: undefined always, [] not (yet) known to be needed. */
type Need = Array<readonly Condition[]> | undefined;

/** Either need (lists compared by their text; an empty list, which always holds, makes it always). */
function eitherNeed(a: Need, b: Need): Need {
  if (!a || !b) return undefined;
  const out = [...a];
  const seen = new Set(a.map((all) => JSON.stringify(all)));
  for (const all of b) {
    if (all.length === 0) return undefined;
    const id = JSON.stringify(all);
    if (!seen.has(id)) {
      seen.add(id);
      out.push(all);
    }
  }
  // Bounded: past this many lists, the fetch simply runs.
  return out.length > 32 ? undefined : out;
}

class Planner {
  private readonly fragments: ReadonlyMap<string, FragmentDefinitionNode>;
  /**
   * The @skip/@include conditions of the client's fields around the place being planned, outermost first; null under
   * a field excluded by a literal (`@skip(if: true)`).
   */
  private around: Condition[] | null = [];
  /** Inside a key or required field the planner asks for itself: fetches made there are helpers (needed when the fetches they serve are). */
  private inKey = 0;
  /** Per fetch with client fields: the conditions of each field it fills (Fetch.neededWhen). */
  private readonly own = new Map<Fetch, Array<readonly Condition[]>>();
  /** Fetches made inside a key or required field. */
  private readonly helpers = new Set<Fetch>();
  /**
   * Whether an @interfaceObject's objects may be completed as the interface, without their concrete type: the
   * result check does so where it is compiled (result-check.ts compilable, @skip/@include on a variable included),
   * not where graphql-js's execute runs (introspection: result-check.ts compilable).
   */
  private readonly byInterface: boolean;
  /** The document's fields with a selection, by response key and name (fragments' too): those one may be merged with in the answer. */
  private readonly sameKey = new Map<string, FieldNode[]>();
  /** Why the last field with a forwarded directive could not be sent (forwardable): the reason given when no subgraph answers a root field. */
  directiveDeclined: string | undefined;
  /** The prefixes of the planner's own aliases in this document's calls. */
  readonly prefixes: AliasPrefixes;

  constructor(
    private readonly schema: GraphQLSchema,
    private readonly graph: PlanGraph,
    document: DocumentNode,
    private readonly enabled: ReadonlySet<string>,
    /** The operation's variables' boolean default values. */
    private readonly defaults: ReadonlyMap<string, boolean> = new Map(),
  ) {
    this.fragments = fragmentsOf(document);
    this.byInterface = compilable(document);
    this.prefixes = aliasPrefixes(document);
    visit(document, {
      Field: (node) => {
        if (!node.selectionSet) return;
        const key = `${responseKey(node)}:${node.name.value}`;
        this.sameKey.set(key, [...(this.sameKey.get(key) ?? []), node]);
      },
    });
  }

  /** The conditions under which an entry is included, with those around it; null when a literal excludes it. */
  private conditionsOf(entry: Entry): Condition[] | null {
    if (!this.around) return null;
    const out = [...this.around];
    for (const directives of [...entry.wraps, entry.field.directives ?? []]) {
      for (const directive of directives) {
        if (!isInclusion(directive)) continue;
        const skip = directive.name.value === 'skip';
        const argument = directive.arguments?.find((a) => a.name.value === 'if')?.value;
        if (argument?.kind === Kind.BOOLEAN) {
          if (argument.value === skip) return null;
        } else if (argument?.kind === Kind.VARIABLE) {
          const variable = argument.name.value;
          if (!out.some((c) => c.variable === variable && c.skip === skip)) out.push({ variable, skip, fallback: this.defaults.get(variable) });
        }
      }
    }
    return out;
  }

  /** Plans an entry's selection with its conditions around (a key or required field of the planner's: as one). */
  within<T>(entry: Entry, plan: () => T): T {
    const around = this.around;
    const key = responseKey(entry.field).startsWith(this.prefixes.key);
    if (key) this.inKey++;
    else this.around = this.conditionsOf(entry);
    try {
      return plan();
    } finally {
      this.around = around;
      if (key) this.inKey--;
    }
  }

  /** Records, for a fetch just made, the conditions of the client fields it fills (a helper when made inside a key field). */
  fills(fetch: Fetch, entries: readonly Entry[]): void {
    if (this.inKey > 0) {
      this.helpers.add(fetch);
      return;
    }
    const clients = entries.filter((e) => !responseKey(e.field).startsWith(this.prefixes.key));
    if (clients.length === 0) return;
    const lists: Array<readonly Condition[]> = [];
    for (const entry of clients) {
      const all = this.conditionsOf(entry);
      if (all) lists.push(all);
    }
    this.own.set(fetch, lists);
  }

  /**
   * Sets Fetch.neededWhen on every fetch under `roots`: the conditions of its own client fields, or of any fetch that
   * reads its objects (a child), that waits for it (`after`: it brings a required field), or, for a helper made
   * inside a key field, of the fetch it was made under. A fetch nothing is known to need (no client field of its
   * own, nothing after it) always runs.
   */
  setNeeds(roots: readonly Fetch[]): void {
    const all: Fetch[] = [];
    const collect = (fetch: Fetch): void => {
      all.push(fetch);
      fetch.children.forEach(collect);
    };
    roots.forEach(collect);
    const waiting = new Map<Fetch, Fetch[]>();
    for (const fetch of all) for (const before of fetch.after ?? []) waiting.set(before, [...(waiting.get(before) ?? []), fetch]);
    const needs = new Map<Fetch, Need>();
    const needOf = (fetch: Fetch): Need => {
      if (needs.has(fetch)) return needs.get(fetch);
      needs.set(fetch, undefined); // a cycle (none expected): always
      let need: Need = this.own.get(fetch) ?? [];
      if (need.some((l) => l.length === 0)) need = undefined;
      for (const child of fetch.children) if (need && !this.helpers.has(child)) need = eitherNeed(need, needOf(child));
      for (const later of waiting.get(fetch) ?? []) if (need) need = eitherNeed(need, needOf(later));
      if (need && this.helpers.has(fetch) && !waiting.has(fetch) && fetch.parent) need = eitherNeed(need, needOf(fetch.parent));
      if (need?.length === 0 && !this.own.has(fetch)) need = undefined;
      needs.set(fetch, need);
      return need;
    };
    for (const fetch of all) {
      const need = needOf(fetch);
      if (need) fetch.neededWhen = need;
      else delete fetch.neededWhen;
    }
  }

  /** What is provided on objects of `type`: the fields for any object, and those of the fragments whose type condition it satisfies. */
  private providedFor(provided: Provided | undefined, type: Parent): Provided | undefined {
    if (!provided || ![...provided.keys()].some((k) => k.startsWith(ON))) return provided;
    let out: Provided = new Map([...provided].filter(([k]) => !k.startsWith(ON)));
    for (const [key, inner] of provided) {
      if (!key.startsWith(ON)) continue;
      const condition = this.schema.getType(key.slice(ON.length));
      if (condition === type || (condition && isAbstractType(condition) && this.schema.isSubType(condition, type))) out = mergeProvided(out, this.providedFor(inner, type))!;
    }
    return out;
  }

  private owners(typeName: string, field: string): readonly PlanSubgraph[] {
    return ownersOf(this.graph, coordinate(typeName, field), this.enabled);
  }

  private serves(subgraph: PlanSubgraph, typeName: string, field: string): boolean {
    return this.owners(typeName, field).includes(subgraph);
  }

  /** The subgraph that knows `iface` as an @interfaceObject and serves its `field`, answering for objects of `type`. */
  private interfaceObjectOwner(iface: string, field: string, type: Parent): PlanSubgraph | undefined {
    return this.owners(iface, field).find((s) => s.interfaceObjects?.has(iface) && s.entities.has(type.name));
  }

  /** The fields `subgraph` is asked for on an interface itself (not under a type condition) that only an @interfaceObject subgraph serves there. */
  private onInterface(type: GraphQLAbstractType, set: SelectionSetNode, subgraph: PlanSubgraph): OnInterface | undefined {
    if (!isInterfaceType(type)) return undefined;
    const fields = set.selections.filter(
      (s): s is FieldNode => s.kind === Kind.FIELD && s.name.value !== '__typename' && !this.serves(subgraph, type.name, s.name.value) && this.owners(type.name, s.name.value).some((o) => o.interfaceObjects?.has(type.name)),
    );
    return fields.length > 0 ? { type: type.name, fields: new Set(fields) } : undefined;
  }

  /** The fields selected on an object type, fragments flattened (their directives kept as wraps). */
  collect(type: Parent, set: SelectionSetNode): Entry[] {
    const out: Entry[] = [];
    if (!walkFields(this.schema, type, [set], this.fragments, forwardedInclusion, (field, wraps) => out.push({ field, wraps }))) {
      throw new Unplannable(`a fragment under ${type.name} is unknown or has directives of its own`);
    }
    return out;
  }

  /**
   * The selections `subgraph` is asked for on objects of `type` at `path`
   * (relative to `owner`'s objects); fields it does not serve become entity
   * fetches under `owner`.
   */
  planEntries(
    type: Parent,
    entries: readonly Entry[],
    subgraph: PlanSubgraph,
    path: readonly string[],
    owner: Fetch,
    provided?: Provided,
    representation = false,
    onInterface?: OnInterface,
  ): SelectionNode[] {
    provided = this.providedFor(provided, type);
    const local: SelectionNode[] = [];
    const remote = new Map<PlanSubgraph, Entry[]>();
    for (const entry of entries) {
      const name = entry.field.name.value;
      const at = coordinate(type.name, name);
      // Selected on the interface, which this subgraph does not serve the field of: the @interfaceObject subgraph that does answers it.
      const viaObject = onInterface?.fields.has(entry.field) ? this.interfaceObjectOwner(onInterface.type, name, type) : undefined;
      if (name === '__typename') {
        this.forwardable(type.name, entry.field, subgraph);
        local.push(wrapped(entry.field, entry.wraps));
      } else if (!viaObject && ((this.serves(subgraph, type.name, name) && (representation || !requiresOf(subgraph, type.name, name))) || provided?.has(name))) {
        // Answered here: a field it serves (one it @requires only inside `_entities`, with the representation), or one it @provides at this place.
        const inner = mergeProvided(provided?.get(name), subgraph.provides?.has(at) ? providedOf(subgraph.provides.get(at)) : undefined);
        local.push(wrapped(this.within(entry, () => this.planField(type, entry.field, subgraph, path, owner, inner)), entry.wraps));
      } else {
        const candidates = this.owners(type.name, name).filter((s) => s.entities.has(type.name));
        // @shareable: the subgraph already asked at this place, else the first by name (owners are in name order).
        const chosen = viaObject ?? candidates.find((s) => s === subgraph) ?? candidates.find((s) => remote.has(s)) ?? candidates[0];
        if (!chosen) throw new Unplannable(`${type.name}.${name}: no subgraph resolves ${type.name} by key`);
        let list = remote.get(chosen);
        if (!list) remote.set(chosen, (list = []));
        list.push(entry);
      }
    }
    // One set of entity fetches per pass: a field required with other arguments (its own, or a nested field's) by
    // another field goes in a later pass, whose keys and required fields are asked under aliases of its own (`__key_1_cost`).
    // A required field no one subgraph answers with all of its selection (`driver { age }`, `age` of another subgraph):
    // fetched first as a field of its own (`__key_driver`), with its own entity fetches; the requiring fetches after.
    // Each pass's such field is fetched with that pass's arguments, under an alias of its own where they differ
    // (`__key_driver: driver { age(unit: "YEARS") }`, `__key_2_driver: driver { age(unit: "MONTHS") }`).
    // One this subgraph serves is asked in this very call (`crew { licence { class } }`, where only `crew` is its own).
    const passes = this.argumentPasses(type, remote);
    const prefetch = this.prefetches(type, passes, subgraph, provided);
    const before = owner.children.length;
    const own = prefetch?.groups.get(subgraph);
    if (own) {
      prefetch!.groups.delete(subgraph);
      for (const e of own) local.push(this.within(e, () => this.planField(type, e.field, subgraph, path, owner, provided?.get(e.field.name.value))));
    }
    const prefix = this.prefixes.key;
    if (prefetch && prefetch.groups.size > 0) this.entityFetches(type, prefetch.groups, subgraph, path, owner, local, provided, prefix);
    const after = owner.children.slice(before);
    const first = prefetch ? 1 : 0;
    passes.forEach((groups, pass) =>
      this.entityFetches(type, groups, subgraph, path, owner, local, provided, pass + first === 0 ? prefix : `${prefix}${pass + first}_`, prefetch?.aliases[pass], after),
    );
    if (local.length === 0) local.push(TYPENAME);
    return local;
  }

  /**
   * The required fields of each pass's entries that neither this subgraph nor any other one answers with all of their
   * nested selection, each as an entry (`__key_driver: driver { age }`) for a subgraph that serves the field itself;
   * its nested fields of other subgraphs then come through that fetch's own entity fetches. A field several
   * requiring fields of a pass need (`driver { age }`, `driver { name }`) is asked once with all of their nested
   * selections; one a later pass needs with other arguments (argumentPasses) is asked again, under that pass's
   * prefix (`__key_2_driver`), and the same one of two passes once. `aliases`: per pass, each such field's response key.
   */
  private prefetches(
    type: Parent,
    passes: ReadonlyArray<ReadonlyMap<PlanSubgraph, Entry[]>>,
    subgraph: PlanSubgraph,
    provided: Provided | undefined,
  ): { groups: Map<PlanSubgraph, Entry[]>; aliases: Array<ReadonlyMap<string, string>> } | undefined {
    const groups = new Map<PlanSubgraph, Entry[]>();
    /** Each field asked, as printed, with its response key: a pass that needs it as an earlier one did reads that one. */
    const asked = new Map<string, string>();
    const taken = new Set<string>();
    const aliases = passes.map((remote, pass) => {
      /** The subgraph each prefetched field is asked of, by name. */
      const servers = new Map<string, PlanSubgraph>();
      /** Every required field met, by name: a prefetched one is asked with all of their selections. */
      const required = new Map<string, FieldNode[]>();
      const seen = new Set<string>();
      // The fields `target` requires for `requiring`, and those their providers require in turn (a provider is asked
      // through `_entities`, with a representation of its own).
      const need = (target: PlanSubgraph, requiring: string): void => {
        if (seen.has(`${target.name}.${requiring}`)) return;
        seen.add(`${target.name}.${requiring}`);
        for (const f of requiresOf(target, type.name, requiring)?.selections ?? []) {
          if (f.kind !== Kind.FIELD) continue;
          required.set(f.name.value, [...(required.get(f.name.value) ?? []), f]);
          if (servers.has(f.name.value) || this.answers(subgraph, type, f, provided)) continue;
          const owners = this.owners(type.name, f.name.value).filter((s) => s.entities.has(type.name));
          const provider = owners.find((s) => s !== target && this.answers(s, type, f, undefined, true));
          if (provider) {
            need(provider, f.name.value);
            continue;
          }
          const server = f.selectionSet && owners.find((s) => this.serves(s, type.name, f.name.value) && !requiresOf(s, type.name, f.name.value));
          if (server) servers.set(f.name.value, server);
        }
      };
      for (const [target, entries] of remote) for (const entry of entries) need(target, entry.field.name.value);
      const out = new Map<string, string>();
      for (const [name, server] of servers) {
        const fields = required.get(name)!;
        // Only through a provider's own requirements can two of one pass differ (argumentPasses reads the entries' own).
        if (fields.some((f, i) => fields.slice(i + 1).some((g) => conflicting(f, g)))) {
          throw new Unplannable(`${type.name}.${name}: required with other arguments by fields that must share one representation`);
        }
        const field = this.typed(type, mergeFieldSets([selectionSet(fields)])[0]!);
        const printed = print(field);
        let alias = asked.get(printed);
        if (!alias) {
          alias = (taken.has(name) ? `${this.prefixes.key}${pass + 1}_` : this.prefixes.key) + name;
          taken.add(name);
          asked.set(printed, alias);
          groups.set(server, [...(groups.get(server) ?? []), { field: { ...keyField(field, this.prefixes.key), alias: { kind: Kind.NAME, value: alias } }, wraps: [] }]);
        }
        out.set(name, alias);
      }
      return out;
    });
    return groups.size > 0 ? { groups, aliases } : undefined;
  }

  /**
   * The entity fetches' groups split so that no two entries of a pass require the same field with different
   * arguments, its own or a nested field's (`@requires(fields: "cost(unit: \"USD\")")` beside `cost(unit: \"EUR\")`,
   * `driver { age(unit: \"YEARS\") }` beside `driver { age(unit: \"MONTHS\") }`): each object's representation has one
   * value per field name, and a field fetched first for them (prefetches) one selection; the second is asked for in
   * a second pass.
   */
  private argumentPasses(type: Parent, remote: ReadonlyMap<PlanSubgraph, Entry[]>): Array<Map<PlanSubgraph, Entry[]>> {
    const passes: Array<{ groups: Map<PlanSubgraph, Entry[]>; required: Map<string, FieldNode[]> }> = [];
    for (const [target, entries] of remote) {
      for (const entry of entries) {
        const required = (requiresOf(target, type.name, entry.field.name.value)?.selections ?? []).filter((f): f is FieldNode => f.kind === Kind.FIELD);
        const fits = (pass: (typeof passes)[number]): boolean => required.every((f) => !(pass.required.get(f.name.value) ?? []).some((g) => conflicting(f, g)));
        let pass = passes.find(fits);
        if (!pass) passes.push((pass = { groups: new Map(), required: new Map() }));
        pass.groups.set(target, [...(pass.groups.get(target) ?? []), entry]);
        for (const f of required) pass.required.set(f.name.value, [...(pass.required.get(f.name.value) ?? []), f]);
      }
    }
    return passes.map((p) => p.groups);
  }

  /**
   * Whether `subgraph` answers a key or required field at this place, with all of its nested selection;
   * `asEntity`: asked through `_entities`, where a field it @requires is answered too (its representation carries the rest).
   */
  private answers(subgraph: PlanSubgraph, type: Parent, field: FieldNode, provided: Provided | undefined, asEntity = false): boolean {
    const name = field.name.value;
    const here = provided?.get(name);
    if (!here && (!this.serves(subgraph, type.name, name) || (!asEntity && requiresOf(subgraph, type.name, name)))) return false;
    if (!field.selectionSet) return true;
    const definition = type.getFields()[name];
    const inner = definition ? getNamedType(definition.type) : undefined;
    if (!inner || !(isObjectType(inner) || isAbstractType(inner))) return false;
    return this.answersSet(subgraph, inner, field.selectionSet, here);
  }

  /** A key or required field with `__typename` in the selection of each interface or union in it: the representation says each nested object's type. */
  private typed(type: GraphQLCompositeType, field: FieldNode): FieldNode {
    if (!field.selectionSet) return field;
    const definition = 'getFields' in type ? type.getFields()[field.name.value] : undefined;
    const inner = definition ? (getNamedType(definition.type) as GraphQLCompositeType) : undefined;
    if (!inner) return field;
    const within = (at: GraphQLCompositeType, set: SelectionSetNode): SelectionSetNode =>
      selectionSet([
        ...set.selections.map((s): SelectionNode => {
          if (s.kind === Kind.FIELD) return this.typed(at, s);
          if (s.kind !== Kind.INLINE_FRAGMENT) return s;
          const condition = s.typeCondition ? (this.schema.getType(s.typeCondition.name.value) as GraphQLCompositeType | undefined) : at;
          return condition ? { ...s, selectionSet: within(condition, s.selectionSet) } : s;
        }),
        ...(isAbstractType(at) ? [TYPENAME] : []),
      ]);
    return { ...field, selectionSet: within(inner, field.selectionSet) };
  }

  /**
   * Whether `subgraph` answers a nested selection of a key or required field: on an interface or union, each
   * field for every implementation it knows, and each inline fragment (`... on Crate { slats }`) for its type.
   */
  private answersSet(subgraph: PlanSubgraph, type: GraphQLCompositeType, set: SelectionSetNode, provided: Provided | undefined): boolean {
    const known = isObjectType(type) ? [type] : this.schema.getPossibleTypes(type).filter((t) => subgraph.visible.getType(t.name));
    return set.selections.every((s) => {
      if (s.kind === Kind.INLINE_FRAGMENT) {
        // A type the unified graph lacks (@inaccessible) is still the subgraph's own: read there.
        const name = s.typeCondition?.name.value;
        const condition = name ? (this.schema.getType(name) ?? subgraph.visible.getType(name)) : type;
        return !s.directives?.length && !!condition && (isObjectType(condition) || isAbstractType(condition)) && (!subgraph.visible.getType(condition.name) || this.answersSet(subgraph, condition, s.selectionSet, provided));
      }
      if (s.kind !== Kind.FIELD) return false;
      return s.name.value === '__typename' || known.every((t) => this.answers(subgraph, t, s, isObjectType(type) ? provided : this.providedFor(provided, t)));
    });
  }


  /** The keys `target` resolves `type` by, as field sets. */
  private keySets(target: PlanSubgraph, type: Parent): readonly SelectionSetNode[] {
    const entity = target.entities.get(type.name);
    if (!entity) return [];
    return entity.federation?.keys ?? [selectionSet(entity.keys.map((k): FieldNode => ({ kind: Kind.FIELD, name: { kind: Kind.NAME, value: k } })))];
  }

  /**
   * The fields an entity fetch from `target` needs on each object, key fields first: the declared key
   * (`entities:`), or for a federation entity the first @key the current subgraph answers (else the first @key)
   * and then the fields the selected fields @require.
   */
  private representationFields(type: Parent, target: PlanSubgraph, entries: readonly Entry[], subgraph: PlanSubgraph, provided: Provided | undefined): { fields: FieldNode[]; keyCount: number } {
    const entity = target.entities.get(type.name)!;
    const federation = entity.federation;
    if (!federation) {
      for (const key of entity.keys) {
        const definition = type.getFields()[key];
        if (!definition || !isLeafType(getNamedType(definition.type))) throw new Unplannable(`${type.name}.${key}: keys must be leaf fields`);
      }
      return { fields: entity.keys.map((k) => ({ kind: Kind.FIELD, name: { kind: Kind.NAME, value: k } })), keyCount: entity.keys.length };
    }
    const answerable = (set: SelectionSetNode): boolean => set.selections.every((f) => f.kind === Kind.FIELD && this.answers(subgraph, type, f, provided));
    const key = federation.keys.find(answerable) ?? federation.keys[0]!;
    const keyFields = mergeFieldSets([key]);
    const required = mergeFieldSets(entries.map((e) => requiresOf(target, type.name, e.field.name.value)));
    const extra = required.filter((f) => !keyFields.some((k) => k.name.value === f.name.value));
    return { fields: [...keyFields, ...extra], keyCount: keyFields.length };
  }

  /**
   * How the value of each of a representation's fields is read (Fetch.entity.keyShapes): by its field set's nested
   * selection; undefined when all are leaf fields (their values are sent as answered).
   */
  private shapes(fields: readonly FieldNode[], target: PlanSubgraph): Shapes {
    if (!fields.some((f) => f.selectionSet)) return undefined;
    return fields.map((f) => f.selectionSet && shapeOf(f.selectionSet, [this.schema, target.visible]));
  }

  private entityFetches(
    type: Parent,
    groups: Map<PlanSubgraph, Entry[]>,
    subgraph: PlanSubgraph,
    path: readonly string[],
    owner: Fetch,
    local: SelectionNode[],
    provided: Provided | undefined,
    /** The alias prefix of this pass's key and required fields (argumentPasses). */
    prefix: string,
    /** Required fields already asked for on these objects by `after`'s fetches (prefetches): name → response key. */
    prefetched: ReadonlyMap<string, string> = new Map(),
    after: readonly Fetch[] = [],
  ): void {
    // Where each group's keys come from: the current subgraph, or one other group (fetched first).
    const dependsOn = new Map<PlanSubgraph, PlanSubgraph | undefined>();
    const representation = new Map<PlanSubgraph, { names: string[]; shapes: Shapes; keyCount: number }>();
    const localKeys = new Map<string, FieldNode>();
    const addKey = (list: Entry[] | Map<string, FieldNode>, field: FieldNode): void => {
      const name = field.name.value;
      if (list instanceof Map) {
        const existing = list.get(name);
        list.set(name, existing ? mergeFieldSets([selectionSet([existing, field])])[0]! : field);
        return;
      }
      const at = list.findIndex((e) => e.field.alias?.value === prefix + name);
      const key = keyField(field, prefix);
      if (at === -1) list.push({ field: key, wraps: [] });
      else if (field.selectionSet) list[at] = { field: keyField({ ...field, selectionSet: mergeFieldSets([selectionSet([list[at]!.field, key])])[0]!.selectionSet }, prefix), wraps: [] };
    };
    const pending = [...groups.keys()];
    while (pending.length > 0) {
      const target = pending.shift()!;
      const { fields, keyCount } = this.representationFields(type, target, groups.get(target)!, subgraph, provided);
      representation.set(target, { names: fields.map((f) => f.name.value), shapes: this.shapes(fields, target), keyCount });
      let dependency: PlanSubgraph | undefined;
      for (const field of fields) {
        const key = field.name.value;
        if (prefetched.has(key)) continue;
        if (this.answers(subgraph, type, field, provided)) {
          addKey(localKeys, field);
          continue;
        }
        // A provider is asked through `_entities`: a field it @requires comes with its own representation (@requires on @requires).
        const providers = this.owners(type.name, key).filter((s) => s !== target && s.entities.has(type.name) && this.answers(s, type, field, undefined, true));
        // Preferably one this subgraph can give a key to (else its own key would have to come from another first).
        const reachable = (s: PlanSubgraph): boolean => this.keySets(s, type).some((set) => set.selections.every((f) => f.kind === Kind.FIELD && this.answers(subgraph, type, f, provided)));
        const provider = providers.find((s) => groups.has(s) && reachable(s)) ?? providers.find(reachable) ?? providers.find((s) => groups.has(s)) ?? providers[0];
        if (!provider) throw new Unplannable(`${type.name}.${key}: no subgraph provides this key for ${target.name}`);
        if (dependency && dependency !== provider) throw new Unplannable(`${type.name}: keys for ${target.name} come from two subgraphs`);
        dependency = provider;
        let list = groups.get(provider);
        if (!list) {
          groups.set(provider, (list = []));
          pending.push(provider);
        }
        const before = list.length;
        addKey(list, field);
        // A group whose representation is already worked out gains a field (which may @require more): worked out again.
        if (list.length > before && representation.has(provider) && !pending.includes(provider)) pending.push(provider);
      }
      dependsOn.set(target, dependency);
    }
    // A leaf key or required field the client already asks of this subgraph here, as it is (no alias, arguments or
    // directives: `upc` beside `__key_upc: upc`), is read from the client's own field: no second copy of the value in
    // the answer, and objects keep the client's shape (the result check copies an object with extra keys).
    const asSelected = new Set<string>();
    for (const [name, field] of localKeys) {
      if (!field.selectionSet && !field.arguments?.length && local.some((s) => isPlainField(s, name))) asSelected.add(name);
      else local.push(keyField(this.typed(type, field), prefix));
    }

    const created = new Map<PlanSubgraph, Fetch>();
    const create = (target: PlanSubgraph, seen: ReadonlySet<PlanSubgraph>): Fetch => {
      const existing = created.get(target);
      if (existing) return existing;
      if (seen.has(target)) throw new Unplannable(`${type.name}: key fields depend on each other in a cycle`);
      const dependency = dependsOn.get(target);
      const parent = dependency ? create(dependency, new Set([...seen, target])) : owner;
      const entry = target.entities.get(type.name)!;
      const entries = groups.get(target)!;
      const { names, shapes, keyCount } = representation.get(target)!;
      const fetch: Fetch = {
        subgraph: target,
        parent,
        path: dependency ? [] : path,
        entity: { entry, keyNames: names, keyAliases: names.map((k) => prefetched.get(k) ?? (asSelected.has(k) ? k : prefix + k)), ...(shapes && { keyShapes: shapes }), keyCount, alias: '', variable: '' },
        ...(!dependency && after.length > 0 && { after }),
        selections: [],
        fields: entries.map((e) => responseKey(e.field)).filter((k) => !k.startsWith(this.prefixes.key)),
        children: [],
      };
      created.set(target, fetch);
      parent.children.push(fetch);
      this.fills(fetch, entries);
      fetch.selections = this.planEntries(type, entries, target, [], fetch, undefined, true);
      return fetch;
    };
    for (const target of groups.keys()) create(target, new Set());
  }

  /** Whether `subgraph` can answer a root field with all of its selection (planned on a scratch fetch). */
  answersRoot(rootType: GraphQLObjectType, field: FieldNode, subgraph: PlanSubgraph): boolean {
    try {
      this.planField(rootType, field, subgraph, [], { subgraph, path: [], selections: [], fields: [], children: [] });
      return true;
    } catch (error) {
      if (error instanceof Unplannable) return false;
      throw error;
    }
  }

  /**
   * A root field of an object type no one of `owners` answers whole, as one copy per owner with the fields of
   * its selection that owner answers (each field to the first that does); undefined when a field has none.
   */
  splitRoot(rootType: GraphQLObjectType, entry: Entry, owners: readonly PlanSubgraph[]): Array<[PlanSubgraph, Entry]> | undefined {
    const definition = rootType.getFields()[entry.field.name.value];
    const type = definition && getNamedType(definition.type);
    if (!type || !isObjectType(type) || !entry.field.selectionSet) return undefined;
    const parts = new Map<PlanSubgraph, SelectionNode[]>();
    for (const inner of this.collect(type, entry.field.selectionSet)) {
      const alone: FieldNode = { ...entry.field, selectionSet: selectionSet([wrapped(inner.field, inner.wraps)]) };
      const owner = owners.find((s) => this.answersRoot(rootType, alone, s));
      if (!owner) return undefined;
      parts.set(owner, [...(parts.get(owner) ?? []), wrapped(inner.field, inner.wraps)]);
    }
    return [...parts].map(([owner, selections]) => [owner, { field: { ...entry.field, selectionSet: selectionSet(selections) }, wraps: entry.wraps }]);
  }

  /**
   * The directives other than @skip/@include a field is sent to `subgraph` with (forwardedOf); declined
   * (Unplannable) when the subgraph does not declare one of them: it would refuse the whole call.
   */
  private forwardable(parentType: string, field: FieldNode, subgraph: PlanSubgraph): readonly DirectiveNode[] {
    const forwarded = forwardedOf(field);
    for (const directive of forwarded) {
      if (subgraph.visible.getDirective(directive.name.value)) continue;
      this.directiveDeclined = `directive @${directive.name.value} on ${coordinate(parentType, field.name.value)}: subgraph "${subgraph.name}", which would answer the field, does not declare it`;
      throw new Unplannable(this.directiveDeclined);
    }
    return forwarded;
  }

  /**
   * A field `subgraph` serves, with its selection planned in turn; with its directives other than @skip/@include
   * (forwardable) only where this call answers all of its selection: a field with fields of other subgraphs under it
   * (entity fetches) is assembled from several calls, which the directive would not all reach, so it is declined.
   */
  planField(parentType: Parent, field: FieldNode, subgraph: PlanSubgraph, path: readonly string[], owner: Fetch, provided?: Provided): FieldNode {
    const forwarded = this.forwardable(parentType.name, field, subgraph);
    if (!field.selectionSet || forwarded.length === 0) return this.planSelection(parentType, field, subgraph, path, owner, provided);
    const before = owner.children.length;
    const planned = this.planSelection(parentType, field, subgraph, path, owner, provided);
    if (owner.children.length > before) {
      const others = [...new Set(owner.children.slice(before).map((f) => `"${f.subgraph.name}"`))].join(', ');
      this.directiveDeclined = `directive @${forwarded[0]!.name.value} on ${coordinate(parentType.name, field.name.value)}: fields under it come from other calls (${others}), and the planner forwards a directive only on a field one call answers whole`;
      throw new Unplannable(this.directiveDeclined);
    }
    return planned;
  }

  private planSelection(parentType: Parent, field: FieldNode, subgraph: PlanSubgraph, path: readonly string[], owner: Fetch, provided: Provided | undefined): FieldNode {
    if (!field.selectionSet) return field;
    const definition = parentType.getFields()[field.name.value];
    if (!definition) throw new Unplannable(`${parentType.name}.${field.name.value} is not in the schema`);
    const type = getNamedType(definition.type) as GraphQLCompositeType;
    const inner = [...path, responseKey(field)];
    if (isObjectType(type)) {
      return { ...field, selectionSet: selectionSet(this.planEntries(type, this.collect(type, field.selectionSet), subgraph, inner, owner, provided)) };
    }
    if (subgraph.interfaceObjects?.has(type.name)) return { ...field, selectionSet: selectionSet(this.planInterfaceObject(type as GraphQLInterfaceType, field, subgraph, inner, owner, provided)) };
    try {
      // The subgraph answers the whole selection itself: sent as the client wrote it.
      return { ...field, selectionSet: this.local(type, field.selectionSet, subgraph) };
    } catch (error) {
      if (!(error instanceof Unplannable)) throw error;
      return { ...field, selectionSet: selectionSet(this.planAbstract(type, field.selectionSet, subgraph, inner, owner, provided)) };
    }
  }

  /**
   * Objects of an interface from a subgraph that knows it as an @interfaceObject (their `__typename` is the
   * interface's name). What is selected on the interface itself and does not depend on the concrete type
   * (interfaceLevel) is planned on the interface as on an object type: this subgraph answers its own fields in this
   * call, and the others come through `_entities` by the interface's name (from another @interfaceObject subgraph,
   * or from the interface's own subgraph). The concrete type is asked of the interface's subgraph only when
   * something selected needs it (`__typename`, a type condition on another type, a field an implementation's own
   * subgraph serves), with that part of the selection alone (viaInterfaceOwner); else this subgraph's `__typename`
   * (the interface's name) is asked, and the result check completes the object as the interface; the same for a
   * request whose @skip/@include leave out all that needs it (the concrete type's fetch is not needed then, and
   * this subgraph's `__typename` is asked beside it: Fetch.concreteType). A document that
   * graphql-js's execute checks (result-check.ts compilable: introspection)
   * has every interface resolved by its concrete type: it is asked whatever is selected (`__typename` alone, when
   * nothing else needs it).
   */
  private planInterfaceObject(type: GraphQLInterfaceType, field: FieldNode, subgraph: PlanSubgraph, path: readonly string[], owner: Fetch, provided: Provided | undefined): SelectionNode[] {
    const level: SelectionNode[] = [];
    const concrete: SelectionNode[] = [];
    for (const selection of field.selectionSet!.selections) (this.interfaceLevel(type, selection, subgraph) ? level : concrete).push(selection);
    let own: SelectionNode[] = [];
    const before = owner.children.length;
    try {
      if (level.length > 0) own = this.planEntries(type, this.collect(type, selectionSet(level)), subgraph, path, owner, provided).filter((s) => s !== TYPENAME);
    } catch (error) {
      // Not plannable on the interface (no subgraph resolves it by its name for a field): all of it by concrete type.
      if (!(error instanceof Unplannable)) throw error;
      owner.children.length = before;
      concrete.unshift(...level);
    }
    // A field of the same response key may be merged with this one in the answer (`{ pinned { id } ...F }`, F selecting
    // `pinned { __typename }`): where one of them needs the concrete type, each asks it (the interface's name, once
    // in the merged object, would stay there).
    const merged = this.sameKey.get(`${responseKey(field)}:${field.name.value}`) ?? [field];
    const alone = merged.every((f) => f.selectionSet!.selections.every((s) => this.interfaceLevel(type, s, subgraph)));
    if (concrete.length === 0 && alone && this.byInterface) return [...own, TYPENAME];
    // This subgraph's `__typename` (the interface's name) too: what the object keeps where the concrete type's fetch
    // is left out by the client's @skip/@include (Fetch.concreteType).
    return [...own, TYPENAME, ...this.viaInterfaceOwner(type, selectionSet(concrete.length > 0 ? concrete : [TYPENAME]), subgraph, path, owner)];
  }

  /**
   * Whether a selection on an @interfaceObject's objects is answered without their concrete type: a field other
   * than `__typename` that this subgraph serves on the interface, or another @interfaceObject subgraph (for every
   * implementation, @shareable or not), or the interface's own subgraph where no implementation's field is served
   * elsewhere (@override); a fragment on the interface itself (or without a type condition) of such selections.
   */
  private interfaceLevel(type: GraphQLInterfaceType, selection: SelectionNode, subgraph: PlanSubgraph): boolean {
    if (selection.kind === Kind.FIELD) {
      const name = selection.name.value;
      if (name === '__typename') return false;
      const owners = this.owners(type.name, name);
      if (owners.includes(subgraph) || owners.some((o) => o.interfaceObjects?.has(type.name) && o.entities.has(type.name))) return true;
      const byName = owners.some((o) => o.entities.get(type.name)?.federation?.typename === type.name);
      return byName && this.schema.getPossibleTypes(type).every((t) => this.owners(t.name, name).every((o) => owners.includes(o)));
    }
    const fragment = selection.kind === Kind.FRAGMENT_SPREAD ? this.fragments.get(selection.name.value) : selection;
    const condition = fragment?.typeCondition?.name.value;
    return !!fragment && (!condition || condition === type.name) && fragment.selectionSet.selections.every((s) => this.interfaceLevel(type, s, subgraph));
  }

  /**
   * The part of an @interfaceObject's selection that needs the objects' concrete type (planInterfaceObject): this
   * subgraph is asked for their key only, and the subgraph that defines the interface as an entity
   * interface answers the rest, starting with each object's concrete type, through `_entities` with the
   * interface's name (the spec's way; fields of the first subgraph selected under a type condition come back
   * through its own `_entities`).
   */
  private viaInterfaceOwner(type: GraphQLAbstractType, set: SelectionSetNode, subgraph: PlanSubgraph, path: readonly string[], owner: Fetch): SelectionNode[] {
    const target = this.graph.subgraphs.find((s) => s !== subgraph && !s.interfaceObjects?.has(type.name) && s.entities.get(type.name)?.federation?.typename === type.name);
    const entry = target?.entities.get(type.name);
    if (!target || !entry?.federation) throw new Unplannable(`${type.name}: no subgraph resolves the interface as an entity (@key on the interface) for ${subgraph.name}'s @interfaceObject`);
    const keyFields = mergeFieldSets([entry.federation.keys[0]]);
    const names = keyFields.map((f) => f.name.value);
    const shapes = this.shapes(keyFields, target);
    const keys = new Set<string>();
    for (const concrete of this.schema.getPossibleTypes(type)) for (const e of this.collect(concrete, set)) if (e.field.name.value !== '__typename') keys.add(responseKey(e.field));
    const fetch: Fetch = {
      subgraph: target,
      parent: owner,
      path,
      entity: { entry, keyNames: names, keyAliases: names.map((k) => this.prefixes.key + k), ...(shapes && { keyShapes: shapes }), keyCount: names.length, alias: '', variable: '' },
      selections: [],
      fields: [...keys],
      children: [],
      concreteType: true,
    };
    owner.children.push(fetch);
    // It answers each object's concrete type (`__typename`): needed where one of the fields it fills is included (the
    // result check completes the object as the interface otherwise), always where graphql-js's execute checks the
    // answer (byInterface false), which resolves every interface by its concrete type.
    const filled = this.schema.getPossibleTypes(type).flatMap((concrete) => this.collect(concrete, set));
    this.fills(fetch, this.byInterface ? filled : [{ field: TYPENAME, wraps: [] }, ...filled]);
    fetch.selections = this.planAbstract(type, set, target, [], fetch, undefined);
    return keyFields.map((f) => keyField(f, this.prefixes.key));
  }

  /**
   * A selection under an interface or union that needs other subgraphs: planned once per concrete type the
   * subgraph can answer, each in its own `... on <Type>`, as for an object of that type (so a field of another
   * subgraph becomes an entity fetch); such a fetch joins only the objects of its type (Fetch.filters), told
   * apart by their `__typename`. Fields on an entity interface itself (the field's type, or a fragment's type
   * condition inside a union: viaInterfaceFragments) are fetched once by the interface's key instead.
   */
  private planAbstract(type: GraphQLAbstractType, set: SelectionSetNode, subgraph: PlanSubgraph, path: readonly string[], owner: Fetch, provided: Provided | undefined): SelectionNode[] {
    const selections: SelectionNode[] = [TYPENAME];
    const onInterface = this.onInterface(type, set, subgraph);
    // Fields on an entity interface itself: one entity fetch for every object, by the interface's key and name; the
    // rest per concrete type, without them (nor the same field selected again under a type condition).
    let viaInterface: ViaInterface[] = [];
    const onItself = isInterfaceType(type) ? this.viaEntityInterface(type, set, subgraph, onInterface) : [];
    if (onItself.length > 0) {
      const before = owner.children.length;
      try {
        selections.push(...this.planEntries(type as GraphQLInterfaceType, onItself, subgraph, path, owner, provided).filter((s) => s !== TYPENAME));
        viaInterface = onItself.map((entry) => ({ entry }));
      } catch (error) {
        // Not plannable on the interface (its key not to be had here): all of it per concrete type.
        if (!(error instanceof Unplannable)) throw error;
        owner.children.length = before;
      }
    }
    if (isUnionType(type)) viaInterface = this.viaInterfaceFragments(type, set, subgraph, path, owner, provided, selections);
    const printed = new Map(viaInterface.map((i) => [i, i.entry.wraps.length === 0 ? print(i.entry.field) : undefined]));
    const covered = (entry: Entry, concrete: GraphQLObjectType): boolean =>
      viaInterface.some(
        (i) =>
          (!i.members || i.members.includes(concrete.name)) &&
          (i.entry.field === entry.field || (printed.get(i) !== undefined && responseKey(i.entry.field) === responseKey(entry.field) && printed.get(i) === print(entry.field))),
      );
    for (const concrete of this.schema.getPossibleTypes(type)) {
      if (!overlapsIn(subgraph, type, concrete)) continue;
      const entries = viaInterface.length > 0 ? this.collect(concrete, set).filter((e) => !covered(e, concrete)) : this.collect(concrete, set);
      if (entries.length === 0) continue;
      const before = owner.children.length;
      const planned = this.planEntries(concrete, entries, subgraph, path, owner, provided, false, onInterface);
      for (const child of owner.children.slice(before)) child.filters = [...(child.filters ?? []), { depth: path.length, typenames: [concrete.name] }];
      selections.push({ kind: Kind.INLINE_FRAGMENT, typeCondition: { kind: Kind.NAMED_TYPE, name: { kind: Kind.NAME, value: concrete.name } }, selectionSet: selectionSet(planned) });
    }
    return selections;
  }

  /**
   * Fragments on an entity interface inside a union (`shelf { ... on Item { price } }`, a fragment spread too),
   * where `subgraph` goes from the union to the interface as Apollo Gateway's query graph does (castsTo): the
   * fields on the interface itself that viaEntityInterface takes are fetched once by the interface's key and name
   * (`__typename: "Item"`), for the objects of the union's members that implement it (Fetch.filters), with the
   * key asked in `... on Item`, pushed onto `selections`; what they cover, with those members. Not for a
   * fragment of such fields alone one of which is selected again for a member outside it (as Apollo Gateway).
   */
  private viaInterfaceFragments(
    union: GraphQLUnionType,
    set: SelectionSetNode,
    subgraph: PlanSubgraph,
    path: readonly string[],
    owner: Fetch,
    provided: Provided | undefined,
    selections: SelectionNode[],
  ): ViaInterface[] {
    // The fragments on each interface, planned together (one entity fetch per interface).
    const byInterface = new Map<GraphQLInterfaceType, SelectionNode[]>();
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) continue;
      const fragment = selection.kind === Kind.FRAGMENT_SPREAD ? this.fragments.get(selection.name.value) : selection;
      const iface = fragment?.typeCondition ? this.schema.getType(fragment.typeCondition.name.value) : undefined;
      if (isInterfaceType(iface)) byInterface.set(iface, [...(byInterface.get(iface) ?? []), selection]);
    }
    const out: ViaInterface[] = [];
    for (const [iface, fragments] of byInterface) {
      const members = this.castsTo(union, iface, subgraph);
      if (!members) continue;
      const own = selectionSet(fragments);
      const entries = this.viaEntityInterface(iface, own, subgraph, undefined);
      if (entries.length === 0) continue;
      // Nothing else in the fragments (no field this subgraph answers itself), and one of them selected again outside
      // them for one of the members (`... on Film { price }`, fetched by its own type): Apollo Gateway's plan is
      // cheaper fetching every member's objects by their own type, and Tessera's is the same.
      const rest = selectionSet(set.selections.filter((s) => !fragments.includes(s)));
      const keys = new Set(entries.map((e) => responseKey(e.field)));
      const alone = this.collect(iface, own).every((e) => e.field.name.value === '__typename' || entries.some((i) => i.field === e.field));
      if (alone && members.some((name) => this.collect(this.schema.getType(name) as GraphQLObjectType, rest).some((e) => keys.has(responseKey(e.field))))) continue;
      const before = owner.children.length;
      try {
        const planned = this.planEntries(iface, entries, subgraph, path, owner, provided).filter((s) => s !== TYPENAME);
        for (const child of owner.children.slice(before)) child.filters = [...(child.filters ?? []), { depth: path.length, typenames: members }];
        selections.push({ kind: Kind.INLINE_FRAGMENT, typeCondition: { kind: Kind.NAMED_TYPE, name: { kind: Kind.NAME, value: iface.name } }, selectionSet: selectionSet(planned) });
        out.push(...entries.map((entry) => ({ entry, members })));
      } catch (error) {
        // Not plannable on the interface (its key not to be had here): per concrete type.
        if (!(error instanceof Unplannable)) throw error;
        owner.children.length = before;
      }
    }
    return out;
  }

  /**
   * The members of `union` implementing `iface` in `subgraph`, where its objects may be taken as the interface's
   * there: as Apollo Gateway's query graph links two abstract types of a subgraph (a `DownCast` edge,
   * @apollo/query-graphs addAdditionalAbstractTypeEdges), when they have two or more object types in common there
   * and no implementation of the interface elsewhere is a member of the union there without implementing it
   * there; undefined otherwise (each type planned on its own).
   */
  private castsTo(union: GraphQLUnionType, iface: GraphQLInterfaceType, subgraph: PlanSubgraph): string[] | undefined {
    const ownUnion = subgraph.visible.getType(union.name);
    const ownInterface = subgraph.visible.getType(iface.name);
    if (!isUnionType(ownUnion) || !isInterfaceType(ownInterface)) return undefined;
    const implementing = new Set(subgraph.visible.getPossibleTypes(ownInterface).map((t) => t.name));
    const members = ownUnion.getTypes().map((t) => t.name);
    const common = members.filter((name) => implementing.has(name));
    if (common.length < 2) return undefined;
    if (this.schema.getPossibleTypes(iface).some((t) => members.includes(t.name) && !implementing.has(t.name))) return undefined;
    return common;
  }

  /**
   * The fields selected on an entity interface itself (directly, or in a fragment on the interface) that `subgraph`
   * does not serve there and that only subgraphs resolving the interface as an entity (`@key` on the interface, not
   * an @interfaceObject) serve there, for every implementation `subgraph` may answer: fetched from one of them by the
   * interface's key, each representation's `__typename` the interface's name, as Apollo Gateway does, rather than
   * once per implementation by its own key.
   */
  private viaEntityInterface(type: GraphQLInterfaceType, set: SelectionSetNode, subgraph: PlanSubgraph, onInterface: OnInterface | undefined): Entry[] {
    if (subgraph.interfaceObjects?.has(type.name)) return [];
    const implementations = this.schema.getPossibleTypes(type).filter((t) => overlapsIn(subgraph, type, t));
    return this.collect(type, set).filter(({ field }) => {
      const name = field.name.value;
      if (name === '__typename' || onInterface?.fields.has(field) || this.serves(subgraph, type.name, name)) return false;
      const candidates = this.owners(type.name, name).filter((o) => o.entities.has(type.name));
      return (
        candidates.length > 0 &&
        candidates.every((o) => !o.interfaceObjects?.has(type.name) && o.entities.get(type.name)?.federation?.typename === type.name && implementations.every((t) => this.serves(o, t.name, name)))
      );
    });
  }

  /**
   * A selection under an interface or union, which must be served by
   * `subgraph` alone: named fragments inlined, `__typename` added wherever
   * the type is abstract (the result check resolves the concrete type by it).
   */
  local(type: GraphQLCompositeType, set: SelectionSetNode, subgraph: PlanSubgraph): SelectionSetNode {
    const selections: SelectionNode[] = [];
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) {
        const name = selection.name.value;
        this.forwardable(type.name, selection, subgraph);
        if (name === '__typename') {
          selections.push(selection);
          continue;
        }
        if (!this.serves(subgraph, type.name, name)) throw new Unplannable(`${type.name}.${name} under an abstract type is not in ${subgraph.name}`);
        // An interface's field another subgraph answers for some implementation (moved there by @override): per concrete type.
        if (isInterfaceType(type) && !this.schema.getPossibleTypes(type).every((t) => !overlapsIn(subgraph, type, t) || this.serves(subgraph, t.name, name))) {
          throw new Unplannable(`${type.name}.${name} is answered by another subgraph for some of its implementations`);
        }
        if (!selection.selectionSet) {
          selections.push(selection);
          continue;
        }
        const fieldType = getNamedType((type as GraphQLObjectType).getFields()[name]!.type) as GraphQLCompositeType;
        selections.push({ ...selection, selectionSet: this.local(fieldType, selection.selectionSet, subgraph) });
        continue;
      }
      const fragment = selection.kind === Kind.FRAGMENT_SPREAD ? this.fragments.get(selection.name.value) : selection;
      if (!fragment) throw new Unplannable(`unknown fragment ${(selection as { name: { value: string } }).name.value}`);
      const conditionName = fragment.typeCondition?.name.value;
      const condition = conditionName ? this.schema.getType(conditionName) : type;
      // A type the unified graph lacks (@inaccessible) in a key or required field set: the subgraph's own, sent as it is.
      if (!condition && conditionName && subgraph.visible.getType(conditionName) && selection.kind === Kind.INLINE_FRAGMENT) {
        selections.push(selection);
        continue;
      }
      if (!condition) throw new Unplannable(`type ${conditionName} is not in the schema`);
      // A type condition no object of this subgraph's type can satisfy (a type or union member only another subgraph has): left out.
      if (!overlapsIn(subgraph, type, condition as GraphQLCompositeType)) continue;
      selections.push({
        kind: Kind.INLINE_FRAGMENT,
        typeCondition: fragment.typeCondition,
        directives: selection.directives,
        selectionSet: this.local(condition as GraphQLCompositeType, fragment.selectionSet, subgraph),
      });
    }
    if (isAbstractType(type)) selections.push(TYPENAME);
    return selectionSet(selections);
  }
}

/** Whether objects of `type` in `subgraph`'s schema may be of type `condition` there (its own members and implementations). */
function overlapsIn(subgraph: PlanSubgraph, type: GraphQLCompositeType, condition: GraphQLCompositeType): boolean {
  const own = subgraph.visible.getType(type.name);
  const ownCondition = subgraph.visible.getType(condition.name);
  return own !== undefined && ownCondition !== undefined && doTypesOverlap(subgraph.visible, own as GraphQLCompositeType, ownCondition as GraphQLCompositeType);
}

function usedVariables(selections: readonly SelectionNode[]): Set<string> {
  const names = new Set<string>();
  visit(selectionSet(selections), {
    Variable(node) {
      names.add(node.name.value);
    },
  });
  return names;
}

function operationDocument(operation: Call['operationType'], variables: readonly VariableDefinitionNode[], selections: readonly SelectionNode[]): DocumentNode {
  return {
    kind: Kind.DOCUMENT,
    definitions: [{ kind: Kind.OPERATION_DEFINITION, operation: operation as never, variableDefinitions: variables, selectionSet: selectionSet(selections) }],
  };
}

/** A named type (in a variable's type) in the subgraph's names. */
function typeInSubgraphTerms(type: TypeNode, renames: Renames): TypeNode {
  if (type.kind !== Kind.NAMED_TYPE) return { ...type, type: typeInSubgraphTerms(type.type, renames) as never };
  const name = renames.type(type.name.value);
  return name === type.name.value ? type : { ...type, name: { ...type.name, value: name } };
}

/**
 * A call's document, planned in the unified graph's names, in the names of
 * a renamed subgraph: each renamed field under its own name, aliased to the
 * response key the plan expects; type conditions and variable types renamed.
 * Rewritten on leaving each node, so the type information (over the
 * subgraph's renamed schema) is read while the names are still the unified ones.
 */
function inSubgraphTerms(document: DocumentNode, subgraph: PlanSubgraph): DocumentNode {
  const renames = subgraph.renames;
  if (!renames) return document;
  const typeInfo = new TypeInfo(subgraph.visible);
  return visit(
    document,
    visitWithTypeInfo(typeInfo, {
      Field: {
        leave(node) {
          const parent = typeInfo.getParentType();
          if (!parent || node.name.value === '__typename') return undefined;
          const name = renames.field(parent.name, node.name.value);
          if (name === node.name.value) return undefined;
          return { ...node, alias: node.alias ?? { kind: Kind.NAME, value: node.name.value }, name: { ...node.name, value: name } };
        },
      },
      InlineFragment: {
        leave(node) {
          if (!node.typeCondition) return undefined;
          const name = renames.type(node.typeCondition.name.value);
          return name === node.typeCondition.name.value ? undefined : { ...node, typeCondition: { ...node.typeCondition, name: { ...node.typeCondition.name, value: name } } };
        },
      },
      VariableDefinition: {
        leave(node) {
          return { ...node, type: typeInSubgraphTerms(node.type, renames) };
        },
      },
    }),
  );
}

/**
 * The document with the internal alias prefix (INTERNAL_ALIAS, or the document's own: AliasPrefixes) on every field
 * of an object type that `subgraph` types otherwise than the unified graph (`schema`); undefined when there is none.
 */
function withInternalAliases(document: DocumentNode, subgraph: PlanSubgraph, schema: GraphQLSchema, prefixes: AliasPrefixes): DocumentNode | undefined {
  let changed = false;
  const typeInfo = new TypeInfo(subgraph.visible);
  const out = visit(
    document,
    visitWithTypeInfo(typeInfo, {
      Field: {
        leave(node) {
          const parent = typeInfo.getParentType();
          const own = typeInfo.getFieldDef();
          if (!parent || !own || !isObjectType(parent) || node.name.value.startsWith('__') || node.alias?.value.startsWith(prefixes.key)) return undefined;
          const unified = (schema.getType(parent.name) as GraphQLObjectType | undefined)?.getFields()[node.name.value];
          if (!unified || String(unified.type) === String(own.type)) return undefined;
          changed = true;
          return { ...node, alias: { kind: Kind.NAME, value: prefixes.internal + responseKey(node) } };
        },
      },
    }),
  );
  return changed ? out : undefined;
}

/** A call's document in the subgraph's terms: internal aliases where its types differ, names translated when it is renamed. */
function sentDocument(document: DocumentNode, subgraph: PlanSubgraph, schema: GraphQLSchema, prefixes: AliasPrefixes): { document: DocumentNode; internalAlias?: string } {
  const aliased = withInternalAliases(document, subgraph, schema, prefixes);
  return { document: inSubgraphTerms(aliased ?? document, subgraph), ...(aliased && { internalAlias: prefixes.internal }) };
}

/** Groups a step's fetch tree into waves, one call per subgraph per wave, and builds each call's document. */
function wavesOf(roots: readonly Fetch[], operation: OperationDefinitionNode, schema: GraphQLSchema, prefixes: AliasPrefixes): Call[][] {
  const byDepth: Fetch[][] = [];
  const depths = new Map<Fetch, number>();
  /** The last wave of a fetch and its descendants (walked already: a fetch's `after` are earlier siblings). */
  const deepest = (fetch: Fetch): number => Math.max(depths.get(fetch) ?? 0, ...fetch.children.map(deepest));
  const walk = (fetch: Fetch, depth: number) => {
    for (const before of fetch.after ?? []) depth = Math.max(depth, deepest(before) + 1);
    depths.set(fetch, depth);
    (byDepth[depth] ??= []).push(fetch);
    for (const child of fetch.children) walk(child, depth + 1);
  };
  for (const root of roots) walk(root, 0);
  const definitions = new Map((operation.variableDefinitions ?? []).map((d) => [d.variable.name.value, d]));
  const clientVariables = (selections: readonly SelectionNode[]): VariableDefinitionNode[] =>
    [...usedVariables(selections)].map((name) => {
      const definition = definitions.get(name);
      if (!definition) throw new Unplannable(`variable $${name} is not defined`);
      return definition;
    });
  return byDepth.map((fetches, depth) => {
    const bySubgraph = new Map<PlanSubgraph, Fetch[]>();
    for (const fetch of fetches) {
      const list = bySubgraph.get(fetch.subgraph);
      if (list) list.push(fetch);
      else bySubgraph.set(fetch.subgraph, [fetch]);
    }
    return [...bySubgraph].map(([subgraph, group]): Call => {
      if (depth === 0) {
        const selections = group.flatMap((f) => f.selections);
        const variables = clientVariables(selections);
        const operationType = operation.operation;
        const { document, internalAlias } = sentDocument(operationDocument(operationType, variables, selections), subgraph, schema, prefixes);
        return { subgraph, operationType, documentFor: () => document, fetches: group, variables: variables.map((d) => d.variable.name.value), internalAlias };
      }
      const variables = clientVariables(group.flatMap((f) => f.selections));
      // Fetches of this wave asking the same entity field for the same selection on objects of different places
      // (the same products reached through two paths) share one field and one key list: each representation is
      // sent once per call, and its answer merged into every object with that key (run-plan.ts).
      // By entity field, then by what is asked of it and how the representations are read: each distinct one's number.
      const sharing = new Map<EntityEntry, Map<string, number>>();
      let fields = 0;
      const first: boolean[] = group.map((fetch) => {
        const { entry, keyNames, keyCount, keyShapes } = fetch.entity!;
        const shapes = keyShapes ? JSON.stringify(keyShapes, (_key, value: unknown) => (value instanceof Set ? [...(value as Set<string>)] : value)) : '';
        const signature = `${keyCount}|${keyNames.join(',')}|${shapes}|${printSelections(fetch.selections)}`;
        let same = sharing.get(entry);
        if (!same) sharing.set(entry, (same = new Map()));
        let n = same.get(signature);
        const fresh = n === undefined;
        if (fresh) same.set(signature, (n = fields++));
        fetch.entity!.alias = `__e${n}`;
        fetch.entity!.variable = `${prefixes.variable}${n}`;
        return fresh;
      });
      /** The entity fields and key variables for these numbers of keys (batch fields ignore the count); one per shared field. */
      const build = (keyCounts: readonly number[]): { document: DocumentNode; internalAlias?: string } => {
        const fields: FieldNode[] = [];
        const keyVariables: VariableDefinitionNode[] = [];
        group.forEach((fetch, i) => {
          if (!first[i]) return;
          const { entry, alias, variable } = fetch.entity!;
          const add = (suffix: string) => {
            fields.push(entityField(entry, alias + suffix, variable + suffix, fetch.selections));
            keyVariables.push(variableDefinition(variable + suffix, entry.argumentType));
          };
          if (entry.batch) add('');
          else for (let n = 0; n < (keyCounts[i] ?? 0); n++) add(`_${n}`);
        });
        return sentDocument(operationDocument('query', [...keyVariables, ...variables], fields), subgraph, schema, prefixes);
      };
      const names = variables.map((d) => d.variable.name.value);
      if (group.every((f) => f.entity!.entry.batch)) {
        const { document, internalAlias } = build([]);
        return { subgraph, operationType: 'query', documentFor: () => document, fetches: group, variables: names, internalAlias };
      }
      // Whether the documents alias fields depends on their selections only, not on the key counts.
      const internalAlias = build(group.map(() => 1)).internalAlias;
      const built = new Map<string, DocumentNode>();
      const documentFor = (keyCounts: readonly number[]): DocumentNode => {
        const id = keyCounts.join(',');
        let document = built.get(id);
        if (!document) {
          // Bounded: key counts vary with the data; the printed text is memoised per document by the executor.
          if (built.size >= 64) built.clear();
          built.set(id, (document = build(keyCounts).document));
        }
        return document;
      };
      return { subgraph, operationType: 'query', documentFor, fetches: group, variables: names, internalAlias };
    });
  });
}

/** Whether a selection is the field `name` as it is: no alias, arguments, directives or selection. */
function isPlainField(selection: SelectionNode, name: string): boolean {
  return (
    selection.kind === Kind.FIELD && selection.name.value === name && !selection.alias && !selection.arguments?.length && !selection.directives?.length && !selection.selectionSet
  );
}

/** Selections as text, to tell two fetches asking the same thing apart from two that do not. */
function printSelections(selections: readonly SelectionNode[]): string {
  return print({ kind: Kind.SELECTION_SET, selections } as SelectionSetNode);
}

/** The root field of one entity fetch; `_entities` answers the union `_Entity`, so a federation fetch's selections go in `... on <Type>`. */
function entityField(entry: EntityEntry, alias: string, variable: string, selections: readonly SelectionNode[]): FieldNode {
  const typename = entry.federation?.typename;
  return {
    kind: Kind.FIELD,
    alias: { kind: Kind.NAME, value: alias },
    name: { kind: Kind.NAME, value: entry.field },
    arguments: [{ kind: Kind.ARGUMENT, name: { kind: Kind.NAME, value: entry.argument }, value: { kind: Kind.VARIABLE, name: { kind: Kind.NAME, value: variable } } }],
    selectionSet: typename
      ? selectionSet([{ kind: Kind.INLINE_FRAGMENT, typeCondition: { kind: Kind.NAMED_TYPE, name: { kind: Kind.NAME, value: typename } }, selectionSet: selectionSet(selections) }])
      : selectionSet(selections),
  };
}

function variableDefinition(name: string, type: TypeNode): VariableDefinitionNode {
  return { kind: Kind.VARIABLE_DEFINITION, variable: { kind: Kind.VARIABLE, name: { kind: Kind.NAME, value: name } }, type };
}

const NONE: ReadonlySet<string> = new Set();

/**
 * The plan for one operation of a document (validated against `schema`),
 * or Unplannable with the reason stitching has to take it.
 */
export function planOperation(document: DocumentNode, operation: OperationDefinitionNode, schema: GraphQLSchema, graph: PlanGraph, enabled: ReadonlySet<string> = NONE): QueryPlan {
  // A directive other than @skip/@include is forwarded only on a field (Planner.forwardable), and only one of the
  // gateway's schema's own (a composed executable directive): never @defer/@stream, which the schema does not declare.
  const onlyInclusion = (where: string) => (node: { directives?: readonly DirectiveNode[] }) => {
    for (const directive of node.directives ?? []) {
      if (!isInclusion(directive)) throw new Unplannable(`directive @${directive.name.value} on ${where}: the planner forwards a directive other than @skip/@include only on a field`);
    }
  };
  visit(document, {
    OperationDefinition: onlyInclusion('the operation'),
    VariableDefinition: onlyInclusion('a variable definition'),
    FragmentDefinition: onlyInclusion('a fragment definition'),
    FragmentSpread: onlyInclusion('a fragment spread'),
    InlineFragment: onlyInclusion('an inline fragment'),
    Field(node) {
      for (const directive of forwardedOf(node)) {
        const definition = schema.getDirective(directive.name.value);
        if (!definition || isSpecifiedDirective(definition)) throw new Unplannable(`directive @${directive.name.value}: not an executable directive of the gateway's schema`);
      }
    },
  });
  const subscription = operation.operation === 'subscription';
  const rootType = operation.operation === 'mutation' ? schema.getMutationType() : subscription ? schema.getSubscriptionType() : schema.getQueryType();
  if (!rootType) throw new Unplannable(`the schema has no ${operation.operation} type`);
  const rootName = operation.operation === 'mutation' ? 'Mutation' : subscription ? 'Subscription' : 'Query';
  const defaults = new Map<string, boolean>();
  for (const d of operation.variableDefinitions ?? []) if (d.defaultValue?.kind === Kind.BOOLEAN) defaults.set(d.variable.name.value, d.defaultValue.value);
  const planner = new Planner(schema, graph, document, enabled, defaults);
  const entries = planner.collect(rootType, operation.selectionSet);
  // Introspection (`__schema`, `__type`, only valid at the root) is answered by the result check from the gateway's
  // schema, beside the planned fields; an operation of introspection alone is the gateway's to answer.
  if (entries.every((e) => e.field.name.value.startsWith('__')) && entries.some((e) => e.field.name.value !== '__typename')) throw new Unplannable('introspection is answered by the gateway');
  // Root fields in order, each with the subgraph serving it; `__typename` and introspection are answered by the result check.
  const groups: Array<{ subgraph: PlanSubgraph; entries: Entry[] }> = [];
  const add = (subgraph: PlanSubgraph, entry: Entry): void => {
    const last = groups.at(-1);
    // A query asks each subgraph once for all its root fields; a mutation keeps the client's order.
    const group = operation.operation === 'mutation' ? (last?.subgraph === subgraph ? last : undefined) : groups.find((g) => g.subgraph === subgraph);
    if (group) group.entries.push(entry);
    else groups.push({ subgraph, entries: [entry] });
  };
  for (const entry of entries) {
    if (entry.field.name.value.startsWith('__')) continue;
    const owners = ownersOf(graph, coordinate(rootName, entry.field.name.value), enabled);
    if (owners.length === 0) throw new Unplannable(`${rootName}.${entry.field.name.value} is served by no plannable subgraph`);
    // A subscription's root call is its subgraph's own event stream: planned over federation subgraphs only (the
    // others' subscriptions, GraphQL upstreams' and gRPC server streams, are stitched).
    if (subscription && !owners.every((s) => s.federation)) throw new Unplannable(`${rootName}.${entry.field.name.value}: subscriptions are planned over federation subgraphs only`);
    // @shareable root fields: a subgraph this query already asks, else the first by name; of those, the first that
    // can answer the selection (`node(id:) { ... on Chat { text } }` from the subgraph whose Chat it is).
    const ordered = operation.operation === 'query' ? [...owners.filter((s) => groups.some((g) => g.subgraph === s)), ...owners.filter((s) => !groups.some((g) => g.subgraph === s))] : owners;
    planner.directiveDeclined = undefined;
    const subgraph = ordered.length === 1 ? ordered[0] : ordered.find((s) => planner.answersRoot(rootType, entry.field, s));
    if (subgraph) {
      add(subgraph, entry);
      continue;
    }
    // None answers it because of a directive it would be sent with: stitching's to answer, not refused (Unsatisfiable).
    if (planner.directiveDeclined) throw new Unplannable(planner.directiveDeclined);
    const forwarded = forwardedOf(entry.field)[0];
    if (forwarded) throw new Unplannable(`directive @${forwarded.name.value} on ${rootName}.${entry.field.name.value}: the field would be assembled from several subgraphs' calls, and the planner forwards a directive only on a field one call answers whole`);
    // None answers it all: each part of the selection from the first subgraph that answers it (a value type
    // several subgraphs serve from a shared root field, each with fields of its own), the objects merged.
    const parts = planner.splitRoot(rootType, entry, ordered);
    if (!parts) {
      const at = `${rootName}.${entry.field.name.value}`;
      const why = `no subgraph serving it (${ordered.map((s) => `"${s.name}"`).join(', ')}) can answer this selection`;
      throw ordered.every((s) => s.federation) ? new Unsatisfiable(at, why, entry.field) : new Unplannable(`${at}: ${why}`);
    }
    for (const [part, partEntry] of parts) add(part, partEntry);
  }
  const roots = groups.map(({ subgraph, entries }) => {
    const fetch: Fetch = { subgraph, path: [], selections: [], fields: entries.map((e) => responseKey(e.field)), children: [] };
    // A root field's @provides (`gem: Gem @provides(fields: "name")`): those fields read from this subgraph.
    const provides = (field: FieldNode) => subgraph.provides?.get(coordinate(rootName, field.name.value));
    planner.fills(fetch, entries);
    fetch.selections = entries.map((e) => wrapped(planner.within(e, () => planner.planField(rootType, e.field, subgraph, [], fetch, provides(e.field) && providedOf(provides(e.field)))), e.wraps));
    return fetch;
  });
  planner.setNeeds(roots);
  if (subscription) {
    // One stream per subscription: its root field from one subgraph, always subscribed to (GraphQL spec 6.2.3).
    if (roots.length !== 1) throw new Unplannable(`the subscription's root field would come from ${roots.length} subgraphs' calls, and a subscription is one subgraph's stream`);
    if (roots[0]!.neededWhen) throw new Unplannable("@skip/@include on a subscription's root field");
  }
  const steps = operation.operation === 'mutation' ? roots.map((root) => [root]) : [roots];
  return { steps: steps.map((step) => ({ waves: wavesOf(step, operation, schema, planner.prefixes) })) };
}
