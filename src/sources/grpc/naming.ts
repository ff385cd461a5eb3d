/**
 * GraphQL names for protobuf things. The rules, in docs/grpc.md:
 * - a message or enum is named by its path inside its package, nested parts
 *   joined by "_" (`Order.Line` → `Order_Line`);
 * - when two reachable types share that name, or it equals one of the scalar
 *   names this source uses, each of them is qualified by its package in
 *   PascalCase (`shop.v1.Order` → `ShopV1Order`), so the result does not
 *   depend on the order the types were met in;
 * - derived names (`…Input`, map `…Entry`, oneof `…Case`) take a numeric
 *   suffix if, rarely, they are already taken;
 * - fields keep their proto3 JSON name (lowerCamelCase) or, with
 *   `fieldNames: proto`, the name as written.
 */
import protobuf from 'protobufjs';

export type ProtoType = protobuf.Type | protobuf.Enum;

export function pascal(text: string): string {
  return text
    .split(/[._]/)
    .filter(Boolean)
    .map((part) => part[0]!.toUpperCase() + part.slice(1))
    .join('');
}

/** protoc's ToJsonName: drop each "_" and upper-case the character after it (`stock_level_2` → `stockLevel2`). */
export function lowerCamel(text: string): string {
  let out = '';
  let upper = false;
  for (const c of text) {
    if (c === '_') upper = true;
    else {
      out += upper ? c.toUpperCase() : c;
      upper = false;
    }
  }
  return out;
}

/** `Outer_Inner` for `pkg.Outer.Inner`. */
function localName(type: ProtoType): string {
  const parts = [type.name];
  let parent = type.parent;
  while (parent instanceof protobuf.Type) {
    parts.unshift(parent.name);
    parent = parent.parent;
  }
  return parts.join('_');
}

function packageOf(type: ProtoType): string {
  let parent = type.parent;
  while (parent instanceof protobuf.Type) parent = parent.parent;
  return parent && parent.fullName ? parent.fullName.replace(/^\./, '') : '';
}

export class Naming {
  private readonly typeNames = new Map<ProtoType, string>();
  private readonly taken = new Set<string>();

  /** Every reachable message and enum gets its name here, all at once, so a name never depends on traversal order. */
  constructor(types: Iterable<ProtoType>, reserved: Iterable<string>) {
    for (const name of reserved) this.taken.add(name);
    const byLocal = new Map<string, ProtoType[]>();
    for (const type of types) {
      const local = localName(type);
      const list = byLocal.get(local) ?? [];
      list.push(type);
      byLocal.set(local, list);
    }
    const sorted = [...byLocal.entries()].sort(([a], [b]) => a.localeCompare(b));
    for (const [local, list] of sorted) {
      const qualify = list.length > 1 || this.taken.has(local) || local.startsWith('__');
      for (const type of list.sort((a, b) => a.fullName.localeCompare(b.fullName))) {
        const preferred = qualify ? `${pascal(packageOf(type))}${local}` : local;
        this.typeNames.set(type, this.claim(preferred || `Proto${local}`));
      }
    }
  }

  typeName(type: ProtoType): string {
    const name = this.typeNames.get(type);
    if (name === undefined) throw new Error(`internal: no GraphQL name assigned to ${type.fullName}`);
    return name;
  }

  /** A name nobody has yet: `preferred`, or `preferred2`, `preferred3`, … */
  claim(preferred: string): string {
    let name = preferred;
    for (let n = 2; this.taken.has(name); n++) name = `${preferred}${n}`;
    this.taken.add(name);
    return name;
  }
}

/** A GraphQL name for a proto field: its JSON name (json_name or lowerCamelCase) or its name as written. */
export function fieldName(field: protobuf.Field, style: 'json' | 'proto'): string {
  if (style === 'proto') return field.name;
  const explicit = (field.options as Record<string, unknown> | undefined)?.json_name;
  const json = typeof explicit === 'string' && /^[_A-Za-z][_0-9A-Za-z]*$/.test(explicit) ? explicit : lowerCamel(field.name);
  return json;
}

/** GraphQL enum values may not be true, false or null. */
export function enumValueName(name: string): string {
  return name === 'true' || name === 'false' || name === 'null' ? `${name}_` : name;
}
