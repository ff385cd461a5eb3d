/**
 * GraphQL names from OpenAPI names. GraphQL allows /[_A-Za-z][_0-9A-Za-z]*\/
 * (spec section 2.1.9) and reserves names starting with "__"; OpenAPI allows
 * anything. A valid name is kept as written; any other is rebuilt from its
 * words (`first-name` → `firstName`, `x.y` → `XY` for a type). Collisions get
 * a numeric suffix in the order names are claimed, which follows the
 * document's order, so the same document always gives the same schema.
 */
const VALID = /^[_A-Za-z][_0-9A-Za-z]*$/;

export function isValidName(name: string): boolean {
  return VALID.test(name) && !name.startsWith('__');
}

function words(raw: string): string[] {
  return raw
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean);
}

const upperFirst = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);
const lowerFirst = (s: string): string => s.charAt(0).toLowerCase() + s.slice(1);

function fixStart(name: string): string {
  if (name === '') return '_';
  return /^[0-9]/.test(name) ? `_${name}` : name;
}

/** A field or argument name: kept when valid, camelCase otherwise. */
export function fieldName(raw: string): string {
  if (isValidName(raw)) return raw;
  const parts = words(raw);
  if (parts.length === 0) return raw.startsWith('__') ? fixStart(raw.replace(/^_+/, '_')) : '_';
  return fixStart(lowerFirst(parts[0]!) + parts.slice(1).map(upperFirst).join(''));
}

/** A type name: PascalCase of its words (`pet-store.Pet` → `PetStorePet`), kept when already valid PascalCase. */
export function typeName(raw: string): string {
  if (isValidName(raw) && /^[A-Z]/.test(raw)) return raw;
  const parts = words(raw);
  if (parts.length === 0) return '_';
  return fixStart(parts.map(upperFirst).join(''));
}

/** An enum value name: kept when valid, else invalid characters become "_" (`in-stock` → `in_stock`, `1` → `_1`). */
export function enumValueName(raw: unknown): string {
  const text = typeof raw === 'string' ? raw : JSON.stringify(raw);
  if (isValidName(text) && text !== 'true' && text !== 'false' && text !== 'null') return text;
  if (text === 'true' || text === 'false' || text === 'null') return text.toUpperCase();
  const replaced = text.replace(/[^_0-9A-Za-z]/g, '_');
  if (/^_*$/.test(replaced)) return replaced === '' ? '_EMPTY' : `_${replaced.length}`;
  return fixStart(replaced.startsWith('__') ? replaced.replace(/^_+/, '_') : replaced);
}

/** Hands out unique names: the first claim of a name gets it, later ones `Name2`, `Name3`... */
export class NameRegistry {
  private readonly taken = new Set<string>();

  constructor(reserved: Iterable<string> = []) {
    for (const name of reserved) this.taken.add(name);
  }

  has(name: string): boolean {
    return this.taken.has(name);
  }

  claim(base: string): string {
    let name = base;
    for (let i = 2; this.taken.has(name); i++) name = `${base}${i}`;
    this.taken.add(name);
    return name;
  }
}

/**
 * Unique GraphQL names for a set of raw names (the properties of one object,
 * the arguments of one field): valid names are placed first so that a
 * renamed property never takes the name of one that needed no renaming.
 */
export function uniqueFieldNames(raws: string[], reserved: Iterable<string> = []): Map<string, string> {
  const registry = new NameRegistry(reserved);
  const out = new Map<string, string>();
  for (const raw of raws) if (isValidName(raw) && !registry.has(raw)) out.set(raw, registry.claim(raw));
  for (const raw of raws) if (!out.has(raw)) out.set(raw, registry.claim(fieldName(raw)));
  // Back in the document's order, so fields read as the document lists them.
  return new Map(raws.map((raw) => [raw, out.get(raw)!]));
}

/** A field name for an operation without an operationId: `GET /products/{id}/reviews` → `getProductsByIdReviews`. */
export function operationName(method: string, path: string): string {
  const parts: string[] = [method.toLowerCase()];
  for (const segment of path.split('/')) {
    if (!segment) continue;
    const param = /^\{(.+)\}$/.exec(segment);
    if (param) parts.push('By', ...words(param[1]!).map(upperFirst));
    else parts.push(...words(segment).map(upperFirst));
  }
  return fieldName(parts.join(''));
}

export { upperFirst, lowerFirst };
