/**
 * TLS: of the gateway's own listener (`server.tls`), and to an HTTP
 * upstream (a descriptor's `tls:`).
 */
import { z } from 'zod';
import { duration } from './units.js';

export const listenerTlsSchema = z
  .strictObject({
    /** Certificate chain (PEM), relative to gateway.yaml. */
    cert: z.string().min(1),
    /** Private key (PEM), relative to gateway.yaml. */
    key: z.string().min(1),
    passphrase: z.string().optional(),
    /** CA bundle (PEM) that signs client certificates, for mutual TLS. */
    ca: z.string().min(1).optional(),
    /** none: no client certificate asked; request: asked, verified when sent; require: refused without a valid one. */
    clientCertificates: z.enum(['none', 'request', 'require']).default('none'),
    minVersion: z.enum(['TLSv1.2', 'TLSv1.3']).default('TLSv1.2'),
    /** How often the files are checked for changes (a renewed certificate is used without a restart); 0 turns reloading off. */
    reloadInterval: duration.default(10_000),
  })
  .refine((t) => t.clientCertificates === 'none' || t.ca, { message: '`clientCertificates` needs `ca` (the CA that signs client certificates)', path: ['ca'] });

export type ListenerTlsConfig = z.output<typeof listenerTlsSchema>;

/** TLS to an HTTP upstream (the gRPC descriptor has the same keys). Paths are relative to the descriptor. */
export const upstreamTlsSchema = z
  .strictObject({
    /** CA bundle (PEM) that signs the upstream's certificate; the system roots when omitted. */
    ca: z.string().min(1).optional(),
    /** Client certificate (PEM) for mutual TLS; needs `key` too. */
    cert: z.string().min(1).optional(),
    /** Private key (PEM) of the client certificate. */
    key: z.string().min(1).optional(),
    /** Name checked against the upstream certificate instead of the URL's host. */
    serverName: z.string().min(1).optional(),
  })
  .refine((t) => Boolean(t.cert) === Boolean(t.key), { message: 'a client certificate needs both `cert` and `key`' });
