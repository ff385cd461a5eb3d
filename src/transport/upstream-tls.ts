/**
 * A descriptor's `tls:` (CA, client certificate for mutual TLS, server name)
 * read into what node:tls takes. Read once, when the upstream is built; a
 * missing or unreadable file stops start-up with the descriptor's name.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError } from '../errors.js';

export interface UpstreamTlsFiles {
  ca?: string;
  cert?: string;
  key?: string;
  serverName?: string;
}

export interface UpstreamTlsMaterial {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  servername?: string;
}

export function readUpstreamTls(tls: UpstreamTlsFiles | undefined, dir: string, where: string): UpstreamTlsMaterial | undefined {
  if (!tls) return undefined;
  const problems: string[] = [];
  const read = (key: 'ca' | 'cert' | 'key'): Buffer | undefined => {
    const file = tls[key];
    if (!file) return undefined;
    try {
      return readFileSync(resolve(dir, file));
    } catch (error) {
      problems.push(`${where}: tls.${key}: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
      return undefined;
    }
  };
  const material: UpstreamTlsMaterial = { ca: read('ca'), cert: read('cert'), key: read('key'), servername: tls.serverName };
  if (problems.length > 0) throw new ConfigError('CONFIG_FILE_NOT_FOUND', problems);
  return material;
}
