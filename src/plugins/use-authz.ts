/**
 * Authorization: the scopes descriptors require (`auth:`, see
 * compose/auth-rules.ts) checked against the caller's identity before the
 * operation runs, so a subgraph is never asked for a field the caller may
 * not read.
 *
 * A rule on "Type.field" guards that field; a rule on "Type" guards every
 * field of the type and every field returning it. Selected through an
 * interface, a field is guarded by the rules of every implementation.
 *
 *   partial (default)  each field the caller may not read is taken out of the
 *                      document; the rest runs, and the answer has null there
 *                      with a located error (FORBIDDEN, or UNAUTHENTICATED for
 *                      a caller without credentials), as if its resolver had
 *                      failed: a non-null field nulls its nearest nullable
 *                      parent instead. When nothing would be left, the
 *                      operation is refused as in reject.
 *   reject             the whole operation is refused: 403 (401 with
 *                      WWW-Authenticate without credentials), nothing runs.
 *
 * A field taken out takes with it the fragment definitions and variable
 * definitions (and their values) nothing else in the document uses: an
 * upstream validates what it receives and would refuse the whole document
 * ("Fragment X is never used"), the allowed fields too.
 *
 * @skip/@include on the way to a denied field are read as graphql-js reads
 * them, on the variables coerced as the spec says (6.4.1): a default applies
 * only to a variable left out, an explicit null stays null. Variables that
 * do not coerce, or a null `if`, are the request error graphql-js gives
 * (400), before any upstream call: a field is never forwarded on a reading
 * of the variables an upstream may not share.
 *
 * What a document guards is worked out once per document and operation
 * (WeakMap); a document that touches no guarded field costs one lookup.
 */
