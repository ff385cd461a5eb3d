/**
 * Introspection (`__schema`, `__type`) refused unless the configuration allows
 * it (allowed by default only in development). A refused query is a
 * validation error: 400, and no source is called.
 */
import type { Plugin } from 'graphql-yoga';
import { NoSchemaIntrospectionCustomRule } from 'graphql';

export interface IntrospectionPolicyOptions {
  allowed: boolean;
}

export function useIntrospectionPolicy(options: IntrospectionPolicyOptions): Plugin {
  if (options.allowed) return {};
  return {
    onValidate({ addValidationRule }) {
      addValidationRule(NoSchemaIntrospectionCustomRule);
    },
  };
}
