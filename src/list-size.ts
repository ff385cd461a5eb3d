/**
 * How many items a field returns, as its source declares it: the annotation
 * the cost estimate (plugins/cost.ts) reads, modelled on the `@listSize`
 * directive of the GraphQL Cost Directives specification.
 *
 * A source that knows its pagination at load time (an OpenAPI operation with
 * a `limit`/`per_page`/… parameter, the list behind a page object, a Relay
 * connection the gateway generates) puts it in the field's extensions under
 * LIST_SIZE_KEY. Field extensions survive stitching, renames and channel
 * views, so the composed schema carries it to the estimator; the names in
 * `sizedFields` are translated by compose/transforms.ts when a descriptor
 * renames them.
 */
import type { GraphQLField, GraphQLFieldConfig } from 'graphql';

export const LIST_SIZE_KEY = 'listSize';

export interface ListSize {
  /** Arguments whose value is the number of items (the largest one given wins). */
  slicingArguments: readonly string[];
  /**
   * Fields of the returned object that hold the items (`items` of a page
   * object, `edges` and `nodes` of a connection); empty when the field itself
   * is the list.
   */
  sizedFields: readonly string[];
  /** Items when no slicing argument is given (the source's default page size); absent: limits.cost.listSize. */
  assumedSize?: number;
  /** The most items the field returns whatever is asked (a connection's page size × pages). */
  maxSize?: number;
}

/** The annotation on a field of a built schema, if any. */
export function listSizeOf(field: GraphQLField<unknown, unknown>): ListSize | undefined {
  return (field.extensions as Record<string, unknown> | undefined)?.[LIST_SIZE_KEY] as ListSize | undefined;
}

/** A field config with the annotation added to its extensions. */
export function withListSize<T extends GraphQLFieldConfig<unknown, unknown>>(config: T, listSize: ListSize | undefined): T {
  return listSize ? { ...config, extensions: { ...config.extensions, [LIST_SIZE_KEY]: listSize } } : config;
}

/**
 * A size argument's name folded for comparison: `per_page`, `perPage`,
 * `page-size`… differ only in case and separators; `$top` is `top`.
 */
export function foldName(name: string): string {
  return name.replace(/[^0-9A-Za-z]/g, '').toLowerCase();
}
