/**
 * `security.cursors`: how the pagination cursors handed to clients are
 * sealed (docs/security.md, "REST cursors, next-page URLs and path values").
 */
import { z } from 'zod';

export const cursorsSchema = z
  .strictObject({
    /**
     * The secret a REST connection's cursors are sealed with (AES-256-GCM, key
     * derived with HKDF-SHA256; use ${ENV}). Replicas behind one load balancer
     * must share it: a cursor sealed by one is refused by another with
     * BAD_REQUEST. Without it each `tessera serve` generates one at start (its
     * workers share it), so cursors stop working across a restart.
     */
    secret: z.string().min(32, 'use at least 32 characters (e.g. `openssl rand -base64 32`)').optional(),
  })
  .prefault({});

export type CursorsConfig = z.output<typeof cursorsSchema>;
