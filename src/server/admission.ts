/**
 * Admission: how many GraphQL requests the gateway works on at once
 * (`server.admission`).
 *
 * A request the gateway has started holds its upstream answers, its merged
 * data and its plan's state until its answer is written. When the process's
 * one thread is saturated, every request started beyond what keeps it busy
 * only waits for the thread between its steps, and its data waits with it:
 * the young generation fills with live data, each scavenge copies it, and
 * much of it is promoted and collected again by full collections.
 * Measured with bench/alloc-cost.ts on the benchmark's federation query
 * (`--concurrency N`, Node 20): scavenges cost 62 µs per request at 8
 * requests in flight, 71 at 12, 98 at 16, then 307 at 24 and 338 at 32, with
 * 10 full collections per 3,000 requests from 24 on (none below). On the
 * proxy query (2 KB answers) it stays at 10–12 µs whatever the count. A
 * request waiting here holds only its parsed headers, and waiting requests
 * start in arrival order.
 *
 * - `auto` (the default): no limit while the event loop has time to spare.
 *   Once it has been busy at least `BUSY` of the time for `BUSY_TICKS` ticks
 *   in a row, the limit starts at the requests in progress, or at the limit
 *   the last busy tick left if that is lower (load that comes back after a
 *   quiet spell starts where the last load settled instead of shrinking to
 *   it again tick by tick), and shrinks by `DECREASE` on each busy tick, down
 *   to `MIN_LIMIT`; it holds while the loop is busy between `SPARE` and
 *   `BUSY` of the time; a tick under `SPARE`
 *   (the thread waits on upstreams more than the limit's garbage savings are
 *   worth) grows it by `INCREASE`, and `BUSY_TICKS` such ticks in a row lift
 *   it: an upstream that slows down, the thread idle, is not throttled here.
 *   On the benchmark's federation query (50 connections, the gateway alone on
 *   one core) it settles at its floor of 16, the loop 94–100% busy (at 8 the
 *   loop waited on upstreams up to a fifth of the time; on the proxy query
 *   that cost more than it saved). README Performance has the A/B figures.
 * - a number: at most that many at once, always.
 * - `off`: every request starts as it arrives.
 *
 * Streamed answers (an event stream, multipart) are never held or counted:
 * a subscription would hold its place for its lifetime. A request whose
 * client goes away while it waits is dropped from the queue without taking
 * a place (docs/reliability.md row 91). The time a request waited counts
 * towards its `server.requestDeadline` and its logged duration.
 */
import { channel } from 'node:diagnostics_channel';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import { EVENTS, type AdmissionEvent } from '../events.js';
import type { Arrival } from '../request-scope.js';

export type AdmissionSetting = 'auto' | 'off' | number;

/** A tick of the `auto` limit, in ms. */
export const TICK_MS = 100;
/** Event-loop utilization at or above which a tick counts as busy: the limit engages, then shrinks. */
export const BUSY = 0.85;
/** Event-loop utilization below which a tick has time to spare: the limit grows, and lifts after `BUSY_TICKS` such ticks in a row. */
export const SPARE = 0.7;
/** The factor `auto` grows its limit by on a tick with time to spare. */
export const INCREASE = 1.25;
/** Busy ticks in a row before `auto` limits. */
export const BUSY_TICKS = 5;
/** The factor `auto` shrinks its limit by on each busy tick. */
export const DECREASE = 0.8;
/** Ticks in a row with nothing started, waiting or answered before the ticker stops. */
const QUIET_TICKS = 10;
/** `auto` never limits below this many requests at once (see above: below the federation query's cliff, above what keeps the proxy query's thread busy). */
export const MIN_LIMIT = 16;

export const admissionChannel = channel(EVENTS.admission);

/** What the `auto` limit reads each tick; replaced in tests. */
export interface AdmissionClock {
  now(): number;
  /** The event loop's busy share since the previous call (0..1). */
  utilization(): number;
}

function eventLoopClock(): AdmissionClock {
  let previous: EventLoopUtilization | undefined;
  return {
    now: () => performance.now(),
    utilization() {
      const current = performance.eventLoopUtilization();
      const share = previous ? performance.eventLoopUtilization(current, previous).utilization : 0;
      previous = current;
      return share;
    },
  };
}

interface Waiting {
  start: () => void;
  req: IncomingMessage;
  res: ServerResponse;
  arrived: number;
}

/** Each admitted request's arrival, for its account and deadline (server/yoga.ts). */
const arrivals = new WeakMap<IncomingMessage, Arrival>();

/** The request's arrival, if it went through admission and has started. */
export function arrivalOf(req: IncomingMessage | undefined): Arrival | undefined {
  return req ? arrivals.get(req) : undefined;
}

