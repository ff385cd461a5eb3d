/**
 * What a schema change does to clients: every change from the schema that
 * runs to a candidate, classified breaking, dangerous or safe by
 * @graphql-inspector/core (removed or retyped fields, nullability, arguments,
 * enum values, union members), and the client operations that a candidate
 * schema no longer validates. Pure: schemas and documents in, findings out
 * (`tessera check` reads the files and the running gateway).
 */
import { diff, DiffRule } from '@graphql-inspector/core';
import { Kind, validate, type DefinitionNode, type DocumentNode, type FragmentDefinitionNode, type GraphQLSchema, type OperationDefinitionNode, visit } from 'graphql';

/** How a change affects clients: `breaking` fails some valid operation, `dangerous` may change what it gets, `safe` neither. */
export type ChangeLevel = 'breaking' | 'dangerous' | 'safe';

export interface SchemaChange {
  level: ChangeLevel;
  /** @graphql-inspector/core's change type (`FIELD_REMOVED`, `FIELD_TYPE_CHANGED`, `ENUM_VALUE_REMOVED`…). */
  type: string;
  /** The schema coordinate changed (`Product.price`, `Query.reviews.first`), when there is one. */
  path?: string;
  /** @graphql-inspector/core's own words for it. */
  message: string;
}

const LEVELS: Record<string, ChangeLevel> = { BREAKING: 'breaking', DANGEROUS: 'dangerous', NON_BREAKING: 'safe' };
const ORDER: Record<ChangeLevel, number> = { breaking: 0, dangerous: 1, safe: 2 };

/**
 * Every change from `before` to `after`, breaking first, then by path.
 * Description changes are left out: they change no operation's result.
 */
export async function schemaChanges(before: GraphQLSchema, after: GraphQLSchema): Promise<SchemaChange[]> {
  const changes = await diff(before, after, [DiffRule.ignoreDescriptionChanges]);
  return changes
    .map((c): SchemaChange => ({ level: LEVELS[c.criticality.level] ?? 'dangerous', type: String(c.type), ...(c.path && { path: c.path }), message: c.message }))
    .sort((a, b) => ORDER[a.level] - ORDER[b.level] || (a.path ?? '').localeCompare(b.path ?? '') || a.message.localeCompare(b.message));
}

/** One client operation, with the fragments it spreads, as a document of its own. */
export interface ClientOperation {
  /** Its name in the document, or "(anonymous)". */
  name: string;
  document: DocumentNode;
}

/**
 * Each operation of a document as a document of its own, with the fragments
 * it spreads (transitively), found in the document itself first, then in
 * `shared` (fragments kept in other files of the same client): so each
 * operation is validated, and named, on its own.
 */
export function splitOperations(document: DocumentNode, shared: ReadonlyMap<string, FragmentDefinitionNode> = new Map()): ClientOperation[] {
  const local = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) local.set(d.name.value, d);
  const fragment = (name: string): FragmentDefinitionNode | undefined => local.get(name) ?? shared.get(name);
  return document.definitions
    .filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)
    .map((operation) => {
      const needed = new Map<string, FragmentDefinitionNode>();
      const collect = (node: DefinitionNode): void => {
        visit(node, {
          FragmentSpread(spread) {
            const name = spread.name.value;
            const found = fragment(name);
            if (!found || needed.has(name)) return;
            needed.set(name, found);
            collect(found);
          },
        });
      };
      collect(operation);
      return { name: operation.name?.value ?? '(anonymous)', document: { kind: Kind.DOCUMENT, definitions: [operation, ...needed.values()] } };
    });
}

/** The validation errors of an operation against a schema (graphql-js's rules, as the gateway applies them), one message each. */
export function operationErrors(schema: GraphQLSchema, operation: ClientOperation): string[] {
  return validate(schema, operation.document).map((e) => e.message);
}