import { handleStreamOrSingleExecutionResult } from '@envelop/core';
import type { Plugin } from 'graphql-yoga';
import {
  getDirectiveValues,
  getNamedType,
  getVariableValues,
  GraphQLError,
  GraphQLIncludeDirective,
  GraphQLSkipDirective,
  isCompositeType,
  isInterfaceType,
  isNonNullType,
  isObjectType,
  Kind,
  visit,
  type ASTNode,
  type DefinitionNode,
  type DirectiveNode,
  type DocumentNode,
  type ExecutionResult,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import type { AuthRules, Requirement } from '../compose/auth-rules.js';
import { ERRORS, requestError, TesseraError } from '../errors.js';
import type { Identity, RequestScope } from '../request-scope.js';

export interface AuthzOptions {
  rules: AuthRules;
  /** The channel's schema. */
  schema: GraphQLSchema;
  onForbidden: 'partial' | 'reject';
  /** WWW-Authenticate value for a 401 (from the authenticator). */
  challenge?: string;
}

/** A guarded field at one place in the operation. */
interface Guard {
  /** The field that needs scopes (for the error's location). */
  node: FieldNode;
  coordinate: string;
  requirements: readonly Requirement[];
  /** The field whose value becomes null when this one is denied (itself, or its nearest nullable parent); null: none up to the root. */
  replace: FieldNode | null;
  /** @skip/@include directives on the way to the field, outermost first. */
  conditions: ReadonlyArray<readonly DirectiveNode[]>;
}

interface Analysis {
  operation: OperationDefinitionNode;
  guards: readonly Guard[];
  /** Top-level fields of the operation (fragments expanded). */
  rootFields: ReadonlySet<FieldNode>;
  /** Pruned documents already built, by the set of replaced fields. */
  pruned: Map<string, Pruned>;
}

interface Pruned {
  document: DocumentNode;
  placeholders: Map<string, Placeholder>;
  /** Variables of the operation that only the removed fields used: their values are not sent either. */
  removedVariables: readonly string[];
}

/** What a request fails: the guards it may not pass, or a request error that stops it first. */
type Check =
  | { refused: ExecutionResult; analysis?: undefined; identity?: undefined; denied?: undefined }
  | { refused?: undefined; analysis: Analysis; identity: Identity | undefined; denied: Guard[] };

interface Placeholder {
  key: string;
  guards: Guard[];
}

const PLACEHOLDER = '__tessera_denied_';
const MAX_ERRORS = 50;
const NONE: readonly Guard[] = [];

/** Requirements per parent type and field name, for every field any rule reaches. */
function compileRules(rules: AuthRules, schema: GraphQLSchema): Map<string, Map<string, { coordinate: string; requirements: Requirement[] }>> {
  const compiled = new Map<string, Map<string, { coordinate: string; requirements: Requirement[] }>>();
  const ownRules = (typeName: string, fieldName: string, returns: string): Requirement[] => [
    ...(rules.get(`${typeName}.${fieldName}`) ?? []),
    ...(rules.get(typeName) ?? []),
    ...(rules.get(returns) ?? []),
  ];
  for (const type of Object.values(schema.getTypeMap())) {
    if (type.name.startsWith('__') || !(isObjectType(type) || isInterfaceType(type))) continue;
    const implementations = isInterfaceType(type) ? schema.getPossibleTypes(type) : [];
    for (const field of Object.values(type.getFields())) {
      const returns = getNamedType(field.type).name;
      const requirements = ownRules(type.name, field.name, returns);
      for (const implementation of implementations) {
        requirements.push(...ownRules(implementation.name, field.name, returns).filter((r) => !requirements.includes(r)));
      }
      if (requirements.length === 0) continue;
      let fields = compiled.get(type.name);
      if (!fields) compiled.set(type.name, (fields = new Map()));
      fields.set(field.name, { coordinate: `${type.name}.${field.name}`, requirements });
    }
  }
  return compiled;
}

function satisfied(requirement: Requirement, scopes: readonly string[]): boolean {
  return requirement.some((group) => group.every((scope) => scopes.includes(scope)));
}

function allowed(guard: Guard, identity: Identity | undefined): boolean {
  if (!identity) return false;
  return guard.requirements.every((r) => satisfied(r, identity.scopes));
}

/**
 * False when @skip/@include on the way take the field out of this request, decided as graphql-js's
 * shouldIncludeNode decides it, outermost first, on coerced variables. Throws graphql-js's GraphQLError
 * for an `if` that is null.
 */
function included(guard: Guard, variables: Record<string, unknown>): boolean {
  for (const directives of guard.conditions) {
    const node = { directives };
    if (getDirectiveValues(GraphQLSkipDirective, node, variables)?.if === true) return false;
    if (getDirectiveValues(GraphQLIncludeDirective, node, variables)?.if === false) return false;
  }
  return true;
}

function conditionsOf(node: { directives?: readonly DirectiveNode[] }): readonly DirectiveNode[] | undefined {
  const found = node.directives?.filter((d) => d.name.value === 'skip' || d.name.value === 'include');
  return found && found.length > 0 ? found : undefined;
}

function analyze(
  schema: GraphQLSchema,
  compiled: ReturnType<typeof compileRules>,
  document: DocumentNode,
  operation: OperationDefinitionNode,
): Analysis {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  // Guards inside a fragment are worked out once and reused at every spread (linear in the document).
  const fragmentGuards = new Map<string, Guard[]>();
  const withConditions = (guards: Guard[], node: { directives?: readonly DirectiveNode[] }): Guard[] => {
    const conditions = conditionsOf(node);
    return conditions ? guards.map((g) => ({ ...g, conditions: [conditions, ...g.conditions] })) : guards;
  };

  const walk = (selectionSet: SelectionSetNode, parent: GraphQLCompositeType, visiting: Set<string>): Guard[] => {
    const guards: Guard[] = [];
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) {
        const name = selection.name.value;
        if (name.startsWith('__') || !(isObjectType(parent) || isInterfaceType(parent))) continue;
        const field = parent.getFields()[name];
        if (!field) continue;
        const nullable = !isNonNullType(field.type);
        const found: Guard[] = [];
        const rule = compiled.get(parent.name)?.get(name);
        if (rule) found.push({ node: selection, coordinate: rule.coordinate, requirements: rule.requirements, replace: nullable ? selection : null, conditions: [] });
        const named = getNamedType(field.type);
        if (selection.selectionSet && isCompositeType(named)) {
          for (const inner of walk(selection.selectionSet, named, visiting)) {
            // A denied non-null field nulls its parent: this field, when it can be null.
            found.push(inner.replace === null && nullable ? { ...inner, replace: selection } : inner);
          }
        }
        guards.push(...withConditions(found, selection));
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const type = selection.typeCondition ? schema.getType(selection.typeCondition.name.value) : parent;
        if (!isCompositeType(type)) continue;
        guards.push(...withConditions(walk(selection.selectionSet, type, visiting), selection));
      } else {
        const name = selection.name.value;
        if (visiting.has(name)) continue;
        let inner = fragmentGuards.get(name);
        if (!inner) {
          const fragment = fragments.get(name);
          const type = fragment && schema.getType(fragment.typeCondition.name.value);
          inner = fragment && isCompositeType(type) ? walk(fragment.selectionSet, type, new Set([...visiting, name])) : [];
          fragmentGuards.set(name, inner);
        }
        guards.push(...withConditions(inner, selection));
      }
    }
    return guards;
  };

  const root = schema.getRootType(operation.operation);
  const guards = root ? walk(operation.selectionSet, root, new Set()) : [];
  const rootFields = new Set<FieldNode>();
  const collectRoot = (selectionSet: SelectionSetNode, seen: Set<string>): void => {
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) {
        if (selection.name.value !== '__typename') rootFields.add(selection);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) collectRoot(selection.selectionSet, seen);
      else if (!seen.has(selection.name.value)) {
        const fragment = fragments.get(selection.name.value);
        if (fragment) collectRoot(fragment.selectionSet, new Set([...seen, selection.name.value]));
      }
    }
  };
  collectRoot(operation.selectionSet, new Set());
  return { operation, guards: guards.length > 0 ? guards : NONE, rootFields, pruned: new Map() };
}

