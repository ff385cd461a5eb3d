/**
 * Parameter serialisation (OpenAPI 3.1 section 4.8.12.4, "Style Values"):
 * one serializer per parameter, chosen once at load time from its `in`,
 * `style` and `explode`, so a call only runs the functions it needs.
 *
 * Every path value is percent-encoded as one segment (RFC 3986): `/`, `?`,
 * `#` and `%` are encoded, so `../admin` or `a/b` stays inside its segment.
 * Encoding cannot protect a whole segment of `.` or `..`: `%2E%2E` is turned
 * back into `..` by WHATWG URL parsers and nginx. RestClient.target refuses
 * those (and empty segments) before any call; see docs/security.md.
 */
import { stringifyJson } from './int64.js';

export type Location = 'path' | 'query' | 'header' | 'cookie';

/** `name=value` pairs for the query string, or one string for a path segment, header or cookie. */
export type Serialized = Array<[string, string]> | string | undefined;

export type Serializer = (value: unknown) => Serialized;

const enc = (v: string): string => encodeURIComponent(v).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

function scalarText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'object' && value !== null) return stringifyJson(value);
  return String(value);
}

function entries(value: object): Array<[string, string]> {
  return Object.entries(value)
    .filter(([, v]) => v !== undefined && v !== null)
    .map(([k, v]) => [k, scalarText(v)]);
}

export interface ParameterSpec {
  name: string;
  in: Location;
  style?: string;
  explode?: boolean;
  /** `allowReserved: true` keeps RFC 3986 reserved characters unencoded in query values. */
  allowReserved?: boolean;
  /** `content: application/json`: the value is sent as JSON text. */
  json?: boolean;
}

export function serializerFor(spec: ParameterSpec): Serializer {
  const defaultStyle = spec.in === 'query' || spec.in === 'cookie' ? 'form' : 'simple';
  const style = spec.style ?? defaultStyle;
  const explode = spec.explode ?? style === 'form';
  const name = spec.name;
  if (spec.json) return (value) => (spec.in === 'query' ? [[name, stringifyJson(value)]] : spec.in === 'path' ? enc(stringifyJson(value)) : stringifyJson(value));

  if (spec.in === 'path') {
    const prefix = style === 'label' ? '.' : '';
    return (value) => {
      if (value === undefined || value === null) return undefined;
      if (style === 'matrix') {
        if (Array.isArray(value)) {
          return explode ? value.map((v) => `;${name}=${enc(scalarText(v))}`).join('') : `;${name}=${value.map((v) => enc(scalarText(v))).join(',')}`;
        }
        if (typeof value === 'object') {
          const e = entries(value);
          return explode ? e.map(([k, v]) => `;${enc(k)}=${enc(v)}`).join('') : `;${name}=${e.map(([k, v]) => `${enc(k)},${enc(v)}`).join(',')}`;
        }
        return `;${name}=${enc(scalarText(value))}`;
      }
      const sep = style === 'label' && explode ? '.' : ',';
      if (Array.isArray(value)) return prefix + value.map((v) => enc(scalarText(v))).join(sep);
      if (typeof value === 'object') {
        const e = entries(value);
        return prefix + (explode ? e.map(([k, v]) => `${enc(k)}=${enc(v)}`).join(sep) : e.map(([k, v]) => `${enc(k)},${enc(v)}`).join(','));
      }
      return prefix + enc(scalarText(value));
    };
  }

  if (spec.in === 'header') {
    return (value) => {
      if (value === undefined || value === null) return undefined;
      let text: string;
      if (Array.isArray(value)) text = value.map(scalarText).join(',');
      else if (typeof value === 'object') text = entries(value).map(([k, v]) => (explode ? `${k}=${v}` : `${k},${v}`)).join(',');
      else text = scalarText(value);
      // Sent only if transport/headers.ts allows the name and the value (no CR, LF or NUL: it would split the request).
      return text;
    };
  }

  if (spec.in === 'cookie') {
    return (value) => {
      if (value === undefined || value === null) return undefined;
      const text = Array.isArray(value) ? value.map(scalarText).join(',') : typeof value === 'object' ? entries(value).flat().join(',') : scalarText(value);
      return `${name}=${enc(text)}`;
    };
  }

  // query
  return (value) => {
    if (value === undefined || value === null) return undefined;
    if (Array.isArray(value)) {
      const items = value.filter((v) => v !== undefined && v !== null).map(scalarText);
      if (style === 'form' && explode) return items.map((v) => [name, v]);
      const sep = style === 'spaceDelimited' ? ' ' : style === 'pipeDelimited' ? '|' : ',';
      return [[name, items.join(sep)]];
    }
    if (typeof value === 'object') {
      const e = entries(value);
      if (style === 'deepObject') return e.map(([k, v]) => [`${name}[${k}]`, v]);
      if (explode) return e;
      return [[name, e.flat().join(',')]];
    }
    return [[name, scalarText(value)]];
  };
}

/** Appends `name=value` pairs to a query string being built; values are encoded here. */
export function appendQuery(query: string, pairs: Array<[string, string]>, allowReserved = false): string {
  let out = query;
  for (const [k, v] of pairs) {
    const value = allowReserved ? encodeURI(v).replace(/[#&=+]/g, (c) => enc(c)) : enc(v);
    out += `${out ? '&' : '?'}${enc(k)}=${value}`;
  }
  return out;
}
