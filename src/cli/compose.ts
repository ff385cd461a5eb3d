/**
 * `tessera compose [--out FILE] [--check]`: writes the unified schema and
 * each channel's as sorted SDL, or with --check exits 3 when the checked-in
 * snapshot differs from what the configuration composes.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { lexicographicSortSchema, printSchema } from 'graphql';
import { fail, print, withGateway, type CliResult } from './command.js';

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
      const stale = [...files].filter(([file, sdl]) => !existsSync(file) || readFileSync(file, 'utf8') !== sdl).map(([file]) => file);
      if (stale.length > 0) {
        fail(`tessera: the schema snapshot is stale; run \`tessera compose\` and commit:\n${stale.map((f) => `  - ${f}`).join('\n')}`);
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
