/**
 * {@link Live}: one live value (a query result, a document) from the database worker, usable three ways:
 * - a callback: `live.listen(fn)` (or the `cb` argument of `collection.live(query, cb)`);
 * - an async iterator: `for await (const result of live) ...`;
 * - a store: `live.subscribe(fn) → unsubscribe`, the Svelte store contract (`fn` is called at once with the
 *   current value, `undefined` before the first one arrives), and `live.getSnapshot()` for React's
 *   `useSyncExternalStore` (`@hearth/react`).
 *
 * The subscription in the worker starts with the first listener (or iterator) and stops when the last one leaves
 * or on `close()`; across a change of leader tab it is re-established by the SDK and keeps delivering.
 * @packageDocumentation
 */

/** Starts the underlying subscription; returns its stop function. */
export type LiveSource<T> = (deliver: (ok: boolean, value: T | undefined, error?: Error) => void) => () => void;

/** A live value. See the module documentation. */
export class Live<T> implements AsyncIterable<T> {
  private value: T | undefined = undefined;
  private has = false;
  private error: Error | undefined = undefined;
  private stop: (() => void) | null = null;
  private closed = false;
  private readonly listeners = new Set<(value: T) => void>();
  private readonly errorListeners = new Set<(error: Error) => void>();
  private readonly stores = new Set<(value: T | undefined) => void>();
  private iterators = 0;
  private readonly iterQueues = new Set<{ push: (v: T) => void; fail: (e: Error) => void; wake: () => void }>();

  constructor(private readonly source: LiveSource<T>) {}

  /** The latest value, or `undefined` before the first one (React's `getSnapshot`). Stable between changes. */
  getSnapshot = (): T | undefined => this.value;

  /** Whether a value has arrived. */
  get hasValue(): boolean {
    return this.has;
  }

  /** The last error the subscription reported (cleared by the next value). */
  get lastError(): Error | undefined {
    return this.error;
  }

  private users(): number {
    return this.listeners.size + this.stores.size + this.iterators;
  }

  private retain(): void {
    if (this.closed) throw new TypeError('live value used after close()');
    if (this.stop === null) this.stop = this.source((ok, v, e) => this.onDeliver(ok, v, e));
  }

  private release(): void {
    if (this.users() === 0 && this.stop !== null) {
      const stop = this.stop;
      this.stop = null;
      this.has = false;
      stop();
    }
  }

  private onDeliver(ok: boolean, v: T | undefined, e?: Error): void {
    if (this.closed || this.stop === null) return;
    if (!ok) {
      this.error = e;
      for (const l of [...this.errorListeners]) l(e!);
      for (const q of [...this.iterQueues]) q.fail(e!);
      return;
    }
    this.value = v;
    this.has = true;
    this.error = undefined;
    for (const l of [...this.listeners]) l(v as T);
    for (const s of [...this.stores]) s(v);
    for (const q of [...this.iterQueues]) q.push(v as T);
  }

  /**
   * Calls `fn` with each value (the current one first, when there is one). Returns the unsubscribe function.
   * `onError` gets errors the subscription reports (e.g. `HEARTH_INVALID_QUERY`); it stays subscribed.
   */
  listen(fn: (value: T) => void, onError?: (error: Error) => void): () => void {
    if (typeof fn !== 'function') throw new TypeError('"fn" expected a function');
    this.listeners.add(fn);
    if (onError) this.errorListeners.add(onError);
    this.retain();
    if (this.has) fn(this.value as T);
    return () => {
      this.listeners.delete(fn);
      if (onError) this.errorListeners.delete(onError);
      this.release();
    };
  }

  /** The Svelte store contract: calls `fn` at once with the current value (maybe `undefined`), then on change. */
  subscribe = (fn: (value: T | undefined) => void): (() => void) => {
    if (typeof fn !== 'function') throw new TypeError('"fn" expected a function');
    this.stores.add(fn);
    this.retain();
    fn(this.value);
    return () => {
      this.stores.delete(fn);
      this.release();
    };
  };

  /** Resolves with the first value (the current one if it has arrived); rejects with the first error. */
  first(): Promise<T> {
    if (this.has) return Promise.resolve(this.value as T);
    return new Promise<T>((resolve, reject) => {
      let off = (): void => undefined;
      let done = false;
      off = this.listen(
        (v) => {
          if (done) return;
          done = true;
          queueMicrotask(() => off());
          resolve(v);
        },
        (e) => {
          if (done) return;
          done = true;
          queueMicrotask(() => off());
          reject(e);
        },
      );
    });
  }

  /**
   * Iterates the values: the current one (if any), then each change. Values that arrive faster than the loop
   * consumes them are skipped except the latest (a live value is a state, not an event log). An error ends the
   * iteration by throwing. Breaking out of the loop unsubscribes.
   */
  [Symbol.asyncIterator](): AsyncIterator<T> {
    let latest: { v: T } | null = null;
    let failure: Error | null = null;
    let wake: (() => void) | null = null;
    let ended = false;
    const q = {
      push: (v: T) => {
        latest = { v };
        wake?.();
      },
      fail: (e: Error) => {
        failure = e;
        wake?.();
      },
      wake: () => wake?.(),
    };
    this.iterQueues.add(q);
    this.iterators++;
    this.retain();
    if (this.has) latest = { v: this.value as T };
    const end = (): void => {
      if (ended) return;
      ended = true;
      this.iterQueues.delete(q);
      this.iterators--;
      this.release();
    };
    return {
      next: async (): Promise<IteratorResult<T>> => {
        for (;;) {
          if (ended) return { done: true, value: undefined };
          if (failure !== null) {
            end();
            throw failure;
          }
          if (latest !== null) {
            const { v } = latest;
            latest = null;
            return { done: false, value: v };
          }
          if (this.closed) {
            end();
            return { done: true, value: undefined };
          }
          await new Promise<void>((r) => (wake = r));
          wake = null;
        }
      },
      return: async (): Promise<IteratorResult<T>> => {
        end();
        return { done: true, value: undefined };
      },
    };
  }

  /** Stops the subscription for good; iterators end, listeners are dropped. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.listeners.clear();
    this.errorListeners.clear();
    this.stores.clear();
    const stop = this.stop;
    this.stop = null;
    stop?.();
    for (const q of [...this.iterQueues]) q.wake(); // they see `closed` and end
  }
}
