/**
 * Limits on the document itself, so an expensive or hostile query is refused
 * before any subgraph is called (rows 11-17 of docs/reliability.md):
 *
 *   parse     bracket nesting (maxNesting, a linear scan before the parser
 *             recurses) and lexical tokens (maxTokens, graphql-js stops
 *             lexing at the limit): only on a parse-cache miss
 *   validate  depth (fragments count where they are spread, not as a level),
 *             introspection depth, aliases, directives (graphql-armor) and
 *             root fields, as validation rules: cached with the document
 *   cost      estimated with this request's variables (cost.ts); enforce
 *             refuses over limits.cost.max, measure only logs
 *   errors    "Did you mean …?" removed where suggestions are off (they
 *             reveal the schema to someone who may not introspect it)
 *
 * Every refusal is a 400 with its own code (MAX_TOKENS, MAX_DEPTH,
 * MAX_ALIASES, MAX_DIRECTIVES, MAX_ROOT_FIELDS, COST_ESTIMATED_TOO_EXPENSIVE).
 */
import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesRule } from '@escape.tech/graphql-armor-max-directives';
import {
  getOperationAST,
  GraphQLError,
  Kind,
  parse,
  type DocumentNode,
  type ExecutionResult,
  type GraphQLSchema,
  type SelectionSetNode,
  type Source,
  type ValidationContext,
  type ValidationRule,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Logger } from 'pino';
import type { LimitsConfig } from '../config/limits.js';
import { TesseraError, type ErrorCode } from '../errors.js';
import { estimateCost, type CostOptions } from './cost.js';

export interface LimitsOptions {
  limits: Omit<LimitsConfig, 'exposeLimits' | 'fieldSuggestions'> & { exposeLimits: boolean; fieldSuggestions: boolean };
  logger?: Logger;
}

const GENERIC: Record<string, string> = {
  MAX_DEPTH: 'The query is too deep.',
  MAX_ALIASES: 'The query uses too many aliases.',
  MAX_DIRECTIVES: 'The query uses too many directives.',
  MAX_ROOT_FIELDS: 'The query selects too many top-level fields.',
  MAX_TOKENS: 'The query is too long.',
  COST_ESTIMATED_TOO_EXPENSIVE: 'The query is too expensive.',
};

/**
 * Deepest nesting of `{`, `[` and `(` in a GraphQL source, skipping strings,
 * block strings and comments; stops counting as soon as `limit` is passed.
 * Linear and allocation-free, so a 1 MB document of brackets costs one scan.
 */
export function nestingDepth(source: string, limit: number): number {
  let depth = 0;
  let max = 0;
  for (let i = 0; i < source.length; i++) {
    const c = source.charCodeAt(i);
    if (c === 0x7b || c === 0x5b || c === 0x28) {
      if (++depth > max) {
        max = depth;
        if (max > limit) return max;
      }
    } else if (c === 0x7d || c === 0x5d || c === 0x29) {
      depth--;
    } else if (c === 0x23) {
      // comment: to the end of the line
      while (i < source.length && source.charCodeAt(i) !== 0x0a && source.charCodeAt(i) !== 0x0d) i++;
    } else if (c === 0x22) {
      if (source.startsWith('"""', i)) {
        const end = source.indexOf('"""', i + 3);
        // escaped \""" inside a block string does not end it
        let close = end;
        while (close !== -1 && source.charCodeAt(close - 1) === 0x5c) close = source.indexOf('"""', close + 3);
        if (close === -1) return max;
        i = close + 2;
      } else {
        for (i++; i < source.length; i++) {
          const s = source.charCodeAt(i);
          if (s === 0x5c) i++;
          else if (s === 0x22 || s === 0x0a || s === 0x0d) break;
        }
      }
    }
  }
  return max;
}

/** Top-level fields of each operation (fragments expanded once each), against `limit`. */
function maxRootFieldsRule(limit: number, report: (context: ValidationContext, count: number) => void): ValidationRule {
  return (context) => {
    const counted = new Map<string, number>();
    const count = (selectionSet: SelectionSetNode, seen: Set<string>): number => {
      let n = 0;
      for (const selection of selectionSet.selections) {
        if (selection.kind === Kind.FIELD) {
          if (selection.name.value !== '__typename') n++;
        } else if (selection.kind === Kind.INLINE_FRAGMENT) {
          n += count(selection.selectionSet, seen);
        } else {
          const name = selection.name.value;
          if (seen.has(name)) continue;
          let inner = counted.get(name);
          if (inner === undefined) {
            const fragment = context.getFragment(name);
            inner = fragment ? count(fragment.selectionSet, new Set([...seen, name])) : 0;
            counted.set(name, inner);
          }
          n += inner;
        }
      }
      return n;
    };
    return {
      OperationDefinition(node) {
        const n = count(node.selectionSet, new Set());
        if (n > limit) report(context, n);
      },
    };
  };
}

const SUGGESTION = /\s*Did you mean [^?]*\?/g;

function withoutSuggestions(error: GraphQLError): GraphQLError {
  if (!error.message.includes('Did you mean')) return error;
  return new GraphQLError(error.message.replace(SUGGESTION, ''), {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    originalError: error.originalError,
    extensions: error.extensions,
  });
}

