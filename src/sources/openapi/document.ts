/**
 * Reading an OpenAPI document: a file or a URL, YAML or JSON, OpenAPI 3.0,
 * 3.1 or Swagger 2.0. External `$ref`s are bundled in by
 * @apidevtools/swagger-parser (only from the document's own folder or
 * origin: a spec must not make the gateway fetch arbitrary URLs at start-up);
 * Swagger 2.0 is upgraded to OpenAPI 3 by @scalar/openapi-upgrader. Internal
 * `$ref`s are left in place and followed by `resolveRef`, so recursive
 * schemas stay finite and keep their component names.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import SwaggerParser from '@apidevtools/swagger-parser';
import { upgrade } from '@scalar/openapi-upgrader';
import { parse as parseYaml } from 'yaml';
import { fetchText } from '../fetch-text.js';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** An OpenAPI 3 document with its internal `$ref`s unresolved. */
export interface OpenapiDocument {
  /** The document (`openapi: 3.x`, after upgrading Swagger 2.0). */
  root: JsonObject;
  /** The version as written: "2.0", "3.0.3", "3.1.0"... */
  version: string;
  /** Where it was read from, for messages. */
  location: string;
}

export class DocumentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DocumentError';
  }
}

const isUrl = (s: string): boolean => /^https?:\/\//i.test(s);

