/**
 * The shape every source kind has: a descriptor goes in; a GraphQL schema, an
 * executor that runs operations against the upstream, and a way to let go of
 * connections come out. compose/ stitches LoadedSources; it never looks
 * inside one.
 */
import type { MergedTypeConfig } from '@graphql-tools/delegate';
import type { Executor } from '@graphql-tools/utils';
import type { GraphQLSchema, SelectionSetNode } from 'graphql';
import type { Logger } from 'pino';
import type { Descriptor } from '../config/descriptor.js';
import type { CanaryBoard } from '../transport/canary.js';

export type Mode = 'production' | 'development';

export interface SourceOptions {
  mode: Mode;
  logger: Logger;
  /**
   * The 32-byte key pagination cursors are sealed with (sources/openapi/cursors.ts),
   * from `security.cursors.secret`; when absent the source makes a random one.
   */
  cursorKey?: Buffer;
  /** The gateway's canaries (transport/canary.ts), where a descriptor with `canary:` registers its own for the admin API. */
  canaries?: CanaryBoard;
}

export interface LoadedSource {
  descriptor: Descriptor;
  /** The subgraph's schema as the subgraph names things (transforms are applied by compose/). */
  schema: GraphQLSchema;
  /**
   * Runs one operation against the upstream. The context is the gateway's
   * GraphQL context; `context.tessera` carries the request scope (deadline,
   * abort signal, client headers).
   */
  executor: Executor;
  /**
   * Merge configuration a source builds itself (keyed by the subgraph's type
   * names), for entities it resolves in its own way; compose/ derives the rest
   * from `descriptor.entities`.
   */
  merge?: Record<string, MergedTypeConfig>;
  /**
   * Serves a signed download link this source handed out (an OpenAPI binary
   * response's `<field>Url`): `token` is the link's value after
   * `<subgraph>.`. Absent when the source hands out no links.
   */
  download?(token: string, request: DownloadRequest): Promise<DownloadResponse>;
  /**
   * Collects upstream response headers for the client's response (an OpenAPI
   * descriptor's `responseHeaders`), in the request scope under
   * RESPONSE_HEADERS_KEY. Absent or false: it never does, and the plugin that
   * copies them is left out of the chain when no source does.
   */
  passesResponseHeaders?: boolean;
  /**
   * A federation subgraph's directives (`kind: federation`), read off its
   * SDL: compose/ composes every federation subgraph's SDL and turns these
   * into entity joins the planner makes through `_entities`.
   */
  federation?: FederationInfo;
  /** Releases pools, channels and timers. */
  close(): Promise<void>;
}

/** What a download link is served from: the client's request headers (for forwarding) and its abort signal. */
export interface DownloadRequest {
  headers: Headers;
  signal: AbortSignal;
}

/** A download's answer: the bytes, or a JSON error body, with its status and headers. */
export interface DownloadResponse {
  status: number;
  headers: Record<string, string>;
  body: Uint8Array | string;
}

export type SourceLoader<D extends Descriptor = Descriptor> = (descriptor: D, options: SourceOptions) => Promise<LoadedSource>;

/**
 * What a federation subgraph's SDL declares, in its own type names. Field
 * sets (@key, @requires, @provides) are parsed as selection sets: a nested
 * key or required field is a field with a selection of its own.
 */
export interface FederationInfo {
  /** The SDL as the subgraph publishes it (what composition reads). */
  sdl: string;
  /** Entities this subgraph resolves through `_entities`: their resolvable @key field sets, in the SDL's order. */
  entities: ReadonlyMap<string, readonly SelectionSetNode[]>;
  /** Every type with a @key, resolvable or not (the types it shares as entities). */
  keyed: ReadonlySet<string>;
  /** "Type.field" → the fields its @requires needs in the representation. */
  requires: ReadonlyMap<string, SelectionSetNode>;
  /** "Type.field" → the fields of its type it also answers (@provides), @external elsewhere in this subgraph. */
  provides: ReadonlyMap<string, SelectionSetNode>;
  /**
   * "Type.field" → the subgraph it takes the field over from (@override(from:)); with a `label`, only for the
   * requests that label is on for (compose/federation.ts labelledOverrides).
   */
  overrides: ReadonlyMap<string, { from: string; label?: string }>;
  /**
   * Object types marked @interfaceObject: in the unified graph, the interface of that name another subgraph
   * defines, and this subgraph's fields are on each of its implementations (compose/federation.ts withInterfaceObjects).
   */
  interfaceObjects: ReadonlySet<string>;
  /**
   * "Type.field": key fields marked @external on a type this Federation 2 subgraph defines (not `extend type`,
   * not `@extends`): it only receives them in representations, and answers them nowhere else (as composition
   * has it: such a field "is not resolvable because marked @external").
   */
  externalKeys: ReadonlySet<string>;
  /** Interfaces with a @key (entity interfaces): in `entities`, resolved by `_entities` as the interface (the subgraph answers the concrete type). */
  entityInterfaces: ReadonlySet<string>;
  /** @tag names → the "Type" and "Type.field" coordinates tagged with them (a channel's `include: [tag:<name>]`). */
  tags: ReadonlyMap<string, ReadonlySet<string>>;
  /** "Type", "Type.field" (an enum's "Type.VALUE") and "Type.field(argument:)" marked @inaccessible: kept for joins, left out of the unified graph. */
  inaccessible: ReadonlySet<string>;
  /**
   * "Type" and "Type.field" → what @authenticated (`[[]]`), @requiresScopes and @policy (its groups, each policy a scope) require, in the
   * terms of a descriptor's `auth:` rule: the caller needs every scope of at least one group.
   */
  auth: ReadonlyMap<string, ReadonlyArray<ReadonlyArray<readonly string[]>>>;
}
