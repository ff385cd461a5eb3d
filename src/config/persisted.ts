/**
 * `channels.<name>.persistedOperations`: trusted documents (a manifest) and
 * automatic persisted queries for a channel.
 */
import { z } from 'zod';
import { boolean, integer } from './units.js';

export const persistedOperationsSchema = z
  .strictObject({
    /**
     * The operations this channel's clients were built with: an Apollo
     * persisted-query manifest or a JSON object of id → document, relative to
     * gateway.yaml. Clients send `extensions.persistedQuery.sha256Hash` or
     * `documentId` instead of the document.
     */
    manifest: z.string().min(1).optional(),
    /** Refuse every document that is not in the manifest (default: true with a manifest). */
    only: boolean.optional(),
    /** Automatic persisted queries: a client registers a document under its SHA-256 on first use. Not with `only`. */
    apq: boolean.default(false),
    /** Most documents registered through APQ kept in memory (least recently used go first). */
    maxEntries: integer.pipe(z.number().min(1).max(1_000_000)).default(10_000),
  })
  .superRefine((p, ctx) => {
    if (!p.manifest && !p.apq) ctx.addIssue({ code: 'custom', message: 'give a `manifest`, or turn `apq` on' });
    if (p.only && !p.manifest) ctx.addIssue({ code: 'custom', path: ['only'], message: '`only` needs a `manifest`' });
    if (p.apq && p.manifest && p.only !== false) {
      ctx.addIssue({ code: 'custom', path: ['apq'], message: 'APQ lets clients register any document, which `only` forbids; set `only: false` to allow both' });
    }
  });

export type PersistedOperationsConfig = z.output<typeof persistedOperationsSchema>;