function selectOperation(document: DocumentNode, operationName: string | null | undefined): OperationDefinitionNode | undefined {
  let found: OperationDefinitionNode | undefined;
  for (const definition of document.definitions) {
    if (definition.kind !== Kind.OPERATION_DEFINITION) continue;
    if (operationName ? definition.name?.value === operationName : !found) found = definition;
    else if (!operationName) return undefined;
  }
  return found;
}

/** The variables a definition uses (outside its own variable definitions) and the fragments it spreads. */
interface Uses {
  variables: Set<string>;
  spreads: Set<string>;
}

function usesOf(definition: ASTNode): Uses {
  const uses: Uses = { variables: new Set(), spreads: new Set() };
  visit(definition, {
    VariableDefinition: () => false,
    Variable(node) {
      uses.variables.add(node.name.value);
    },
    FragmentSpread(node) {
      uses.spreads.add(node.name.value);
    },
  });
  return uses;
}

/** An operation's uses with those of every fragment it reaches, directly or through other fragments. */
function reach(uses: Uses, fragments: ReadonlyMap<string, Uses>): Uses {
  const reached: Uses = { variables: new Set(uses.variables), spreads: new Set() };
  const pending = [...uses.spreads];
  while (pending.length > 0) {
    const name = pending.pop()!;
    if (reached.spreads.has(name)) continue;
    reached.spreads.add(name);
    const fragment = fragments.get(name);
    if (!fragment) continue;
    for (const variable of fragment.variables) reached.variables.add(variable);
    pending.push(...fragment.spreads);
  }
  return reached;
}

/**
 * The definitions without what nothing uses any more: fragment definitions no operation reaches, and
 * variable definitions their operation no longer uses (graphql-js's NoUnusedFragments and
 * NoUnusedVariables would refuse the document for either), with the names of the variables taken from
 * the operation at index `selected`.
 */
function withoutOrphans(definitions: readonly DefinitionNode[], selected: number): { definitions: DefinitionNode[]; removedVariables: string[] } {
  const fragments = new Map<string, Uses>();
  for (const definition of definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, usesOf(definition));
  }
  const reached = new Set<string>();
  let removedVariables: string[] = [];
  const kept = definitions.map((definition, i) => {
    if (definition.kind !== Kind.OPERATION_DEFINITION) return definition;
    const uses = reach(usesOf(definition), fragments);
    for (const name of uses.spreads) reached.add(name);
    const variableDefinitions = definition.variableDefinitions ?? [];
    const unused = variableDefinitions.filter((v) => !uses.variables.has(v.variable.name.value));
    if (unused.length === 0) return definition;
    if (i === selected) removedVariables = unused.map((v) => v.variable.name.value);
    return { ...definition, variableDefinitions: variableDefinitions.filter((v) => !unused.includes(v)) };
  });
  return { definitions: kept.filter((d) => d.kind !== Kind.FRAGMENT_DEFINITION || reached.has(d.name.value)), removedVariables };
}

