/**
 * Mistakes in an OpenAPI document that the mapping would otherwise paper
 * over: a local `$ref` that points at nothing (the value would silently
 * become JSON) and a schema `type` that JSON Schema does not have. Each
 * finding names where it is, as a JSON pointer into the document
 * (`openapi.json#/paths/~1orders/get/...`), and the closest name the
 * document has. Whether a finding stops the load is the caller's choice
 * (docs/openapi.md: errors in `strict` nullability, warnings in `lenient`).
 */
import { suggestionList } from 'graphql/jsutils/suggestionList.js';
import type { Json, JsonObject } from './document.js';

const TYPES = ['string', 'number', 'integer', 'boolean', 'array', 'object', 'null'];
/** Keys whose value is one schema, or a map or list of schemas, inside a schema. */
const SUBSCHEMA = new Set(['items', 'additionalProperties', 'not', 'contains', 'if', 'then', 'else', 'propertyNames', 'unevaluatedItems', 'unevaluatedProperties']);
const SUBSCHEMA_MAP = new Set(['properties', 'patternProperties', '$defs', 'dependentSchemas']);
const SUBSCHEMA_LIST = new Set(['allOf', 'anyOf', 'oneOf', 'prefixItems']);
/** Keys whose value is data, not document structure: a `$ref` key in an example is an example. */
const DATA = new Set(['example', 'examples', 'default', 'enum', 'const', 'value']);

const escape = (part: string): string => part.replace(/~/g, '~0').replace(/\//g, '~1');

/**
 * Where a local `$ref` stops resolving, with a suggestion for that step:
 * `#/components/schemas/Ordr` → the document has no "Ordr" under
 * #/components/schemas (did you mean "#/components/schemas/Order"?).
 */
function brokenRef(root: JsonObject, ref: string): string | undefined {
  let parts: string[];
  try {
    parts = decodeURIComponent(ref.slice(1)).split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  } catch {
    return `"${ref}" is not a valid JSON pointer (bad percent-encoding)`;
  }
  let node: Json | undefined = root;
  for (const [i, part] of parts.entries()) {
    const here = `#${parts.slice(0, i).map((p) => `/${escape(p)}`).join('')}`;
    if (node === null || typeof node !== 'object') return `"${ref}" names nothing in the document: ${here} is not an object`;
    const next: Json | undefined = Array.isArray(node) ? node[Number(part)] : Object.hasOwn(node, part) ? node[part] : undefined;
    if (next === undefined) {
      const close = Array.isArray(node) ? [] : suggestionList(part, Object.keys(node)).slice(0, 1);
      const hint = close.length > 0 ? ` (did you mean "${here === '#' ? '#' : here}/${escape(close[0]!)}"?)` : '';
      return `"${ref}" names nothing in the document: ${here} has no "${part}"${hint}`;
    }
    node = next;
  }
  return undefined;
}

function badType(type: Json, swagger: boolean): string | undefined {
  const allowed = swagger ? [...TYPES, 'file'] : TYPES;
  const listed = Array.isArray(type) ? type : [type];
  const wrong = listed.find((t) => typeof t !== 'string' || !allowed.includes(t));
  if (wrong === undefined) return undefined;
  const close = typeof wrong === 'string' ? suggestionList(wrong, TYPES).slice(0, 1) : [];
  return `type ${JSON.stringify(wrong)} is not a JSON Schema type (expected one of ${TYPES.join(', ')})${close.length > 0 ? ` (did you mean "${close[0]}"?)` : ''}`;
}

/**
 * Every broken local `$ref` and invalid schema `type` in the document, as
 * `<pointer>: <what>` with the pointer relative to the document
 * (`#/components/schemas/Order/properties/total/type: ...`).
 */
export function documentMistakes(root: JsonObject, version: string): string[] {
  const swagger = version.startsWith('2');
  const found: string[] = [];
  const visit = (node: Json | undefined, pointer: string, schema: boolean): void => {
    if (node === null || typeof node !== 'object') return;
    if (Array.isArray(node)) {
      node.forEach((item, i) => visit(item, `${pointer}/${i}`, false));
      return;
    }
    for (const [key, value] of Object.entries(node)) {
      const at = `${pointer}/${escape(key)}`;
      if (key === '$ref' && typeof value === 'string') {
        const broken = value.startsWith('#') ? brokenRef(root, value) : undefined;
        if (broken) found.push(`${at}: ${broken}`);
        continue;
      }
      if (key.startsWith('x-') || DATA.has(key)) continue;
      if (schema && key === 'type') {
        const bad = badType(value, swagger);
        if (bad) found.push(`${at}: ${bad}`);
        continue;
      }
      if (schema && (SUBSCHEMA_LIST.has(key) || key === 'items') && Array.isArray(value)) value.forEach((item, i) => visit(item, `${at}/${i}`, true));
      else if (key === 'schema' || (schema && SUBSCHEMA.has(key))) visit(value, at, true);
      else if ((schema && SUBSCHEMA_MAP.has(key)) || (pointer === '#/components' && key === 'schemas')) visitEach(value, at);
      else if (!schema) visit(value, at, false);
    }
  };
  const visitEach = (map: Json | undefined, pointer: string): void => {
    if (map === null || typeof map !== 'object' || Array.isArray(map)) return;
    for (const [key, value] of Object.entries(map)) visit(value, `${pointer}/${escape(key)}`, true);
  };
  visit(root, '#', false);
  return found;
}