export class Admission {
  /** Requests allowed at once now (Infinity: no limit). */
  limit: number;
  /** Requests started and not yet answered. */
  active = 0;
  private readonly queue: Waiting[] = [];
  private head = 0;
  private readonly clock: AdmissionClock;
  private timer: NodeJS.Timeout | undefined;
  private busyTicks = 0;
  private spareTicks = 0;
  /** The limit the last busy tick left, kept while the limit is lifted: where the next engagement starts. */
  private lastBusyLimit = Infinity;
  /** Requests started since the last tick. */
  private startedSinceTick = 0;
  /** Ticks in a row with nothing started, waiting or in progress: the ticker stops. */
  private quietTicks = 0;
  private readonly event: AdmissionEvent = { change: 'started', limit: Infinity, active: 0, queued: 0, waitedMs: 0 };
  private readonly onLimit?: (limit: number, previous: number, admission: Admission) => void;
  private readonly ticking: boolean;
  /** Whether the auto ticker runs (with `ticking: false`, tick() is the caller's to call). */
  private running = false;

  constructor(
    readonly setting: AdmissionSetting,
    options: {
      /** Tests: their own clock, and `ticking: false` to call tick() themselves. */
      clock?: AdmissionClock;
      ticking?: boolean;
      onLimit?: (limit: number, previous: number, admission: Admission) => void;
    } = {},
  ) {
    this.limit = typeof setting === 'number' ? setting : Infinity;
    this.clock = options.clock ?? eventLoopClock();
    this.ticking = options.ticking ?? true;
    this.onLimit = options.onLimit;
  }

  /** Requests waiting to start. */
  get queued(): number {
    return this.queue.length - this.head;
  }

  /**
   * Starts `start` now or when a place frees; `res` is the request's
   * response (its 'close' frees the place, or drops it from the queue).
   */
  admit(req: IncomingMessage, res: ServerResponse, start: () => void): void {
    const arrived = this.clock.now();
    if (this.setting === 'auto') this.ensureTicking();
    if (this.queued === 0 && this.active < this.limit) return this.begin({ start, req, res, arrived }, arrived);
    this.queue.push({ start, req, res, arrived });
    if (admissionChannel.hasSubscribers) this.publish('queued', 0);
  }

  private begin(waiting: Waiting, now: number): void {
    this.active++;
    this.startedSinceTick++;
    waiting.res.once('close', () => {
      this.active--;
      if (admissionChannel.hasSubscribers) this.publish('ended', 0);
      this.drain();
    });
    const waitedMs = now - waiting.arrived;
    arrivals.set(waiting.req, { at: waiting.arrived, waitedMs });
    if (admissionChannel.hasSubscribers) this.publish('started', waitedMs);
    waiting.start();
  }

  /** Starts waiting requests while there are places; drops those whose client left. */
  private drain(): void {
    while (this.head < this.queue.length && this.active < this.limit) {
      const next = this.queue[this.head]!;
      this.queue[this.head++] = undefined as unknown as Waiting;
      if (next.res.closed) {
        if (admissionChannel.hasSubscribers) this.publish('dropped', this.clock.now() - next.arrived);
        continue;
      }
      this.begin(next, this.clock.now());
    }
    // Slots taken so far are dropped at once when the queue empties, else once they are most of it.
    if (this.head === this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
  }

  private publish(change: AdmissionEvent['change'], waitedMs: number, previous?: number): void {
    const event = this.event;
    event.change = change;
    event.limit = this.limit;
    event.previous = previous;
    event.active = this.active;
    event.queued = this.queued;
    event.waitedMs = waitedMs;
    admissionChannel.publish(event);
  }

  private ensureTicking(): void {
    if (this.running) return;
    this.running = true;
    this.clock.utilization();
    if (!this.ticking) return;
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.timer.unref();
  }

  /** One tick of the `auto` limit (called by its timer; by tests directly). */
  tick(): void {
    const utilization = this.clock.utilization();
    const busy = utilization >= BUSY;
    const spare = utilization < SPARE;
    this.busyTicks = busy ? this.busyTicks + 1 : 0;
    this.spareTicks = spare ? this.spareTicks + 1 : 0;
    let limit = this.limit;
    if (this.busyTicks >= BUSY_TICKS || (busy && Number.isFinite(limit))) {
      limit = Number.isFinite(limit) ? Math.max(MIN_LIMIT, Math.floor(limit * DECREASE)) : Math.max(MIN_LIMIT, Math.min(this.active, this.lastBusyLimit));
      this.lastBusyLimit = limit;
    } else if (spare && Number.isFinite(limit)) {
      limit = this.spareTicks >= BUSY_TICKS ? Infinity : Math.max(limit + 1, Math.ceil(limit * INCREASE));
    }
    this.setLimit(limit);
    const quiet = this.startedSinceTick === 0 && this.active === 0 && this.queued === 0;
    this.startedSinceTick = 0;
    this.quietTicks = quiet ? this.quietTicks + 1 : 0;
    if (this.quietTicks > QUIET_TICKS) this.stop();
  }

  private setLimit(limit: number): void {
    if (limit === this.limit) return;
    const previous = this.limit;
    this.limit = limit;
    if (admissionChannel.hasSubscribers) this.publish('limit', 0, previous);
    this.onLimit?.(limit, previous, this);
    this.drain();
  }

  /** Stops the `auto` ticker and lifts its limit (the ticker starts again with the next request). */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.running = false;
    this.busyTicks = 0;
    this.spareTicks = 0;
    this.quietTicks = 0;
    if (this.setting === 'auto') this.setLimit(Infinity);
  }
}
