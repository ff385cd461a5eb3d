/**
 * The gateway's log level raised for a bounded time (admin API,
 * `POST /admin/log-level`), then set back to the configured level by itself.
 * A second raise replaces the first (its level and its end). pino's child
 * loggers follow their parent's level, so every line the gateway writes
 * follows it.
 */
import type { Logger } from '../logger.js';

/** Levels from the most verbose; a raise must be more verbose than the configured level. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface LogLevelState {
  level: string;
  configured: string;
  /** ISO time the level goes back to `configured`; absent when it is the configured one. */
  revertsAt?: string;
  /** Id of the admin request that raised it. */
  raisedBy?: string;
}

export class LogLevelControl {
  private readonly configured: string;
  private raised: { timer: NodeJS.Timeout; revertsAt: string; raisedBy: string } | undefined;

  constructor(private readonly logger: Logger) {
    this.configured = logger.level;
  }

  /** True when `level` writes more than the configured level (only such a change is a raise). */
  isRaise(level: LogLevel): boolean {
    const configured = LOG_LEVELS.indexOf(this.configured as LogLevel);
    // A configured `silent` is below every level.
    return configured === -1 || LOG_LEVELS.indexOf(level) < configured;
  }

  get configuredLevel(): string {
    return this.configured;
  }

  raise(level: LogLevel, durationMs: number, requestId: string): LogLevelState {
    const from = this.logger.level;
    if (this.raised) clearTimeout(this.raised.timer);
    const revertsAt = new Date(Date.now() + durationMs).toISOString();
    this.raised = { timer: setTimeout(() => this.revert(), durationMs).unref(), revertsAt, raisedBy: requestId };
    this.logger.level = level;
    this.logger.info({ requestId, from, to: level, until: revertsAt }, `log level raised from ${from} to ${level} until ${revertsAt}`);
    return this.state();
  }

  state(): LogLevelState {
    return { level: this.logger.level, configured: this.configured, ...(this.raised && { revertsAt: this.raised.revertsAt, raisedBy: this.raised.raisedBy }) };
  }

  /** Sets the configured level back now (also on gateway.close()). */
  revert(): void {
    if (!this.raised) return;
    const { raisedBy } = this.raised;
    clearTimeout(this.raised.timer);
    this.raised = undefined;
    const from = this.logger.level;
    // Written before the change, while the raised (more verbose) level still lets an info line through.
    this.logger.info({ raisedBy, from, to: this.configured }, `log level back from ${from} to ${this.configured}`);
    this.logger.level = this.configured;
  }
}
