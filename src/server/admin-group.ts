/**
 * The admin endpoints of `tessera serve --workers N` answer for the whole
 * process group, whichever worker's socket a request lands on (node:cluster
 * shares the admin port between the workers as it does the main one). The
 * worker that receives the request asks every worker, itself included,
 * through the cluster primary (store/cluster-group.ts), and merges:
 *
 * - the status page's JSON: every worker's rings and breakers
 *   (`status.part`, merged by StatusBoard.snapshot);
 * - GET /admin/status, /admin/log-level, /admin/sample: every worker's
 *   breakers, log level and sampling windows (`admin.state`);
 * - POST /admin/log-level and /admin/sample: applied by every worker to
 *   itself (`admin.raise-log-level`, `admin.open-sampling`).
 *
 * A worker that does not answer within WORKER_TIMEOUT_MS is left out and its
 * pid listed in `missing`. When the primary itself does not answer, the
 * receiving worker answers for itself alone (and applies a change to itself
 * alone), says so in `groupError`, and logs it.
 *
 * Outside `tessera serve --workers N` (one process, the programmatic API)
 * there is no group: every endpoint answers for this process, as before.
 */
import type { Logger } from '../logger.js';
import { processGroup, type GroupAnswers, type ProcessGroup } from '../store/index.js';
import type { LogLevel, LogLevelControl, LogLevelState } from '../telemetry/log-level.js';
import type { BodySampler, SamplingWindow } from '../telemetry/sampling.js';
import type { BreakerState, StatusBoard, StatusPart, StatusSnapshot } from '../telemetry/status.js';

/** One worker's admin state: its breakers' last states (`"<subgraph> <instance url>"` → state), log level and sampling windows. */
export interface WorkerAdminState {
  breakers: Record<string, BreakerState>;
  logLevel: LogLevelState;
  sampling: SamplingWindow[];
  /** This worker's last reload attempt (GET /admin/status `reload`). */
  reload: Record<string, unknown>;
}

/** The questions a worker answers for the group's admin endpoints. */
export type AdminGroupOps = {
  'status.part': { args: [now: number]; value: StatusPart };
  'admin.state': { args: []; value: WorkerAdminState };
  'admin.raise-log-level': { args: [level: LogLevel, durationMs: number, requestId: string]; value: LogLevelState };
  'admin.open-sampling': { args: [subgraph: string, durationMs: number, maxBodies: number, requestId: string]; value: SamplingWindow };
  'admin.start-reload': { args: [requestId: string]; value: { started: boolean } };
  'admin.canary': { args: []; value: { canaries: Array<Record<string, unknown>>; shared: Record<string, unknown> | null } };
  'admin.canary-restore': { args: [subgraph: string, version: string, by: string]; value: { restored: boolean } };
};

/** What the group's answer adds to an admin answer: the receiving worker's pid, every worker's own answer, and who did not answer. */
export interface GroupView<T> {
  pid: number;
  workers: Array<{ pid: number } & T>;
  /** Pids of the workers that did not answer within the primary's wait. */
  missing: number[];
  /** Set when the cluster primary did not answer: this answer (and a change) is this worker's alone. */
  groupError?: string;
}

export interface AdminGroup {
  /** The status page's JSON for the whole group. */
  statusSnapshot(): Promise<StatusSnapshot>;
  /**
   * `op` answered by every worker, this one's answer as `own`; without the
   * primary, `local()` alone (a change applied here only).
   */
  ask<O extends Exclude<keyof AdminGroupOps, 'status.part'>>(op: O, args: AdminGroupOps[O]['args'], local: () => AdminGroupOps[O]['value']): Promise<{ own: AdminGroupOps[O]['value'] } & GroupView<AdminGroupOps[O]['value']>>;
  close(): void;
}

export interface AdminGroupOptions {
  logger: Logger;
  logLevel: LogLevelControl;
  sampler: BodySampler;
  /** The status board, when the status page is on. */
  board?: StatusBoard;
  /** The last state of each breaker change this worker saw, `"<subgraph> <instance url>"` → state. */
  breakers(): Record<string, BreakerState>;
  /** Starts a reload of this worker's descriptors (its outcome is logged and kept for GET /admin/status). */
  reload(): Promise<unknown>;
  /** This worker's last reload attempt. */
  reloadState(): Record<string, unknown>;
  /** This worker's canaries (descriptors with `canary:`): their state, and a guarded version's restore. */
  canaries?: AdminCanaries;
}

