/**
 * `tessera check`'s findings for a candidate: for the unified graph and each
 * channel, the changes from what runs, classified; the client operations the
 * candidate would break. This object is what `--json` prints (its shape is
 * documented in the README, "tessera check", and versioned by `version`).
 */
import type { GraphQLSchema } from 'graphql';
import { operationErrors, schemaChanges, type ChangeLevel, type SchemaChange } from '../compose/schema-diff.js';
import type { ServedSchemas } from './current.js';
import type { CheckedOperation } from './operations.js';

export interface SchemaReport {
  /** `unified` for the unified graph, else the channel's name. */
  name: string;
  /** The channel's GraphQL path; absent for the unified graph. */
  path?: string;
  /** False when what runs has no such schema to compare with (see `notes`); `changes` is then empty. */
  compared: boolean;
  /** Breaking first. */
  changes: SchemaChange[];
}

export interface OperationReport {
  file: string;
  /** The channel whose candidate schema it was validated against; absent: the unified graph. */
  channel?: string;
  name: string;
  /** Its id, for an operation from a persisted-operation manifest. */
  id?: string;
  /** graphql-js's validation errors against the candidate. */
  errors: string[];
  /** Also invalid against what runs: not broken by this change (it does not fail the check). */
  alreadyBroken: boolean;
}

export interface CheckReport {
  version: 1;
  /** Nothing breaking and no operation broken by the candidate: exit 0. */
  ok: boolean;
  /** What the candidate was compared with; absent when nothing was (no snapshot, no --against). */
  against?: { kind: string; location: string };
  /** The descriptor files given on the command line and what each did to the configured set. */
  subgraphs: Array<{ name: string; file: string; change: 'replaced' | 'added' }>;
  schemas: SchemaReport[];
  operations: { checked: number; broken: OperationReport[] };
  /** What could not be compared, and why. */
  notes: string[];
  /** Distinct changes over every schema (a change seen in several channels counts once), and operations broken. */
  summary: Record<ChangeLevel, number> & { brokenOperations: number };
}

export interface Candidate {
  unified: GraphQLSchema;
  channels: ReadonlyArray<{ name: string; path: string; schema: GraphQLSchema }>;
}

export async function buildReport(options: {
  candidate: Candidate;
  served?: ServedSchemas;
  operations: readonly CheckedOperation[];
  subgraphs: CheckReport['subgraphs'];
  notes?: readonly string[];
}): Promise<CheckReport> {
  const { candidate, served, operations, subgraphs } = options;
  const schemas: SchemaReport[] = [];
  const compare = async (name: string, path: string | undefined, after: GraphQLSchema, before: GraphQLSchema | undefined): Promise<void> => {
    schemas.push({ name, ...(path && { path }), compared: before !== undefined, changes: before ? await schemaChanges(before, after) : [] });
  };
  if (served) {
    await compare('unified', undefined, candidate.unified, served.unified);
    for (const channel of candidate.channels) await compare(channel.name, channel.path, channel.schema, served.channels.get(channel.name));
  }
  const schemaOf = (channel: string | undefined, side: 'candidate' | 'served'): GraphQLSchema | undefined => {
    if (side === 'candidate') return channel === undefined ? candidate.unified : candidate.channels.find((c) => c.name === channel)?.schema;
    return channel === undefined ? served?.unified : served?.channels.get(channel);
  };
  const broken: OperationReport[] = [];
  for (const operation of operations) {
    const errors = operationErrors(schemaOf(operation.channel, 'candidate')!, operation);
    if (errors.length === 0) continue;
    const before = schemaOf(operation.channel, 'served');
    broken.push({
      file: operation.file,
      ...(operation.channel && { channel: operation.channel }),
      name: operation.name,
      ...(operation.id && { id: operation.id }),
      errors,
      alreadyBroken: before !== undefined && operationErrors(before, operation).length > 0,
    });
  }
  const distinct = (level: ChangeLevel): number =>
    new Set(schemas.flatMap((s) => s.changes.filter((c) => c.level === level).map((c) => `${c.type} ${c.path ?? ''} ${c.message}`))).size;
  const summary = { breaking: distinct('breaking'), dangerous: distinct('dangerous'), safe: distinct('safe'), brokenOperations: broken.filter((o) => !o.alreadyBroken).length };
  return {
    version: 1,
    ok: summary.breaking === 0 && summary.brokenOperations === 0,
    ...(served && { against: { kind: served.kind, location: served.location } }),
    subgraphs,
    schemas,
    operations: { checked: operations.length, broken },
    notes: [...(options.notes ?? []), ...(served?.notes ?? [])],
    summary,
  };
}
