/**
 * Introspection (`__schema`, `__type`) refused unless the configuration allows
 * it (allowed by default only in development). A refused query is a
 * validation error and no source is called; its status follows the
 * GraphQL-over-HTTP spec like every validation error: 400 with
 * `Accept: application/graphql-response+json`, 200 with `application/json`,
 * `*\/*` or no Accept (the spec's legacy media type, whose clients read
 * `errors`, not the status).
 */
import type { Plugin } from 'graphql-yoga';
import { GraphQLError, getNamedType, isIntrospectionType, type ValidationRule } from 'graphql';

export interface IntrospectionPolicyOptions {
  allowed: boolean;
  /** The gateway.yaml key that turns it on here (`introspection`, `channels.web.introspection`), named in the refusal. */
  configKey?: string;
}

/** graphql-js's NoSchemaIntrospectionCustomRule, with a message that says which key turns introspection on. */
function refuseIntrospection(configKey: string): ValidationRule {
  return (context) => ({
    Field(node) {
      const type = getNamedType(context.getType());
      if (type && isIntrospectionType(type)) {
        const message = `Introspection is off on this endpoint, and the query asks for "${node.name.value}"; \`${configKey}: true\` in gateway.yaml turns it on (on by default with mode: development).`;
        context.reportError(new GraphQLError(message, { nodes: node }));
      }
    },
  });
}

export function useIntrospectionPolicy(options: IntrospectionPolicyOptions): Plugin {
  if (options.allowed) return {};
  // One rule for the plugin's life: the document cache keeps validation results by rule identity.
  const rule = refuseIntrospection(options.configKey ?? 'introspection');
  return {
    onValidate({ addValidationRule }) {
      addValidationRule(rule);
    },
  };
}
