/**
 * "Did you mean `timeout`?" for a key the configuration does not know: the
 * keys the schema accepts at that place in the file, and the closest one.
 *
 * The schema is walked along the path with the data beside it, so a
 * descriptor's keys are those of its own `kind` (the discriminated union is
 * narrowed by the value the file gives), not those of every kind.
 */
import { suggestionList } from 'graphql/jsutils/suggestionList.js';
import type { z } from 'zod';

type Def = { type: string } & Record<string, unknown>;

function defOf(schema: unknown): Def | undefined {
  return (schema as { _zod?: { def?: Def } } | undefined)?._zod?.def;
}

/** The schemas a value at this place may match, wrappers (optional, default, pipe input, lazy) removed. */
function unwrap(schema: unknown, value: unknown, depth = 0): unknown[] {
  const def = defOf(schema);
  if (!def || depth > 20) return [];
  switch (def.type) {
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'nonoptional':
    case 'readonly':
    case 'catch':
      return unwrap(def.innerType, value, depth + 1);
    case 'pipe':
      return unwrap(def.in, value, depth + 1);
    case 'lazy':
      return unwrap((def.getter as () => unknown)(), value, depth + 1);
    case 'intersection':
      return [...unwrap(def.left, value, depth + 1), ...unwrap(def.right, value, depth + 1)];
    case 'union': {
      let options = def.options as unknown[];
      const discriminator = def.discriminator as string | undefined;
      if (discriminator && value !== null && typeof value === 'object') {
        const given = (value as Record<string, unknown>)[discriminator];
        const matching = options.filter((option) => (defOf(option)?.shape as Record<string, z.ZodType> | undefined)?.[discriminator]?.safeParse(given).success);
        if (matching.length > 0) options = matching;
      }
      return options.flatMap((option) => unwrap(option, value, depth + 1));
    }
    default:
      return [schema];
  }
}

function child(schema: unknown, key: PropertyKey): unknown {
  const def = defOf(schema);
  if (!def) return undefined;
  if (def.type === 'object') return (def.shape as Record<string, unknown>)[key as string];
  if (def.type === 'array') return def.element;
  if (def.type === 'record') return def.valueType;
  return undefined;
}

/** Every key an object at `path` may have, by the schema (and the data, for discriminated unions). */
export function knownKeys(schema: z.ZodType, data: unknown, path: ReadonlyArray<PropertyKey>): string[] {
  let schemas = unwrap(schema, data);
  let value = data;
  for (const key of path) {
    value = value !== null && typeof value === 'object' ? (value as Record<PropertyKey, unknown>)[key] : undefined;
    schemas = schemas.flatMap((s) => unwrap(child(s, key), value));
  }
  const keys = schemas.flatMap((s) => {
    const def = defOf(s);
    return def?.type === 'object' ? Object.keys(def.shape as Record<string, unknown>) : [];
  });
  return [...new Set(keys)];
}

/**
 * The known key closest to `key`, by the same distance graphql-js uses for its
 * own "Did you mean" (edits, swapped neighbours and case counted, at most
 * about 40% of the key's length), so a short key is not "corrected" into an
 * unrelated one. Undefined when none is that close.
 */
export function closestKey(key: string, known: readonly string[]): string | undefined {
  return suggestionList(key, known)[0];
}
