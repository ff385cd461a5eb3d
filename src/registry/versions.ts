/**
 * The schema versions a gateway serves at once: the current one, which new
 * requests get, and the ones a reload replaced that still have requests in
 * flight. Each version holds resources (a subgraph's loaded source: its
 * upstream pools and channels) that several versions may share (a reload
 * keeps an unchanged subgraph's source); a resource is closed once no version
 * that holds it is left, and a replaced version is let go of once its last
 * request is done, never while one uses it.
 */

export interface Closable {
  close(): Promise<void>;
}

/** What a version let go of when it drained. */
export interface Drained<V, R> {
  version: V;
  /** Its resources that no other version holds, closed now. */
  closed: R[];
  /** Resolves once they are closed (a close that fails is reported to `onCloseError`, not here). */
  done: Promise<void>;
}

export interface VersionsOptions<V, R> {
  /** A replaced version's last request ended (or it had none): its own resources are being closed. */
  onDrained(drained: Drained<V, R>): void;
  onCloseError(resource: R, error: unknown): void;
}

interface Entry<R> {
  resources: R[];
  inFlight: number;
  replaced: boolean;
}

export class ServedVersions<V extends object, R extends Closable> {
  private readonly entries = new Map<V, Entry<R>>();
  private readonly holders = new Map<R, number>();
  private currentVersion: V;

  constructor(
    first: V,
    resources: readonly R[],
    private readonly options: VersionsOptions<V, R>,
  ) {
    this.currentVersion = first;
    this.track(first, resources);
  }

  /** The version new requests get. */
  get current(): V {
    return this.currentVersion;
  }

  /** Every version still served: the current one and the replaced ones with requests in flight. */
  get live(): V[] {
    return [...this.entries.keys()];
  }

  /** Requests in flight on a version (0 once it drained). */
  inFlight(version: V): number {
    return this.entries.get(version)?.inFlight ?? 0;
  }

  /**
   * Counts one request on the current version until the returned function is
   * called (once; later calls do nothing). The request keeps that version,
   * and its resources, whatever swaps meanwhile.
   */
  hold(): { version: V; release: () => void } {
    const version = this.currentVersion;
    const entry = this.entries.get(version)!;
    entry.inFlight++;
    let released = false;
    return {
      version,
      release: () => {
        if (released) return;
        released = true;
        entry.inFlight--;
        if (entry.replaced && entry.inFlight === 0) this.drain(version);
      },
    };
  }

  /** Makes `next` the current version; the one it replaces drains now if idle, else when its last request ends. Returns that one. */
  swap(next: V, resources: readonly R[]): V {
    this.track(next, resources);
    const previous = this.currentVersion;
    this.currentVersion = next;
    const entry = this.entries.get(previous)!;
    entry.replaced = true;
    if (entry.inFlight === 0) this.drain(previous);
    return previous;
  }

  /**
   * Nothing is current any more (a staged rollout ended): the current version drains now if idle, else when its
   * last request ends; hold() must not be called after this.
   */
  retire(): V {
    const last = this.currentVersion;
    const entry = this.entries.get(last);
    if (entry && !entry.replaced) {
      entry.replaced = true;
      if (entry.inFlight === 0) this.drain(last);
    }
    return last;
  }

  /** Closes every resource of every version, in flight or not (the gateway is closing, after its own drain). */
  async closeAll(): Promise<void> {
    const all = [...this.holders.keys()];
    this.entries.clear();
    this.holders.clear();
    await Promise.all(all.map((r) => r.close().catch((error: unknown) => this.options.onCloseError(r, error))));
  }

  private track(version: V, resources: readonly R[]): void {
    this.entries.set(version, { resources: [...resources], inFlight: 0, replaced: false });
    for (const r of resources) this.holders.set(r, (this.holders.get(r) ?? 0) + 1);
  }

  private drain(version: V): void {
    const entry = this.entries.get(version);
    if (!entry) return;
    this.entries.delete(version);
    const closed: R[] = [];
    for (const r of entry.resources) {
      const left = (this.holders.get(r) ?? 1) - 1;
      if (left > 0) this.holders.set(r, left);
      else {
        this.holders.delete(r);
        closed.push(r);
      }
    }
    const done = Promise.all(closed.map((r) => r.close().catch((error: unknown) => this.options.onCloseError(r, error)))).then(() => undefined);
    this.options.onDrained({ version, closed, done });
  }
}
