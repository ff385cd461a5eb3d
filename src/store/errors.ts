/** The one error a store rejects with when it cannot answer, whatever holds the data (Redis, the cluster primary). */

/** A store command that failed or took longer than the store's timeout. */
export class StoreUnavailableError extends Error {
  readonly code = 'STORE_UNAVAILABLE';
  constructor(store: string, cause: unknown) {
    super(`store ${store} did not answer: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'StoreUnavailableError';
  }
}
