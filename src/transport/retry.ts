/**
 * When and how long to wait before trying an upstream call again.
 * Full-jitter backoff (AWS architecture blog, "Exponential Backoff And
 * Jitter") so that many gateways retrying the same failure do not arrive in
 * waves; a retry budget (Envoy's idea: retries may add at most 20% to the
 * calls, with a floor of 3 per window) so that a flapping source is not
 * amplified into an outage.
 */
export interface RetryBudgetOptions {
  ratio: number;
  minPerWindow: number;
  windowMs: number;
}

export class RetryBudget {
  private windowStart = Date.now();
  private calls = 0;
  private retries = 0;

  constructor(private readonly options: RetryBudgetOptions = { ratio: 0.2, minPerWindow: 3, windowMs: 10_000 }) {}

  private roll(now: number): void {
    if (now - this.windowStart >= this.options.windowMs) {
      this.windowStart = now;
      this.calls = 0;
      this.retries = 0;
    }
  }

  recordCall(): void {
    this.roll(Date.now());
    this.calls++;
  }

  /** Takes one retry from the budget, or says no. */
  tryRetry(): boolean {
    this.roll(Date.now());
    const allowed = Math.max(this.options.minPerWindow, this.calls * this.options.ratio);
    if (this.retries + 1 > allowed) return false;
    this.retries++;
    return true;
  }
}

/** Full jitter: a random wait in [0, base * 2^attempt). */
export function backoffDelay(attempt: number, baseMs: number, random: () => number = Math.random): number {
  return Math.floor(random() * baseMs * 2 ** attempt);
}

/** Retry-After as milliseconds (seconds or an HTTP date), or undefined. */
export function retryAfterMs(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (!text) return undefined;
  if (/^\d+$/.test(text.trim())) return Number(text.trim()) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** A wait that ends early, with the signal's reason, if the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
