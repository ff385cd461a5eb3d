/**
 * The value of a nested key or required field in a federation representation
 * (`@key(fields: "code { site lot }")`, `@requires(fields: "driver { age }")`):
 * exactly the fields of its field set, under their own names, as Apollo
 * Gateway and Router send it. The planner asks for more than that on those
 * objects (the keys it joins a nested field of another subgraph by, under
 * `__key_` aliases; `__typename` under an interface or union, to match type
 * conditions), and so does stitching (merge.ts), so the answer is never sent
 * as it is: the planner describes each nested field set once (shapeOf), and
 * the plan runner builds each representation's value through it (represent);
 * merge.ts does the same for the stitched route. A subgraph that checks its
 * representations, or keys a cache by them, sees only what it asked for.
 */
import { isAbstractType, Kind, type GraphQLSchema, type SelectionSetNode } from 'graphql';

/** A field set's nested selection, as the plan runner reads it. */
export interface Shape {
  /** Fields read on each object by name (a field set has no aliases), with their own nested selection. */
  readonly fields: ReadonlyArray<{ readonly name: string; readonly shape: Shape | undefined }>;
  /** Inline fragments: read on the objects whose `__typename` is one of `types` (every object when undefined). */
  readonly fragments: ReadonlyArray<{ readonly types: ReadonlySet<string> | undefined; readonly shape: Shape }>;
}

/**
 * The shape of a nested field set. A type condition holds for the object types it names or implement it, in any
 * of `schemas` (the unified graph, and the subgraph's own for a type the unified graph lacks: @inaccessible).
 */
export function shapeOf(set: SelectionSetNode, schemas: readonly GraphQLSchema[]): Shape {
  const fields: Array<Shape['fields'][number]> = [];
  const fragments: Array<Shape['fragments'][number]> = [];
  for (const selection of set.selections) {
    if (selection.kind === Kind.FIELD) {
      fields.push({ name: selection.name.value, shape: selection.selectionSet && shapeOf(selection.selectionSet, schemas) });
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      fragments.push({ types: selection.typeCondition && typesOf(selection.typeCondition.name.value, schemas), shape: shapeOf(selection.selectionSet, schemas) });
    }
  }
  return { fields, fragments };
}

function typesOf(name: string, schemas: readonly GraphQLSchema[]): ReadonlySet<string> {
  const types = new Set([name]);
  for (const schema of schemas) {
    const type = schema.getType(name);
    if (type && isAbstractType(type)) for (const t of schema.getPossibleTypes(type)) types.add(t.name);
  }
  return types;
}

/** The value `shape` reads from an answered value (lists walked through, nulls kept). */
export function represent(value: unknown, shape: Shape): unknown {
  return readValue(undefined, value, shape);
}

const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);

/**
 * `value` read through `shape`, into what an earlier fragment read of the same field (`... on A { x { a } }
 * ... on B { x { b } }`: one object with both), if anything.
 */
function readValue(existing: unknown, value: unknown, shape: Shape): unknown {
  if (Array.isArray(value)) return value.map((item, i) => readValue(Array.isArray(existing) ? existing[i] : undefined, item, shape));
  if (!isObject(value)) return value;
  const out = isObject(existing) ? existing : {};
  for (const { name, shape: inner } of shape.fields) {
    const field = value[name];
    if (field !== undefined) out[name] = inner ? readValue(out[name], field, inner) : field;
  }
  for (const { types, shape: inner } of shape.fragments) {
    if (!types || types.has(value.__typename as string)) readValue(out, value, inner);
  }
  return out;
}