/** The canaries as the admin API sees them (transport/canary.ts CanaryBoard). */
export interface AdminCanaries {
  states(): Array<Record<string, unknown>>;
  /** How the guard's decisions are shared between processes (poll and key lifetime), or null: not shared. */
  sharing(): Record<string, unknown> | null;
  /** True when the version was guarded (now restored); false when it was not. */
  restore(subgraph: string, version: string, by: string): boolean;
}

/** What this worker answers when the group asks it. */
export function workerAdminState(options: AdminGroupOptions): WorkerAdminState {
  return { breakers: options.breakers(), logLevel: options.logLevel.state(), sampling: options.sampler.current(), reload: options.reloadState() };
}

/**
 * The admin group of a worker forked by `tessera serve`: it answers the
 * group's questions from now until close(), and asks them. Undefined in
 * every other process.
 */
export function adminGroup(options: AdminGroupOptions): AdminGroup | undefined {
  const { logger, logLevel, sampler, board } = options;
  const group: ProcessGroup<AdminGroupOps> | undefined = processGroup<AdminGroupOps>({
    'status.part': (now) => {
      if (!board) throw new Error('the status page is off (telemetry.status.enabled)');
      return board.part(now);
    },
    'admin.state': () => workerAdminState(options),
    'admin.raise-log-level': (level, durationMs, requestId) => logLevel.raise(level, durationMs, requestId),
    'admin.open-sampling': (subgraph, durationMs, maxBodies, requestId) => sampler.open(subgraph, durationMs, maxBodies, requestId),
    'admin.canary': () => ({ canaries: options.canaries?.states() ?? [], shared: options.canaries?.sharing() ?? null }),
    'admin.canary-restore': (subgraph, version, by) => ({ restored: options.canaries?.restore(subgraph, version, by) ?? false }),
    'admin.start-reload': (requestId) => {
      logger.info({ requestId }, 'admin: reload requested through the cluster primary');
      void options.reload().catch((error: unknown) => logger.error({ err: error, requestId }, 'admin: reload attempt threw'));
      return { started: true };
    },
  });
  if (!group) return undefined;

  /** The group's answers, or why the primary could not be asked (logged for the person on call). */
  const gather = async <O extends keyof AdminGroupOps>(op: O, args: AdminGroupOps[O]['args']): Promise<GroupAnswers<AdminGroupOps[O]['value']> | { error: string }> => {
    try {
      const answers = await group.gather(op, ...args);
      if (answers.missing.length > 0) {
        logger.warn({ op, missing: answers.missing }, `admin: worker(s) ${answers.missing.join(', ')} did not answer the cluster primary in time; this answer leaves them out (stuck, starting or draining: if it lasts, restart them)`);
      }
      return answers as GroupAnswers<AdminGroupOps[O]['value']>;
    } catch (error) {
      const reason = `the cluster primary did not answer (${(error as Error).message}); this answer is worker ${process.pid}'s alone`;
      logger.warn({ op, err: error }, `admin: ${reason}. If it lasts, the primary is stuck: restart tessera serve`);
      return { error: reason };
    }
  };

  return {
    async statusSnapshot() {
      if (!board) throw new Error('the status page is off (telemetry.status.enabled)');
      const now = Date.now();
      const answers = await gather('status.part', [now]);
      if ('error' in answers) return board.snapshot({ now, parts: [], missing: 0, error: answers.error });
      return board.snapshot({ now, parts: answers.answers.map((a) => a.value), missing: answers.missing.length });
    },
    async ask(op, args, local) {
      const answers = await gather(op, args);
      if ('error' in answers) {
        const own = local();
        return { own, pid: process.pid, workers: [{ pid: process.pid, ...own }], missing: [], groupError: answers.error };
      }
      // This worker answered itself through the primary (applying a change there); should that answer be lost, it asks itself directly.
      const own = answers.answers.find((a) => a.pid === process.pid)?.value ?? local();
      return { own, pid: process.pid, workers: answers.answers.map(({ pid, value }) => ({ pid, ...value })), missing: answers.missing };
    },
    close: () => group.close(),
  };
}
