/**
 * What runs, as the Redis registry's current set: a gateway built (not
 * listening) from the current version of every published subgraph gives
 * the unified graph and each channel's view. `tessera publish` compares its
 * candidate with it.
 */
import type { GraphQLSchema } from 'graphql';
import type { CurrentVersion, ServedSchemas } from './current.js';

/** The schemas of a built gateway, as `CurrentVersion` (the caller builds it and closes it). */
export interface BuiltSchemas {
  schema: GraphQLSchema;
  channels: ReadonlyArray<{ channel: { name: string }; schema: GraphQLSchema }>;
}

export function registryVersion(built: BuiltSchemas, location: string, revision: number): CurrentVersion {
  return {
    async read(channels) {
      const served: ServedSchemas = {
        description: `${location} revision ${revision} (registry)`,
        kind: 'registry',
        location,
        unified: built.schema,
        channels: new Map(),
        notes: [],
      };
      for (const channel of channels) {
        const view = built.channels.find((c) => c.channel.name === channel.name);
        if (view) served.channels.set(channel.name, view.schema);
        else served.notes.push(`channel ${channel.name}: not served by the registry's current set (a new channel?), so it is not compared`);
      }
      return served;
    },
  };
}
