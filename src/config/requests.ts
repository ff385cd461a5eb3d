/**
 * `security.requests`: how a request must look before any GraphQL work
 * (CSRF headers, batching).
 */
import { z } from 'zod';
import { boolean, headerName, integer } from './units.js';

export const csrfSchema = z.strictObject({
  /**
   * Also refuse GET requests that carry none of `headers` (403). POST bodies
   * must be application/json whatever this says, so a browser always sends a
   * CORS preflight for them. Turn this on for browser channels whose callers
   * carry ambient credentials (cookies).
   */
  requireHeader: boolean.default(false),
  headers: z.array(headerName).min(1).default(['x-tessera-csrf', 'apollo-require-preflight', 'x-apollo-operation-name', 'graphql-preflight']),
});

export const requestsSchema = z
  .strictObject({
    /** Operations in one batched (array) POST; 0 turns batching off. More gets 413. */
    batching: integer.pipe(z.number().min(0).max(100)).default(0),
    csrf: csrfSchema.prefault({}),
  })
  .prefault({});
