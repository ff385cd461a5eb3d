/**
 * Checks that run before stitching, so that two subgraphs that disagree are
 * reported by name and file instead of being merged silently (the stitcher
 * would keep one definition and drop the other).
 *
 * Rules, for each type name found in more than one subgraph (after transforms):
 * - it must be the same kind of type (object, enum, input, ...);
 * - a field both define must have the same type and arguments;
 * - an enum must have the same values, an input type the same fields;
 * - an object type with different fields in different subgraphs must be an
 *   entity, declared in every subgraph that defines it;
 * - a root field (Query.x, Mutation.x) may come from one subgraph only.
 * Two federation subgraphs are not checked against each other here:
 * federation composition did (@shareable fields and value types, @key).
 */
import {
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isIntrospectionType,
  isObjectType,
  isSpecifiedScalarType,
  isUnionType,
  type GraphQLField,
  type GraphQLInputField,
  type GraphQLNamedType,
  type GraphQLSchema,
} from 'graphql';
import { displayPath } from '../config/load.js';
import type { Descriptor } from '../config/descriptor.js';

export interface ComposeInput {
  descriptor: Descriptor;
  /** The subgraph's schema after its transforms. */
  schema: GraphQLSchema;
  /** Entity type names declared by this subgraph (after transforms). */
  entities: Set<string>;
  /** A federation subgraph: two of them were checked against each other by federation composition (compose/federation.ts). */
  federated?: boolean;
}

function kindOf(type: GraphQLNamedType): string {
  if (isObjectType(type)) return 'object type';
  if (isInterfaceType(type)) return 'interface';
  if (isUnionType(type)) return 'union';
  if (isEnumType(type)) return 'enum';
  if (isInputObjectType(type)) return 'input type';
  return 'scalar';
}

function signature(field: GraphQLField<unknown, unknown>): string {
  const args = field.args.map((a) => `${a.name}: ${String(a.type)}`).join(', ');
  return `${args ? `(${args})` : ''}: ${String(field.type)}`;
}

function label(input: ComposeInput): string {
  return `"${input.descriptor.name}" (${displayPath(input.descriptor.file)})`;
}

function rootNames(schema: GraphQLSchema): Set<string> {
  return new Set([schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()].filter(Boolean).map((t) => t!.name));
}

export function findConflicts(inputs: ComposeInput[]): string[] {
  const problems: string[] = [];
  const byName = new Map<string, Array<{ input: ComposeInput; type: GraphQLNamedType }>>();
  for (const input of inputs) {
    const roots = rootNames(input.schema);
    for (const type of Object.values(input.schema.getTypeMap())) {
      if (isIntrospectionType(type) || isSpecifiedScalarType(type)) continue;
      const key = roots.has(type.name) ? `#root:${type.name}` : type.name;
      const list = byName.get(key) ?? [];
      list.push({ input, type });
      byName.set(key, list);
    }
  }

  for (const [key, defs] of byName) {
    if (defs.length < 2) continue;
    if (key.startsWith('#root:')) {
      const owner = new Map<string, ComposeInput>();
      for (const { input, type } of defs) {
        if (!isObjectType(type)) continue;
        for (const fieldName of Object.keys(type.getFields())) {
          const first = owner.get(fieldName);
          if (first?.federated && input.federated) continue;
          if (first) problems.push(`${type.name}.${fieldName} is defined by both ${label(first)} and ${label(input)}; hide or rename it in one of them (transforms.hide / transforms.rename.fields)`);
          else owner.set(fieldName, input);
        }
      }
      continue;
    }
    const [first, ...rest] = defs;
    for (const other of rest) {
      if (first!.input.federated && other.input.federated) continue;
      const a = first!.type;
      const b = other.type;
      const where = `${label(first!.input)} and ${label(other.input)}`;
      if (kindOf(a) !== kindOf(b)) {
        problems.push(`type ${a.name} is a ${kindOf(a)} in ${label(first!.input)} but a ${kindOf(b)} in ${label(other.input)}`);
        continue;
      }
      if (isEnumType(a) && isEnumType(b)) {
        const va = a.getValues().map((v) => v.name).sort().join(', ');
        const vb = b.getValues().map((v) => v.name).sort().join(', ');
        if (va !== vb) problems.push(`enum ${a.name} has values [${va}] in ${label(first!.input)} but [${vb}] in ${label(other.input)}`);
      } else if (isInputObjectType(a) && isInputObjectType(b)) {
        const sig = (f: GraphQLInputField): string => `${f.name}: ${String(f.type)}`;
        const fa = Object.values(a.getFields()).map(sig).sort().join(', ');
        const fb = Object.values(b.getFields()).map(sig).sort().join(', ');
        if (fa !== fb) problems.push(`input type ${a.name} differs between ${where}: {${fa}} vs {${fb}}`);
      } else if ((isObjectType(a) || isInterfaceType(a)) && (isObjectType(b) || isInterfaceType(b))) {
        const fa = a.getFields();
        const fb = b.getFields();
        for (const [name, field] of Object.entries(fa)) {
          const otherField = fb[name];
          if (otherField && signature(field) !== signature(otherField)) {
            problems.push(`${a.name}.${name} is ${name}${signature(field)} in ${label(first!.input)} but ${name}${signature(otherField)} in ${label(other.input)}`);
          }
        }
        const sameFields = Object.keys(fa).sort().join(',') === Object.keys(fb).sort().join(',');
        if (isObjectType(a) && !sameFields) {
          const missing = defs.filter((d) => !d.input.entities.has(a.name)).map((d) => label(d.input));
          if (missing.length > 0) {
            problems.push(`type ${a.name} is defined with different fields by ${defs.map((d) => label(d.input)).join(', ')}; declare it under \`entities:\` (with its key) in ${missing.join(', ')} so the gateway can join it`);
          }
        }
      }
    }
  }
  return [...new Set(problems)];
}
