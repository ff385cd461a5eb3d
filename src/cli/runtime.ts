/**
 * The V8 setting `tessera serve` runs with: how far the old generation may
 * grow between full collections.
 *
 * V8 sizes that room from the live data after each full collection, by a
 * factor of up to 4 on a machine with a large heap limit. A gateway under
 * load keeps each in-flight request's upstream answers alive across a few
 * scavenges, so they are promoted and die in the old generation: with about
 * 45 MB of live data the heap swelled to 170 MB before each full collection
 * (bench/ shop scenario, 50 connections), nearly all of it garbage.
 * A growth of 150% (a factor of 2.5) holds that peak lower for a small
 * amount of extra collection work; README's Performance section has the
 * measured figures. An operator who sets the flag (NODE_OPTIONS or node's
 * own arguments) keeps their value; `--heap-growing-percent=0` restores
 * V8's own sizing.
 */
import { setFlagsFromString } from 'node:v8';

export const HEAP_GROWING_PERCENT = 150;

const OPERATOR_SET = /--heap[-_]growing[-_]percent\b/;

/** Applies the gateway's heap growth unless the process was started with its own; returns the flag applied. */
export function tuneHeap(execArgv: readonly string[] = process.execArgv, nodeOptions: string = process.env.NODE_OPTIONS ?? ''): string | undefined {
  if (execArgv.some((arg) => OPERATOR_SET.test(arg)) || OPERATOR_SET.test(nodeOptions)) return undefined;
  const flag = `--heap-growing-percent=${HEAP_GROWING_PERCENT}`;
  setFlagsFromString(flag);
  return flag;
}
