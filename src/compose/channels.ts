/**
 * A channel (mobile, web, partner) is a view of the unified graph: the same
 * schema with some types and fields hidden. A field whose type is hidden
 * goes with it, so a view never refers to a type it does not have.
 */
import { filterSchema, pruneSchema } from '@graphql-tools/utils';
import { getNamedType, type GraphQLSchema, type GraphQLType } from 'graphql';

export function channelView(schema: GraphQLSchema, hide: readonly string[]): GraphQLSchema {
  if (hide.length === 0) return schema;
  const hiddenTypes = new Set(hide.filter((c) => !c.includes('.')));
  const hiddenFields = new Set(hide.filter((c) => c.includes('.')));
  const keepField = (typeName: string, fieldName: string, field: { type: GraphQLType }): boolean =>
    !hiddenFields.has(`${typeName}.${fieldName}`) && !hiddenTypes.has(getNamedType(field.type).name);
  return pruneSchema(
    filterSchema({
      schema,
      typeFilter: (name) => !hiddenTypes.has(name),
      rootFieldFilter: (operation, fieldName, field) => keepField(operation, fieldName, field),
      objectFieldFilter: (typeName, fieldName, field) => keepField(typeName, fieldName, field),
      interfaceFieldFilter: (typeName, fieldName, field) => keepField(typeName, fieldName, field),
      inputObjectFieldFilter: (typeName, fieldName, field) => keepField(typeName, fieldName, field),
    }),
  );
}