function parseText(text: string, where: string): JsonObject {
  let data: unknown;
  try {
    data = /^\s*[{[]/.test(text) ? JSON.parse(text) : parseYaml(text, { maxAliasCount: 10_000 });
  } catch (error) {
    throw new DocumentError(`${where} is neither valid JSON nor YAML: ${(error as Error).message.split('\n')[0]}`);
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new DocumentError(`${where} does not contain an OpenAPI document (expected an object at the top level)`);
  }
  return data as JsonObject;
}

/** True when some `$ref` points outside the document (another file or URL). */
function hasExternalRefs(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const node = stack.pop();
    if (node === null || typeof node !== 'object') continue;
    if (Array.isArray(node)) {
      for (const item of node) stack.push(item);
      continue;
    }
    for (const [key, child] of Object.entries(node)) {
      if (key === '$ref' && typeof child === 'string' && !child.startsWith('#')) return true;
      if (typeof child === 'object') stack.push(child);
    }
  }
  return false;
}

export interface ReadOptions {
  /** Folder relative paths are resolved against. */
  baseDir: string;
  timeoutMs: number;
  maxBytes: number;
}

/** Reads, bundles and upgrades a document; every failure is a DocumentError saying where and why. */
export async function readOpenapiDocument(source: string, options: ReadOptions): Promise<OpenapiDocument> {
  const location = isUrl(source) ? source : resolve(options.baseDir, source);
  let text: string;
  try {
    text = isUrl(location)
      ? await fetchText(location, { timeoutMs: options.timeoutMs, maxBytes: options.maxBytes })
      : await readFile(location, 'utf8');
  } catch (error) {
    const code = (error as { code?: string }).code;
    throw new DocumentError(code === 'ENOENT' ? `${location}: file not found` : `cannot read ${location}: ${(error as Error).message}`);
  }
  return normalizeDocument(parseText(text, location), location, options);
}

/** Bundles external refs and upgrades Swagger 2.0; `location` is the file path or URL relative refs are resolved against. */
export async function normalizeDocument(root: JsonObject, location: string, options: Pick<ReadOptions, 'timeoutMs' | 'maxBytes'>): Promise<OpenapiDocument> {
  const swagger = typeof root.swagger === 'string' || typeof root.swagger === 'number' ? String(root.swagger) : undefined;
  const openapi = typeof root.openapi === 'string' || typeof root.openapi === 'number' ? String(root.openapi) : undefined;
  const version = swagger ?? openapi;
  if (!version) throw new DocumentError(`${location}: no "openapi" or "swagger" version field; is this an OpenAPI document?`);
  if (swagger !== undefined && !swagger.startsWith('2')) throw new DocumentError(`${location}: swagger ${swagger} is not supported (expected 2.0)`);
  if (openapi !== undefined && !/^3\.[01]/.test(openapi)) throw new DocumentError(`${location}: openapi ${openapi} is not supported (expected 3.0 or 3.1)`);
  if (typeof root.paths !== 'object' || root.paths === null) {
    if (!root.webhooks) throw new DocumentError(`${location}: the document has no "paths"`);
    root.paths = {};
  }

  if (hasExternalRefs(root)) root = await bundle(root, location, options);
  if (swagger !== undefined) {
    try {
      root = upgrade(root as never, '3.0') as unknown as JsonObject;
    } catch (error) {
      throw new DocumentError(`${location}: cannot convert Swagger 2.0 to OpenAPI 3: ${(error as Error).message}`);
    }
  }
  return { root, version, location };
}

async function bundle(root: JsonObject, location: string, options: Pick<ReadOptions, 'timeoutMs' | 'maxBytes'>): Promise<JsonObject> {
  const base = isUrl(location) ? new URL(location) : pathToFileURL(location);
  const folder = isUrl(location) ? undefined : dirname(location);
  // swagger-parser checks version strings strictly ("3.0" is refused); it is only used to bundle here.
  const copy = { ...root, ...(root.swagger ? { swagger: '2.0' } : { openapi: String(root.openapi).startsWith('3.1') ? '3.1.0' : '3.0.3' }) };
  try {
    const bundled = await SwaggerParser.bundle(location, copy as never, {
      resolve: {
        file: isUrl(location)
          ? false
          : {
              // Only files under the document's folder: a spec should not read /etc/passwd.
              canRead: (file: { url: string }) => {
                const path = file.url.startsWith('file:') ? new URL(file.url).pathname : file.url;
                return resolve(path).startsWith(folder!);
              },
            },
        http: isUrl(location)
          ? {
              canRead: (file: { url: string }) => /^https?:/i.test(file.url) && new URL(file.url).origin === base.origin,
              read: (file: { url: string }) => fetchText(file.url, { timeoutMs: options.timeoutMs, maxBytes: options.maxBytes }),
            }
          : false,
      },
    } as never);
    const out = bundled as unknown as JsonObject;
    if (root.swagger) out.swagger = root.swagger;
    else out.openapi = root.openapi!;
    return out;
  } catch (error) {
    throw new DocumentError(`${location}: cannot resolve an external $ref: ${(error as Error).message.split('\n')[0]}`);
  }
}

/**
 * A reader for one local JSON pointer (`#/components/schemas/Pet`), parsed
 * once: resolvers that read the same pointer on every response build it at
 * load time. A ref that is not local reads nothing.
 */
export function pointerReader(ref: string): (root: unknown) => Json | undefined {
  if (!ref.startsWith('#')) return () => undefined;
  let pointer: string;
  try {
    pointer = decodeURIComponent(ref.slice(1));
  } catch (error) {
    // Malformed percent-encoding fails where the pointer is read, as it always has.
    return () => {
      throw error;
    };
  }
  if (pointer === '' || pointer === '/') return (root) => root as Json;
  const parts = pointer
    .slice(1)
    .split('/')
    .map((raw) => raw.replace(/~1/g, '/').replace(/~0/g, '~'));
  return (root) => {
    let node = root as Json | undefined;
    for (const part of parts) {
      if (node === null || typeof node !== 'object') return undefined;
      node = Array.isArray(node) ? node[Number(part)] : Object.hasOwn(node, part) ? node[part] : undefined;
    }
    return node;
  };
}

/** The value a local `$ref` (`#/components/schemas/Pet`) points at, or undefined. */
export function resolvePointer(root: JsonObject, ref: string): Json | undefined {
  return pointerReader(ref)(root);
}
