/**
 * HTTPS for the gateway's listener (`server.tls`): certificate and key from
 * files, reloaded when they change (a renewed certificate is served without a
 * restart; connections already open keep the one they started with), and
 * optional client certificates (mutual TLS).
 *
 * Files are polled (fs.watchFile) rather than watched: a Kubernetes secret or
 * a certbot renewal replaces the file (or a symlink to it), which an inode
 * watch misses. A half-written pair (new certificate, old key) fails to load
 * and is retried at the next change; the previous pair stays in use.
 */
import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import { resolve } from 'node:path';
import type { SecureContextOptions, TlsOptions } from 'node:tls';
import { createSecureContext } from 'node:tls';
import type { Logger } from 'pino';
import type { ListenerTlsConfig } from '../config/tls.js';
import { ConfigError } from '../errors.js';

export interface ListenerTls {
  /** Options for https.createServer. */
  options: TlsOptions;
  /** Starts reloading into `server` when the files change; returns the function that stops it. */
  watch(server: { setSecureContext(options: SecureContextOptions): void }, logger: Logger): () => void;
}

export function listenerTls(config: ListenerTlsConfig, baseDir: string): ListenerTls {
  const files = {
    cert: resolve(baseDir, config.cert),
    key: resolve(baseDir, config.key),
    ...(config.ca && { ca: resolve(baseDir, config.ca) }),
  };
  const read = (): SecureContextOptions => {
    const material: SecureContextOptions = {
      cert: readFileSync(files.cert),
      key: readFileSync(files.key),
      passphrase: config.passphrase,
      minVersion: config.minVersion,
    };
    if (files.ca) material.ca = readFileSync(files.ca);
    // Throws on a key that does not match the certificate, before the server ever uses it.
    createSecureContext(material);
    return material;
  };
  let initial: SecureContextOptions;
  try {
    initial = read();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'CONFIG_FILE_NOT_FOUND' : 'CONFIG_INVALID';
    throw new ConfigError(code, [`gateway.yaml: server.tls: ${(error as Error).message}`]);
  }
  return {
    options: {
      ...initial,
      requestCert: config.clientCertificates !== 'none',
      rejectUnauthorized: config.clientCertificates === 'require',
    },
    watch(server, logger) {
      if (config.reloadInterval <= 0) return () => undefined;
      const watched = Object.values(files);
      const reload = (): void => {
        try {
          server.setSecureContext(read());
          logger.info({ cert: files.cert }, 'TLS certificate reloaded');
        } catch (error) {
          logger.warn({ err: error, cert: files.cert }, 'TLS files changed but cannot be loaded; still serving the previous certificate');
        }
      };
      for (const file of watched) watchFile(file, { interval: config.reloadInterval, persistent: false }, (now, before) => {
        if (now.mtimeMs !== before.mtimeMs || now.size !== before.size || now.ino !== before.ino) reload();
      });
      return () => {
        for (const file of watched) unwatchFile(file);
      };
    },
  };
}
