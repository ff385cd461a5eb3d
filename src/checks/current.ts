/**
 * What runs: the schemas a deployed version serves, read from wherever that
 * version is kept. `tessera check` compares a candidate with it. Each place
 * is one implementation of `CurrentVersion`: a snapshot folder
 * (snapshot.ts), a running gateway (running-gateway.ts); a registry of
 * published versions is one more.
 */
import type { GraphQLSchema } from 'graphql';
import type { ResolvedChannel } from '../config/channel.js';

/** The schemas of one version, as far as they could be read. */
export interface ServedSchemas {
  /** What was read, for people: "schema/ (snapshot folder)", "http://127.0.0.1:4000 (running gateway)". */
  description: string;
  /** What kind of place, for `--json`: `snapshot`, `gateway` (a registry would add its own). */
  kind: string;
  /** Where, as given: a folder, a URL. */
  location: string;
  /** The unified graph; undefined when the place does not hold it (the reason is in `notes`). */
  unified?: GraphQLSchema;
  /** Each channel's view by channel name; a channel left out is explained in `notes`. */
  channels: Map<string, GraphQLSchema>;
  /** What could not be read and why, one line each ("channel mobile: not served at …"). */
  notes: string[];
}

/** Where the version that runs is read from. */
export interface CurrentVersion {
  /**
   * The schemas that run, for the channels the candidate configures (by
   * name and path). A place that cannot be read at all throws a
   * ConfigError that says what and where, and what to do.
   */
  read(channels: readonly ResolvedChannel[]): Promise<ServedSchemas>;
}
