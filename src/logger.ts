/** The gateway's logger: JSON lines (pino) on stdout; one per process. */
import { pino, type Logger } from 'pino';

export function createLogger(level: string): Logger {
  return pino({ level, base: { service: 'tessera' }, timestamp: pino.stdTimeFunctions.isoTime });
}

export type { Logger };