export function useLimits(options: LimitsOptions): Plugin {
  const { limits, logger } = options;
  for (const key of ['maxTokens', 'maxNesting', 'maxDepth', 'maxIntrospectionDepth', 'maxAliases', 'maxDirectives', 'maxRootFields'] as const) {
    if (!Number.isInteger(limits[key]) || limits[key] < 1) throw new TypeError(`useLimits: ${key} must be a positive whole number`);
  }
  const expose = limits.exposeLimits;
  const refuse = (code: ErrorCode, detail: string): TesseraError =>
    new TesseraError(code, expose ? detail : GENERIC[code]!, { extensions: { http: { status: 400 } } });
  // Armor reports "Syntax Error: <what>, found <n>."; the catalog code goes with it.
  const reportAs =
    (code: ErrorCode) =>
    (context: ValidationContext | null, error: GraphQLError): void => {
      context?.reportError(refuse(code, error.message.replace(/^Syntax Error: /, '')));
    };
  const armor = { exposeLimits: true, propagateOnRejection: false } as const;
  const rules: ValidationRule[] = [
    maxDepthRule({ ...armor, n: limits.maxDepth, ignoreIntrospection: true, flattenFragments: true, onReject: [reportAs('MAX_DEPTH')] }) as unknown as ValidationRule,
    // Counts introspection too, so a __schema { types { fields { type { ofType … } } } } chain is capped.
    maxDepthRule({ ...armor, n: limits.maxIntrospectionDepth, ignoreIntrospection: false, flattenFragments: true, onReject: [reportAs('MAX_DEPTH')] }) as unknown as ValidationRule,
    maxAliasesRule({ ...armor, n: limits.maxAliases, onReject: [reportAs('MAX_ALIASES')] }) as unknown as ValidationRule,
    maxDirectivesRule({ ...armor, n: limits.maxDirectives, onReject: [reportAs('MAX_DIRECTIVES')] }) as unknown as ValidationRule,
    maxRootFieldsRule(limits.maxRootFields, (context, n) =>
      context.reportError(refuse('MAX_ROOT_FIELDS', `Root fields limit of ${limits.maxRootFields} exceeded, found ${n}.`)),
    ),
  ];

  const parseWithLimits = (source: string | Source, parseOptions?: Parameters<typeof parse>[1]) => {
    const text = typeof source === 'string' ? source : source.body;
    const nesting = nestingDepth(text, limits.maxNesting);
    if (nesting > limits.maxNesting) throw refuse('MAX_DEPTH', `Nesting limit of ${limits.maxNesting} exceeded.`);
    try {
      return parse(source, { ...parseOptions, maxTokens: limits.maxTokens });
    } catch (error) {
      if (error instanceof GraphQLError && /contains more th\w+ \d+ tokens/.test(error.message)) {
        throw refuse('MAX_TOKENS', `Token limit of ${limits.maxTokens} exceeded.`);
      }
      throw error;
    }
  };

  const cost: CostOptions = limits.cost;
  // An operation without variables costs the same every time: estimated once per document.
  const fixedCost = new WeakMap<DocumentNode, Map<string, number>>();
  const enforceCost = limits.cost.mode === 'enforce';
  const maskSuggestions = !limits.fieldSuggestions;

  return {
    onParse({ setParseFn }) {
      setParseFn(parseWithLimits);
    },
    onValidate({ addValidationRule, params, context }) {
      for (const rule of rules) addValidationRule(rule);
      return ({ valid, result, setResult }) => {
        if (!valid) {
          if (maskSuggestions) setResult((result as readonly GraphQLError[]).map(withoutSuggestions));
          return;
        }
        // Cost depends on the variables, so it is computed per request, after the
        // document is known to be valid (no fragment cycles). A refusal is thrown,
        // not set as the validation result, so the validation cache never keeps it.
        const requestParams = (context as { params?: { operationName?: string | null; variables?: Record<string, unknown> | null } }).params;
        const document = params.documentAST;
        const operationName = requestParams?.operationName ?? '';
        let estimate = fixedCost.get(document)?.get(operationName);
        if (estimate === undefined) {
          const operation = getOperationAST(document, operationName || undefined);
          if (!operation) return;
          estimate = estimateCost(params.schema as GraphQLSchema, document, operation, requestParams?.variables ?? undefined, cost);
          if (!operation.variableDefinitions?.length) {
            let byOperation = fixedCost.get(document);
            if (!byOperation) fixedCost.set(document, (byOperation = new Map()));
            byOperation.set(operationName, estimate);
          }
        }
        if (estimate <= limits.cost.max) return;
        if (enforceCost) throw refuse('COST_ESTIMATED_TOO_EXPENSIVE', `Estimated cost ${estimate} exceeds the limit of ${limits.cost.max}.`);
        logger?.warn({ cost: estimate, max: limits.cost.max, operationName: operationName || undefined }, 'operation over the cost limit (measure mode: not refused)');
      };
    },
    ...(maskSuggestions && {
      onExecute() {
        return {
          onExecuteDone({ result, setResult }) {
            const errors = (result as ExecutionResult).errors;
            // Variable coercion errors suggest enum values ("Did you mean the enum value …?").
            if (errors?.some((e) => e.message.includes('Did you mean'))) {
              setResult({ ...(result as ExecutionResult), errors: errors.map(withoutSuggestions) });
            }
          },
        };
      },
    }),
  };
}
