/**
 * `security.limits`: what a document may cost before anything runs (tokens,
 * depth, aliases, directives, root fields, estimated cost), and a channel's
 * overrides of it. Defaults: docs/reliability.md section 1.
 */
import { z } from 'zod';
import { boolean, integer } from './units.js';

const positive = integer.pipe(z.number().min(1));

const costShape = {
  /** Most estimated cost for one operation. */
  max: positive,
  /** enforce: refuse over `max` (400 COST_ESTIMATED_TOO_EXPENSIVE); measure: log only (to find a safe `max` first). */
  mode: z.enum(['enforce', 'measure']),
  /** Items assumed in a list field whose size nothing says (no size argument, no default from its source). */
  listSize: positive,
  /**
   * On fields their source did not annotate (GraphQL and gRPC subgraphs):
   * arguments whose value says how many items a list field, or the lists
   * directly under an object field, return. Case and `_` are ignored.
   */
  listArguments: z.array(z.string().regex(/^[_A-Za-z][_0-9A-Za-z]*$/)).min(1),
  /** Cost of one object (or interface or union) field. */
  objectCost: integer.pipe(z.number().min(0)),
  /** Cost of one scalar or enum field. */
  scalarCost: integer.pipe(z.number().min(0)),
};

export const COST_DEFAULTS = {
  max: 5000,
  mode: 'enforce' as const,
  listSize: 10,
  listArguments: ['first', 'last', 'limit', 'pageSize', 'perPage', 'take', 'size', 'count', 'top', 'maxResults'],
  objectCost: 1,
  scalarCost: 1,
};

const limitShape = {
  /** Lexical tokens in a document; checked while parsing, before anything else. */
  maxTokens: positive,
  /** Bracket nesting ({, [, () in a document; checked before parsing so a deep document cannot exhaust the stack. */
  maxNesting: positive,
  /** Depth of the selection (fragments counted where they are spread). */
  maxDepth: positive,
  /** Depth of an introspection selection (`__schema`, `__type`), when introspection is allowed (GraphiQL's own query is 15 deep). */
  maxIntrospectionDepth: positive,
  maxAliases: positive,
  maxDirectives: positive,
  /** Fields at the top of an operation (one query can fan out to many subgraphs). */
  maxRootFields: positive,
  /** Limit values in error messages (default: development only). */
  exposeLimits: boolean,
  /** "Did you mean …?" in validation errors (default: development only, and only where introspection is allowed). */
  fieldSuggestions: boolean,
};

export const LIMIT_DEFAULTS = {
  maxTokens: 5000,
  maxNesting: 200,
  maxDepth: 12,
  maxIntrospectionDepth: 20,
  maxAliases: 30,
  maxDirectives: 50,
  maxRootFields: 20,
};

export const limitsSchema = z
  .strictObject({
    maxTokens: limitShape.maxTokens.default(LIMIT_DEFAULTS.maxTokens),
    maxNesting: limitShape.maxNesting.default(LIMIT_DEFAULTS.maxNesting),
    maxDepth: limitShape.maxDepth.default(LIMIT_DEFAULTS.maxDepth),
    maxIntrospectionDepth: limitShape.maxIntrospectionDepth.default(LIMIT_DEFAULTS.maxIntrospectionDepth),
    maxAliases: limitShape.maxAliases.default(LIMIT_DEFAULTS.maxAliases),
    maxDirectives: limitShape.maxDirectives.default(LIMIT_DEFAULTS.maxDirectives),
    maxRootFields: limitShape.maxRootFields.default(LIMIT_DEFAULTS.maxRootFields),
    exposeLimits: limitShape.exposeLimits.optional(),
    fieldSuggestions: limitShape.fieldSuggestions.optional(),
    cost: z
      .strictObject({
        max: costShape.max.default(COST_DEFAULTS.max),
        mode: costShape.mode.default(COST_DEFAULTS.mode),
        listSize: costShape.listSize.default(COST_DEFAULTS.listSize),
        listArguments: costShape.listArguments.default(COST_DEFAULTS.listArguments),
        objectCost: costShape.objectCost.default(COST_DEFAULTS.objectCost),
        scalarCost: costShape.scalarCost.default(COST_DEFAULTS.scalarCost),
      })
      .prefault({}),
  })
  .prefault({});

/** A channel's `limits:`: any subset of the gateway's, replacing those values for that channel. */
export const limitsOverride = z.strictObject({
  maxTokens: limitShape.maxTokens.optional(),
  maxNesting: limitShape.maxNesting.optional(),
  maxDepth: limitShape.maxDepth.optional(),
  maxIntrospectionDepth: limitShape.maxIntrospectionDepth.optional(),
  maxAliases: limitShape.maxAliases.optional(),
  maxDirectives: limitShape.maxDirectives.optional(),
  maxRootFields: limitShape.maxRootFields.optional(),
  exposeLimits: limitShape.exposeLimits.optional(),
  fieldSuggestions: limitShape.fieldSuggestions.optional(),
  cost: z
    .strictObject({
      max: costShape.max.optional(),
      mode: costShape.mode.optional(),
      listSize: costShape.listSize.optional(),
      listArguments: costShape.listArguments.optional(),
      objectCost: costShape.objectCost.optional(),
      scalarCost: costShape.scalarCost.optional(),
    })
    .optional(),
});

export type LimitsOverride = z.output<typeof limitsOverride>;
export type LimitsConfig = z.output<typeof limitsSchema>;
