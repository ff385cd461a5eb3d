/**
 * The mismatch log of shadow traffic: one warn line for each mismatch the
 * shadow stage sampled (`shadow.logPerMinute` per subgraph, the rest only
 * counted in tessera_shadow_calls_total), saying which subgraph, version and
 * operation, the first path that differs and a short excerpt of each side
 * (at most 200 characters, secret fields redacted by the stage). Observes
 * `tessera:shadow` by name, like the metrics.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { EVENTS, type ShadowEvent } from '../events.js';
import type { Logger } from '../logger.js';

/** Starts logging the sampled mismatches of `subgraphs` (the gateway's own; others in the process are ignored); returns the stop. */
export function logShadowMismatches(logger: Logger, subgraphs: () => readonly string[]): () => void {
  const onShadow = (message: unknown): void => {
    const event = message as ShadowEvent;
    if (event.outcome !== 'mismatch' || !event.diff || !subgraphs().includes(event.subgraph)) return;
    const { path, primary, shadow, suppressed } = event.diff;
    logger.warn(
      { subgraph: event.subgraph, version: event.version, primaryVersion: event.primaryVersion ?? null, operation: event.operation, path, primary, shadow, suppressed },
      `shadow answer differs from the primary's at ${path} (shadow: in the descriptor; counted in tessera_shadow_calls_total)`,
    );
  };
  subscribe(EVENTS.shadow, onShadow);
  return () => unsubscribe(EVENTS.shadow, onShadow);
}
