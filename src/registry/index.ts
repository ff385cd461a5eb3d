/**
 * Where descriptors live (the registry) and what a schema load tells the rest
 * of the process. One implementation today, the descriptors folder that
 * gateway.yaml names (folder.ts); a second one (e.g. Redis, shared by every
 * replica) implements the same `Registry`: the gateway only asks it for the
 * current descriptor set and to be told when that set may have changed.
 *
 * Every schema load attempt (start-up and each reload) is published on the
 * `tessera:schema` diagnostics channel as a `SchemaEvent`, so metrics and the
 * status page hear it without importing the gateway.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { lexicographicSortSchema, printSchema, type GraphQLSchema } from 'graphql';
import type { Descriptor } from '../config/descriptor.js';
import { EVENTS, type ReloadTrigger, type SchemaEvent } from '../events.js';

export interface Registry {
  /** Where the descriptors are read from, for log lines: `folder subgraphs`. */
  readonly description: string;
  /** The current descriptor set; a ConfigError lists every problem at once, each with its file and path. */
  load(): Promise<Descriptor[]>;
  /**
   * Starts calling `onChange` when the set may have changed (debounced: once
   * after a burst of changes), with what changed for the log line. Returns
   * the function that stops it.
   */
  watch(onChange: (reason: string) => void): () => void;
  /** Called after each reload attempt: the registry may report what now serves (the Redis registry's heartbeat). */
  reloaded?(): void;
  /** Lets go of what the registry holds open (the Redis registry's connections); the gateway's close() calls it. */
  close?(): Promise<void>;
}

/** The diagnostics channel every schema load attempt is published on (events.ts). */
export const SCHEMA_CHANNEL = EVENTS.schema;
export type { ReloadTrigger, SchemaEvent };

/** Files a descriptor reads besides itself (its schema `source` and gRPC `protos`), when local. */
function referencedFiles(descriptor: Descriptor): string[] {
  const named = [descriptor.source, ...(descriptor.kind === 'grpc' ? descriptor.protos : [])];
  return named.filter((p): p is string => typeof p === 'string' && !/^https?:\/\//i.test(p)).map((p) => resolve(descriptor.dir, p));
}

/**
 * What a descriptor loads: its content and the text of the local files it
 * names (schema source, protos). Equal fingerprints: the loaded source can be
 * kept across a reload. A schema fetched from a URL or read by introspection
 * is not part of it (a reload does not fetch it again).
 */
export function descriptorFingerprint(descriptor: Descriptor): string {
  const hash = createHash('sha256').update(JSON.stringify(descriptor));
  for (const file of referencedFiles(descriptor)) {
    hash.update(`\0${file}\0`);
    hash.update(existsSync(file) ? readFileSync(file) : 'missing');
  }
  return hash.digest('hex');
}

/** A registry whose set is given in code (createGateway's `descriptors`): read again on each reload, never watched. */
export function fixedRegistry(description: string, read: () => Descriptor[]): Registry {
  return { description, load: async () => read(), watch: () => () => undefined };
}

/**
 * A schema version's name: the first 12 hex digits of the SHA-256 of the
 * SDL `tessera compose` writes (sorted, newline-terminated), so
 * `sha256sum schema/unified.graphql` shows the same prefix.
 */
export function schemaVersion(schema: GraphQLSchema): string {
  return createHash('sha256').update(`${printSchema(lexicographicSortSchema(schema))}\n`).digest('hex').slice(0, 12);
}
