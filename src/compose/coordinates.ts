/**
 * Names in the configuration that must name something in a schema
 * ("Type" or "Type.field": channels' and transforms' `hide`, `rename`,
 * `auth`, `cache`): what is missing, with the closest names the schema has,
 * so a typo is fixed from the message alone. One way for every key, so each
 * says it in the same words. Pure: no I/O.
 */
import { isInputObjectType, isInterfaceType, isObjectType, type GraphQLSchema } from 'graphql';
import { suggestionList } from 'graphql/jsutils/suggestionList.js';

/** " (did you mean X?)" / " (did you mean X or Y?)", or "" when nothing is close. */
function didYouMean(suggestions: readonly string[]): string {
  const shown = suggestions.slice(0, 3).map((s) => `"${s}"`);
  if (shown.length === 0) return '';
  return ` (did you mean ${shown.length === 1 ? shown[0] : `${shown.slice(0, -1).join(', ')} or ${shown.at(-1)}`}?)`;
}

export interface MissingCoordinate {
  /** What the schema lacks: "type Prodcut", "field Product.nme". */
  missing: string;
  /** ' (did you mean "Product"?)', or "" when no name is close. */
  hint: string;
}

/**
 * What a "Type" or "Type.field" coordinate misses in the schema, or
 * undefined when it names a type, or a field of an object, interface or
 * input type.
 */
export function missingCoordinate(schema: GraphQLSchema, coordinate: string): MissingCoordinate | undefined {
  const [typeName, fieldName] = coordinate.split('.') as [string, string | undefined];
  const type = schema.getType(typeName);
  if (!type) {
    const names = Object.keys(schema.getTypeMap()).filter((n) => !n.startsWith('__'));
    return { missing: `type ${typeName}`, hint: didYouMean(suggestionList(typeName, names)) };
  }
  if (fieldName === undefined) return undefined;
  const fields = isObjectType(type) || isInterfaceType(type) || isInputObjectType(type) ? Object.keys(type.getFields()) : [];
  if (fields.includes(fieldName)) return undefined;
  return { missing: `field ${coordinate}`, hint: didYouMean(suggestionList(fieldName, fields).map((f) => `${typeName}.${f}`)) };
}
