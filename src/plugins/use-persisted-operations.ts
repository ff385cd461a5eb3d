/**
 * Persisted (trusted) operations and automatic persisted queries (APQ), per
 * channel. A client sends an id instead of the document, as
 * `extensions.persistedQuery.sha256Hash` (Apollo) or `documentId` (the
 * GraphQL-over-HTTP proposal); the id is looked up in the channel's manifest
 * (from the client's build), then in the APQ store.
 *
 *   only       any document not in the manifest is refused (400
 *              PERSISTED_QUERY_ONLY), so a client can run nothing its build
 *              did not contain
 *   apq        an unknown id gets PersistedQueryNotFound (HTTP 200, as Apollo
 *              clients expect); the client resends id and document, the
 *              document is checked to hash to the id and kept in the store
 *
 * Runs in onParams, before parsing: an id from the manifest never costs a
 * parse more than once (Yoga caches by document text), and a refused document
 * is never parsed at all. The store is an interface, so the shared Redis store
 * (src/store) can replace the in-memory one for several replicas.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Plugin } from 'graphql-yoga';
import { ConfigError } from '../errors.js';
import { refusal } from './refusal.js';

/** Where APQ documents live: get/set by id. The shared KeyValueStore (src/store) fits it. */
export interface OperationStore {
  get(id: string): Promise<string | undefined> | string | undefined;
  set(id: string, document: string): Promise<void> | void;
}

/** An in-memory store keeping the `maxEntries` most recently used documents. */
export function memoryOperationStore(maxEntries: number): OperationStore {
  const entries = new Map<string, string>();
  return {
    get(id) {
      const document = entries.get(id);
      if (document !== undefined) {
        // Map keeps insertion order: re-inserting makes this the most recent.
        entries.delete(id);
        entries.set(id, document);
      }
      return document;
    },
    set(id, document) {
      entries.delete(id);
      entries.set(id, document);
      if (entries.size > maxEntries) entries.delete(entries.keys().next().value!);
    },
  };
}

/**
 * Reads a manifest: Apollo's persisted-query manifest
 * (`{ format: "apollo-persisted-query-manifest", operations: [{ id, body }] }`)
 * or a plain JSON object of id → document (Relay, GraphQL Code Generator).
 */
export function readManifest(file: string, where: string): Map<string, string> {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'CONFIG_FILE_NOT_FOUND' : 'CONFIG_PARSE_ERROR';
    throw new ConfigError(code, [`${where}: cannot read the manifest ${file}: ${(error as Error).message.split('\n')[0]}`]);
  }
  const manifest = new Map<string, string>();
  const bad = (detail: string) => new ConfigError('CONFIG_INVALID', [`${where}: manifest ${file}: ${detail}`]);
  if (data && typeof data === 'object' && (data as { format?: unknown }).format === 'apollo-persisted-query-manifest') {
    const operations = (data as { operations?: unknown }).operations;
    if (!Array.isArray(operations)) throw bad('expected `operations` to be a list');
    operations.forEach((op: { id?: unknown; body?: unknown }, i) => {
      if (typeof op?.id !== 'string' || typeof op.body !== 'string') throw bad(`operations[${i}] needs a string \`id\` and \`body\``);
      manifest.set(op.id, op.body);
    });
  } else if (data && typeof data === 'object' && !Array.isArray(data)) {
    for (const [id, body] of Object.entries(data)) {
      if (typeof body !== 'string') throw bad(`the value of "${id}" is not a document string`);
      manifest.set(id, body);
    }
  } else {
    throw bad('expected an Apollo persisted-query manifest or an object of id → document');
  }
  return manifest;
}

export interface PersistedOperationsOptions {
  /** id → document. */
  manifest?: ReadonlyMap<string, string>;
  /** Refuse documents that are not in the manifest. */
  only: boolean;
  /** The APQ store; APQ is off without one. */
  apq?: OperationStore;
}

const ID = /^[A-Za-z0-9:_.-]{1,128}$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;

function isPromise<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | undefined)?.then === 'function';
}

interface PersistedQueryExtension {
  version?: unknown;
  sha256Hash?: unknown;
}

export function usePersistedOperations(options: PersistedOperationsOptions): Plugin {
  const { manifest, only, apq } = options;
  if (only && !manifest) throw new TypeError('usePersistedOperations: `only` needs a manifest');
  if (!manifest && !apq) throw new TypeError('usePersistedOperations: give a manifest or an APQ store');

  const notFound = () =>
    refusal('PERSISTED_QUERY_NOT_FOUND', 'PersistedQueryNotFound', { headers: { 'cache-control': 'private, no-cache, must-revalidate' } });
  const onlyPersisted = () => refusal('PERSISTED_QUERY_ONLY', 'This endpoint runs only persisted operations; send the id of an operation from the manifest.');
  const trusted = only ? new Set(manifest!.values()) : undefined;

  return {
    // Also checked at parse time: a path that skips onParams (GraphQL over WebSocket) still runs only trusted documents.
    ...(trusted && {
      onParse({ params }) {
        const text = typeof params.source === 'string' ? params.source : params.source.body;
        if (!trusted.has(text)) throw onlyPersisted();
      },
    }),
    onParams({ params, setParams }) {
      const raw = params as typeof params & { documentId?: unknown };
      const extension = params.extensions?.['persistedQuery'] as PersistedQueryExtension | undefined;
      let id: string | undefined;
      if (typeof raw.documentId === 'string') id = raw.documentId.startsWith('sha256:') ? raw.documentId.slice(7) : raw.documentId;
      else if (extension && typeof extension === 'object') id = typeof extension.sha256Hash === 'string' ? extension.sha256Hash : '';
      if (id === undefined) {
        if (only) throw onlyPersisted();
        return;
      }
      if (!ID.test(id)) throw refusal('BAD_REQUEST', 'The persisted operation id is malformed.');
      const { documentId: _documentId, ...rest } = raw;
      const known = manifest?.get(id);
      if (known !== undefined) {
        // The manifest's text is what runs, whatever document came with the id.
        setParams({ ...rest, query: known });
        return;
      }
      if (typeof params.query === 'string' && params.query.length > 0) {
        if (only) throw onlyPersisted();
        if (!apq) {
          setParams(rest);
          return;
        }
        const hash = createHash('sha256').update(params.query).digest('hex');
        if (!SHA256_HEX.test(id.toLowerCase()) || hash !== id.toLowerCase()) {
          throw refusal('PERSISTED_QUERY_HASH_MISMATCH', 'The document does not match its SHA-256 id.');
        }
        setParams(rest);
        // The response waits for the write, so the client's next request finds the document on any replica.
        // A store that does not take it (after its retries) does not stop the query: the store has counted
        // and logged the dropped write, and the client registers again on PersistedQueryNotFound.
        const stored = apq.set(hash, params.query);
        if (isPromise(stored)) return stored.catch(() => undefined);
        return;
      }
      if (!apq) throw notFound();
      const found = apq.get(id.toLowerCase());
      const use = (document: string | undefined): void => {
        if (document === undefined) throw notFound();
        setParams({ ...rest, query: document });
      };
      // A store that is down reads as a miss; the client then sends the document.
      if (isPromise(found)) return found.catch(() => undefined).then(use);
      use(found);
    },
  };
}