/**
 * The document with each denied field replaced by `__tessera_denied_N: __typename` (same directives, no
 * subgraph call), and without the fragments and variables only those fields used.
 */
function prune(document: DocumentNode, operation: OperationDefinitionNode, replaced: Map<FieldNode, Placeholder & { alias: string }>): Omit<Pruned, 'placeholders'> {
  const swapped = visit(document, {
    Field: {
      enter(node) {
        const placeholder = replaced.get(node);
        if (!placeholder) return undefined;
        const replacement: FieldNode = {
          kind: Kind.FIELD,
          alias: { kind: Kind.NAME, value: placeholder.alias },
          name: { kind: Kind.NAME, value: '__typename' },
          directives: node.directives,
        };
        return replacement;
      },
    },
  });
  // visit() keeps the definitions in place, so the selected operation is at the same index.
  const { definitions, removedVariables } = withoutOrphans(swapped.definitions, document.definitions.indexOf(operation));
  return { document: { ...swapped, definitions }, removedVariables };
}

export function useAuthz(options: AuthzOptions): Plugin {
  const { rules, schema, onForbidden } = options;
  if (onForbidden !== 'partial' && onForbidden !== 'reject') throw new TypeError('useAuthz: onForbidden must be "partial" or "reject"');
  if (rules.size === 0) return {};
  const compiled = compileRules(rules, schema);
  if (compiled.size === 0) return {};
  const analyses = new WeakMap<DocumentNode, Map<string, Analysis | null>>();

  const analysisOf = (document: DocumentNode, operationName: string | null | undefined): Analysis | null => {
    let byOperation = analyses.get(document);
    if (!byOperation) analyses.set(document, (byOperation = new Map()));
    const key = operationName ?? '';
    let analysis = byOperation.get(key);
    if (analysis === undefined) {
      const operation = selectOperation(document, operationName);
      analysis = operation ? analyze(schema, compiled, document, operation) : null;
      byOperation.set(key, analysis);
    }
    return analysis;
  };

  const deniedError = (guard: Guard, identity: Identity | undefined, extra: { path?: ReadonlyArray<string | number>; http?: object }): GraphQLError => {
    const code = identity ? 'FORBIDDEN' : 'UNAUTHENTICATED';
    const message = identity ? `Not authorized to access ${guard.coordinate}.` : `Sign in to access ${guard.coordinate}.`;
    return new TesseraError(code, message, { nodes: [guard.node], path: extra.path, extensions: extra.http ? { http: extra.http } : undefined });
  };

  const refuseAll = (denied: readonly Guard[], identity: Identity | undefined): ExecutionResult => {
    const http = identity
      ? { status: ERRORS.FORBIDDEN.status }
      : { status: ERRORS.UNAUTHENTICATED.status, ...(options.challenge && { headers: { 'www-authenticate': options.challenge } }) };
    const seen = new Set<FieldNode>();
    const errors = denied.filter((g) => !seen.has(g.node) && seen.add(g.node)).slice(0, MAX_ERRORS).map((g) => deniedError(g, identity, { http }));
    return { errors };
  };

  /**
   * The guards this request fails (undefined when everything selected is allowed), or the request error
   * (`refused`) when the variables a @skip/@include needs do not coerce.
   */
  const deniedGuards = (args: { document: DocumentNode; operationName?: string | null; variableValues?: unknown; contextValue?: unknown }): Check | undefined => {
    const analysis = analysisOf(args.document, args.operationName);
    if (!analysis || analysis.guards.length === 0) return undefined;
    const identity = (args.contextValue as { tessera?: RequestScope } | undefined)?.tessera?.identity;
    let variables: Record<string, unknown> | undefined;
    const denied: Guard[] = [];
    for (const guard of analysis.guards) {
      if (allowed(guard, identity)) continue;
      if (guard.conditions.length > 0) {
        if (!variables) {
          const raw = (args.variableValues ?? {}) as Record<string, unknown>;
          const coerced = getVariableValues(schema, analysis.operation.variableDefinitions ?? [], raw, { maxErrors: 50 });
          if (coerced.errors) return { refused: { errors: coerced.errors.map(requestError) } };
          variables = coerced.coerced;
        }
        try {
          if (!included(guard, variables)) continue;
        } catch (error) {
          if (error instanceof GraphQLError) return { refused: { errors: [requestError(error)] } };
          throw error;
        }
      }
      denied.push(guard);
    }
    return denied.length > 0 ? { analysis, identity, denied } : undefined;
  };

  return {
    // A subscription's events cannot be patched one by one here: it runs whole or not at all.
    onSubscribe({ args, setResultAndStopExecution }) {
      const check = deniedGuards(args);
      if (check) setResultAndStopExecution(check.refused ?? refuseAll(check.denied, check.identity));
    },
    onExecute({ args, setResultAndStopExecution }) {
      const check = deniedGuards(args);
      if (!check) return;
      if (check.refused) {
        setResultAndStopExecution(check.refused);
        return;
      }
      const { analysis, identity, denied } = check;

      const replacedFields = new Set(denied.map((g) => g.replace));
      const nothingLeft = replacedFields.has(null) || [...analysis.rootFields].every((f) => replacedFields.has(f));
      if (onForbidden === 'reject' || nothingLeft) {
        setResultAndStopExecution(refuseAll(denied, identity));
        return;
      }

      const signature = [...replacedFields].map((f) => `${f!.loc?.start ?? ''}:${f!.name.value}`).sort().join(',');
      let pruned = analysis.pruned.get(signature);
      if (!pruned) {
        const replaced = new Map<FieldNode, Placeholder & { alias: string }>();
        for (const guard of denied) {
          const target = guard.replace!;
          let entry = replaced.get(target);
          if (!entry) replaced.set(target, (entry = { alias: `${PLACEHOLDER}${replaced.size}`, key: (target.alias ?? target.name).value, guards: [] }));
          entry.guards.push(guard);
        }
        pruned = { ...prune(args.document, analysis.operation, replaced), placeholders: new Map([...replaced.values()].map((p) => [p.alias, p])) };
        // Bounded: one entry per distinct set of denied fields of this document.
        if (analysis.pruned.size < 64) analysis.pruned.set(signature, pruned);
      }
      const { placeholders, removedVariables } = pruned;
      // The document itself is swapped (not only the execute function, which a later plugin such as
      // direct routing may replace): whatever runs next sees only what the caller may read.
      (args as { document: DocumentNode }).document = pruned.document;
      if (removedVariables.length > 0 && args.variableValues) {
        const values = { ...args.variableValues };
        for (const name of removedVariables) delete values[name];
        (args as { variableValues: Record<string, unknown> }).variableValues = values;
      }

      return {
        onExecuteDone(payload) {
          return handleStreamOrSingleExecutionResult(payload, ({ result, setResult }) => {
            const errors: GraphQLError[] = [];
            let more = 0;
            const path: Array<string | number> = [];
            const restore = (value: unknown): unknown => {
              if (value === null || typeof value !== 'object') return value;
              if (Array.isArray(value)) {
                for (let i = 0; i < value.length; i++) {
                  path.push(i);
                  value[i] = restore(value[i]);
                  path.pop();
                }
                return value;
              }
              const object = value as Record<string, unknown>;
              let hasPlaceholder = false;
              for (const key in object) {
                if (key.startsWith(PLACEHOLDER)) {
                  hasPlaceholder = true;
                  break;
                }
              }
              const out: Record<string, unknown> = hasPlaceholder ? {} : object;
              const nulled: Placeholder[] = [];
              for (const key in object) {
                const placeholder = hasPlaceholder ? placeholders.get(key) : undefined;
                if (placeholder) {
                  out[placeholder.key] = null;
                  nulled.push(placeholder);
                  continue;
                }
                path.push(key);
                out[key] = restore(object[key]);
                path.pop();
              }
              for (const placeholder of nulled) {
                out[placeholder.key] = null;
                for (const guard of placeholder.guards) {
                  if (errors.length < MAX_ERRORS) errors.push(deniedError(guard, identity, { path: [...path, placeholder.key] }));
                  else more++;
                }
              }
              return out;
            };
            const data = result.data ? (restore(result.data) as ExecutionResult['data']) : result.data;
            if (more > 0) {
              errors.push(new TesseraError(identity ? 'FORBIDDEN' : 'UNAUTHENTICATED', `${more} more fields were withheld for lack of authorization.`));
            }
            setResult({ ...result, data, errors: [...(result.errors ?? []), ...errors] });
          });
        },
      };
    },
  };
}
