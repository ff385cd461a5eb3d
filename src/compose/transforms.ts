/**
 * A descriptor's `transforms` as @graphql-tools/wrap transforms, plus the
 * same renaming as plain functions so that entity and batch-field names in the
 * descriptor (written in the subgraph's own names) can be translated to the
 * unified graph's names.
 *
 * Order: hide (on the subgraph's names), then field renames, then type
 * renames. An explicit rename wins over the prefix, which is how a prefixed
 * subgraph still joins a shared entity (`rename: { types: { Product: Product } }`).
 */
import {
  FilterObjectFields,
  FilterTypes,
  RenameObjectFields,
  RenameTypes,
} from '@graphql-tools/wrap';
import type { Transform } from '@graphql-tools/delegate';
import { MapperKind, mapSchema } from '@graphql-tools/utils';
import { getNamedType, isSpecifiedScalarType, type GraphQLNamedType, type GraphQLSchema } from 'graphql';
import type { Descriptor } from '../config/descriptor.js';
import { displayPath } from '../config/load.js';
import { LIST_SIZE_KEY, withListSize, type ListSize } from '../list-size.js';
import { missingCoordinate } from './coordinates.js';

export interface Naming {
  /** The unified graph's name for one of the subgraph's types. */
  type(name: string): string;
  /** The unified graph's name for a field of one of the subgraph's types. */
  field(typeName: string, fieldName: string): string;
  transforms: Transform[];
}

const upperFirst = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);
const lowerFirst = (s: string): string => s.charAt(0).toLowerCase() + s.slice(1);

/**
 * `keep` lists "Type.field" coordinates that must stay in the subschema even
 * when hidden (entity entry points: stitching delegates to them); compose/
 * hides those from the unified graph after stitching instead.
 */
export function namingFor(descriptor: Descriptor, schema: GraphQLSchema, keep: ReadonlySet<string> = new Set()): Naming {
  const spec = descriptor.transforms;
  const roots = new Set(
    [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()].filter(Boolean).map((t) => t!.name),
  );
  const renameTypes = spec?.rename?.types ?? {};
  const renameFields = spec?.rename?.fields ?? {};
  const prefix = spec?.prefix;

  const type = (name: string): string => {
    if (roots.has(name) || name.startsWith('__') || isSpecifiedScalarType({ name } as never)) return name;
    const explicit = renameTypes[name];
    if (explicit) return explicit;
    return prefix ? prefix + name : name;
  };
  const field = (typeName: string, fieldName: string): string => {
    const explicit = renameFields[`${typeName}.${fieldName}`];
    if (explicit) return explicit;
    if (prefix && roots.has(typeName)) return lowerFirst(prefix) + upperFirst(fieldName);
    return fieldName;
  };

  const transforms: Transform[] = [];
  const hidden = new Set((spec?.hide ?? []).filter((coordinate) => !keep.has(coordinate)));
  if (hidden.size > 0) {
    transforms.push(new FilterTypes((t: GraphQLNamedType) => !hidden.has(t.name)));
    transforms.push(new FilterObjectFields((typeName, fieldName) => !hidden.has(`${typeName}.${fieldName}`)));
  }
  if (Object.keys(renameFields).length > 0) transforms.push(renameSizedFields(field));
  if (Object.keys(renameFields).length > 0 || (prefix && roots.size > 0)) {
    transforms.push(new RenameObjectFields((typeName, fieldName) => field(typeName, fieldName)));
  }
  if (Object.keys(renameTypes).length > 0 || prefix) {
    transforms.push(new RenameTypes((name) => type(name)));
  }
  return { type, field, transforms };
}

/**
 * Names in `transforms.hide` and `transforms.rename` that the subgraph's
 * schema does not have: a typo would otherwise leave a field visible that
 * was meant to be hidden, or a name unchanged, without a word.
 */
export function transformProblems(descriptor: Descriptor, schema: GraphQLSchema): string[] {
  const spec = descriptor.transforms;
  if (!spec) return [];
  const where = displayPath(descriptor.file);
  const named: Array<[at: string, coordinate: string]> = [
    ...spec.hide.map((c): [string, string] => ['transforms.hide', c]),
    ...Object.keys(spec.rename?.types ?? {}).map((c): [string, string] => [`transforms.rename.types.${c}`, c]),
    ...Object.keys(spec.rename?.fields ?? {}).map((c): [string, string] => [`transforms.rename.fields."${c}"`, c]),
  ];
  const problems: string[] = [];
  for (const [at, coordinate] of named) {
    const missing = missingCoordinate(schema, coordinate);
    if (missing) problems.push(`${where}: ${at}: subgraph "${descriptor.name}" has no ${missing.missing}${missing.hint}`);
  }
  return problems;
}

/**
 * The list-size annotations (src/list-size.ts) name the fields holding a
 * page's items; when a descriptor renames one (`ProductPage.items: products`),
 * the annotation follows, so the cost estimate still finds the list. Runs
 * before the renames, on the subgraph's own names; only extensions change.
 */
function renameSizedFields(field: Naming['field']): Transform {
  return {
    transformSchema: (schema) =>
      mapSchema(schema, {
        [MapperKind.COMPOSITE_FIELD]: (config) => {
          const listSize = (config.extensions as Record<string, unknown> | undefined)?.[LIST_SIZE_KEY] as ListSize | undefined;
          if (!listSize || listSize.sizedFields.length === 0) return config;
          const typeName = getNamedType(config.type).name;
          return withListSize(config, { ...listSize, sizedFields: listSize.sizedFields.map((f) => field(typeName, f)) });
        },
      }),
  };
}
