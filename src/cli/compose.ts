/**
 * `tessera compose [--out FILE] [--check]`: writes the unified schema and
 * each channel's as sorted SDL, or with --check exits 3 when the checked-in
 * snapshot differs from what the configuration composes, listing each change.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { diff } from '@graphql-inspector/core';
import { buildSchema, lexicographicSortSchema, printSchema } from 'graphql';
import { fail, print, withGateway, type CliResult } from './command.js';

/**
 * What changed from the checked-in snapshot to the composed schema, one line
 * per change with its criticality (BREAKING, DANGEROUS, NON_BREAKING), as
 * @graphql-inspector/core words it; a missing or unreadable snapshot says so.
 */
async function snapshotChanges(file: string, sdl: string): Promise<string[]> {
  if (!existsSync(file)) return ['no snapshot yet (the file does not exist)'];
  let before;
  try {
    before = buildSchema(readFileSync(file, 'utf8'));
  } catch (error) {
    return [`the snapshot is not a valid schema: ${(error as Error).message.split('\n')[0]}`];
  }
  const changes = await diff(before, buildSchema(sdl));
  // Descriptions and directives only, or formatting: the texts differ although no type or field changed.
  if (changes.length === 0) return ['no type or field changed (formatting or ordering only)'];
  return changes.map((c) => `${c.criticality.level}: ${c.message}`);
}

/** The SDL of a schema as it is checked in: sorted, so a diff shows only real changes. */
export function schemaSnapshot(schema: Parameters<typeof printSchema>[0]): string {
  return `${printSchema(lexicographicSortSchema(schema))}\n`;
}

export async function compose(configFile: string, values: { out?: string; check?: boolean }): Promise<CliResult> {
  return withGateway(configFile, async (gateway) => {
    const base = dirname(resolve(configFile));
    const out = resolve(values.out ?? resolve(base, gateway.config.schema.snapshot));
    const files = new Map<string, string>([[out, schemaSnapshot(gateway.schema)]]);
    for (const { channel, schema } of gateway.channels) {
      if (channel.name === 'default') continue;
      files.set(resolve(dirname(out), `${channel.name}.graphql`), schemaSnapshot(schema));
    }
    if (values.check) {
      const stale = [...files].filter(([file, sdl]) => !existsSync(file) || readFileSync(file, 'utf8') !== sdl);
      if (stale.length > 0) {
        const changes = await Promise.all(stale.map(([file, sdl]) => snapshotChanges(file, sdl)));
        fail(`tessera: the schema snapshot is stale; run \`tessera compose\` and commit:\n${stale.map(([file], i) => `  - ${file}\n${changes[i]!.map((c) => `      ${c}`).join('\n')}`).join('\n')}`);
        return { code: 3 };
      }
      print(`tessera: schema snapshot is up to date (${files.size} file${files.size === 1 ? '' : 's'})`);
      return { code: 0 };
    }
    for (const [file, sdl] of files) {
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, sdl);
      print(`tessera: wrote ${file}`);
    }
    return { code: 0 };
  });
}
