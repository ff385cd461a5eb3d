/**
 * The process group of `tessera serve --workers N` asked as one: a worker
 * asks the cluster primary to put one question to every worker (itself
 * too), and gets every answer back, each with the pid of the worker that
 * gave it. What the question is, and how the answers are merged, is the
 * asker's business: the primary only relays (cluster-metrics.ts aggregates
 * the metrics in the primary, the admin endpoints merge their answers in the
 * worker that asked: server/admin-group.ts).
 *
 *   worker A ── group.gather(op, args) ──► primary ── op(args) ──► every worker (A too)
 *   worker A ◄── { answers, missing } ──── primary ◄── each answer ─┘
 *
 * A worker that does not answer within WORKER_TIMEOUT_MS (stuck, still
 * starting, draining) is left out, and its pid is listed in `missing`.
 * WORKER_TIMEOUT_MS is below the asking worker's own wait for the primary
 * (PRIMARY_TIMEOUT_MS), so a missing worker never makes the whole question
 * fail; a primary that does not answer rejects it with StoreUnavailableError.
 *
 * Every request travels as store/cluster.ts's other requests do (IpcClient,
 * answer): the worker's to the primary, the primary's to each worker. A
 * worker answers the primary through one listener (answerPrimary), whoever
 * registered the questions it answers.
 */
import cluster, { type Worker } from 'node:cluster';
import { answer, IpcClient, PRIMARY_TIMEOUT_MS, primaryClient, sendReply, type Handlers, type IpcEndpoint } from './cluster.js';

/** Longest wait of the primary for one worker's answer. */
export const WORKER_TIMEOUT_MS = PRIMARY_TIMEOUT_MS / 2;

type OpMap = Record<string, { args: unknown[]; value: unknown }>;

/** Every worker's answer to one question, with its pid, and the pids of the workers that did not answer in time. */
export interface GroupAnswers<T = unknown> {
  answers: Array<{ pid: number; value: T }>;
  missing: number[];
}

/** In the cluster primary: the workers it can ask, from their fork to their exit. */
export class ClusterWorkers {
  private readonly workers = new Map<object, { client: IpcClient<OpMap>; pid: number; connected: () => boolean }>();

  /** Follows the workers node:cluster forks, from their fork to their exit (the primary of `tessera serve`). */
  static ofCluster(): ClusterWorkers {
    const workers = new ClusterWorkers();
    cluster.on('fork', (worker: Worker) => workers.add(worker, worker, worker.process.pid ?? 0, () => worker.isConnected()));
    cluster.on('exit', (worker: Worker) => workers.remove(worker));
    return workers;
  }

  /** Asks `endpoint` (a worker's channel, of process `pid`) at each question while `connected()` says it can be asked. */
  add(key: object, endpoint: IpcEndpoint, pid: number, connected: () => boolean): void {
    this.workers.set(key, { client: new IpcClient<OpMap>(endpoint, { name: `cluster worker ${pid}`, timeoutMs: WORKER_TIMEOUT_MS }), pid, connected });
  }

  remove(key: object): void {
    this.workers.get(key)?.client.close();
    this.workers.delete(key);
  }

  /** Asks every connected worker `op(...args)`; the answers that come in time, and the pids of the workers that failed or did not answer. */
  readonly gather = async (op: string, args: unknown[]): Promise<GroupAnswers> => {
    const asked = [...this.workers.values()].filter((worker) => worker.connected());
    const settled = await Promise.allSettled(asked.map(({ client }) => client.request(op, ...args)));
    const result: GroupAnswers = { answers: [], missing: [] };
    settled.forEach((outcome, i) => {
      const { pid } = asked[i]!;
      if (outcome.status === 'fulfilled') result.answers.push({ pid, value: outcome.value });
      else result.missing.push(pid);
    });
    return result;
  };
}

type AnyHandler = (...args: never[]) => unknown;

/** The questions this worker answers, by op, from every part of the gateway that registered some. */
const answering: Record<string, AnyHandler> = {};
let registered = 0;

function onPrimaryMessage(message: unknown): void {
  const reply = answer(answering, message);
  if (reply) sendReply(reply, { isConnected: () => process.connected, send: (m, callback) => process.send?.(m, undefined, undefined, callback) });
}

/**
 * Answers the primary's questions `handlers` names, in a worker, until the
 * returned function is called. One listener on the channel answers them all
 * (two would each reply to every question, one of them "no operation").
 */
export function answerPrimary(handlers: Readonly<Record<string, AnyHandler>>): () => void {
  if (registered++ === 0) process.on('message', onPrimaryMessage);
  Object.assign(answering, handlers);
  let done = false;
  return () => {
    if (done) return;
    done = true;
    for (const op of Object.keys(handlers)) if (answering[op] === handlers[op]) delete answering[op];
    // The listener keeps the IPC channel referenced: off once nothing is left to answer.
    if (--registered === 0) process.off('message', onPrimaryMessage);
  };
}

/** A worker's way to ask the whole process group, and to answer its questions. */
export interface ProcessGroup<Ops extends OpMap> {
  /** Asks every worker (this one too) through the primary; rejects with StoreUnavailableError when the primary does not answer within PRIMARY_TIMEOUT_MS. */
  gather<O extends keyof Ops & string>(op: O, ...args: Ops[O]['args']): Promise<GroupAnswers<Awaited<Ops[O]['value']>>>;
  /** Stops answering the questions of `handlers` (the gateway closed). */
  close(): void;
}

/**
 * In a worker forked by `tessera serve` (serveSharedState's environment):
 * answers the group's questions with `handlers`, and asks them. Undefined in
 * every other process, which is a group of one.
 */
export function processGroup<Ops extends OpMap>(handlers: Handlers<Ops>): ProcessGroup<Ops> | undefined {
  const client = primaryClient();
  if (!client) return undefined;
  const close = answerPrimary(handlers as Readonly<Record<string, AnyHandler>>);
  return {
    gather: (op, ...args) => client.request('group.gather', op, args) as Promise<GroupAnswers<never>>,
    close,
  };
}
