/**
 * The version that runs, as its schema snapshots: the folder `tessera
 * compose` writes (the unified graph, by default unified.graphql, and one
 * `<channel>.graphql` per channel other than `default`), as checked in with
 * the revision that is deployed.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { buildSchema, type GraphQLError, type GraphQLSchema } from 'graphql';
import { channelView } from '../compose/channels.js';
import { channelFields } from '../compose/channel-fields.js';
import { displayPath, excerpt } from '../config/load.js';
import { ConfigError } from '../errors.js';
import type { CurrentVersion, ServedSchemas } from './current.js';

function readSnapshot(file: string): GraphQLSchema {
  const sdl = readFileSync(file, 'utf8');
  try {
    return buildSchema(sdl);
  } catch (error) {
    const at = (error as GraphQLError).locations?.[0];
    const where = at ? `${displayPath(file)}:${at.line}:${at.column}` : displayPath(file);
    throw new ConfigError('CHECK_AGAINST_UNAVAILABLE', [
      `${where}: not a valid schema snapshot: ${(error as Error).message}${at ? excerpt(sdl, at.line, at.column) : ''}; regenerate it with \`tessera compose\` at the revision that runs`,
    ]);
  }
}

/**
 * A snapshot folder; `unifiedFile` is the unified graph's file name in it
 * (the file name of `schema.snapshot` in gateway.yaml).
 */
export function snapshotVersion(folder: string, unifiedFile: string): CurrentVersion {
  return {
    async read(channels) {
      const unifiedPath = join(folder, basename(unifiedFile));
      if (!existsSync(unifiedPath)) {
        throw new ConfigError('CHECK_AGAINST_UNAVAILABLE', [
          `${displayPath(folder)}: no ${basename(unifiedFile)} in this folder, so it is not a schema snapshot folder; give --against the folder \`tessera compose\` writes (schema.snapshot in gateway.yaml), or a running gateway's URL`,
        ]);
      }
      const unified = readSnapshot(unifiedPath);
      const served: ServedSchemas = {
        description: `${displayPath(folder)}/ (snapshot folder)`,
        kind: 'snapshot',
        location: folder,
        unified,
        channels: new Map(),
        notes: [],
      };
      for (const channel of channels) {
        if (channel.name === 'default') {
          // tessera compose writes no file for the default channel: its view is the unified graph less what it hides.
          const view = channelView(unified, channel);
          served.channels.set(channel.name, channelFields(view, channel)?.schema ?? view);
          continue;
        }
        const file = join(folder, `${channel.name}.graphql`);
        if (existsSync(file)) served.channels.set(channel.name, readSnapshot(file));
        else served.notes.push(`channel ${channel.name}: no snapshot ${displayPath(file)} (a new channel?), so it is not compared`);
      }
      return served;
    },
  };
}
