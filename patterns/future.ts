/**
 * Futures and the ways to wait for many of them: Python's `concurrent.futures.Future`,
 * `as_completed`, `wait` and `asyncio.gather`, typed and awaitable.
 *
 * ```
 *   producer (the pool)                                  consumer (the caller)
 *   ┌──────────────────────────┐                         ┌──────────────────────────────────────┐
 *   │ Future.create() ─────────┼── controller.future ───▶│ await future / result / exception    │
 *   │ controller.start()       │   pending ─▶ running    │ future.status                        │
 *   │ controller.resolve(v)    │   ─▶ done               │ addDoneCallback(fn)                  │
 *   │ controller.reject(e)     │   ─▶ failed             │ asCompleted / wait / gather          │
 *   │ controller.cancelled()   │   ─▶ cancelled          │                                      │
 *   │ onCancel(status) ◀───────┼─────────────────────────┼─ future.cancel()                     │
 *   └──────────────────────────┘                         └──────────────────────────────────────┘
 * ```
 *
 * A future starts `"pending"`, becomes `"running"` when its producer starts the work, and settles
 * once: `"done"` with a value, `"failed"` with an error, or `"cancelled"`. Plain promises and plain
 * values are accepted wherever futures are: {@linkcode Future.from} wraps them, and returns the same
 * wrapper for the same promise, so the futures that {@linkcode wait} and {@linkcode asCompleted}
 * hand back can be matched with the promises that went in.
 *
 * Every wait takes a `timeoutMs` and a `signal`. Its timer is cleared and its abort listener removed
 * as soon as it settles.
 *
 * @module
 */

import { describe } from "../_util.ts";
import { CancelledError, TimeoutError } from "../errors.ts";

/**
 * Where a future is in its life: `"pending"` (not started), `"running"`, then one of the settled
 * states `"done"` (it has a value), `"failed"` (it has an error) or `"cancelled"`.
 */
export type FutureStatus = "pending" | "running" | "done" | "failed" | "cancelled";

/** When {@linkcode wait} returns, as in Python's `concurrent.futures.wait`. */
export type ReturnWhen = "all_completed" | "first_completed" | "first_exception";

/** Options of {@linkcode Future.create}. */
export interface FutureOptions {
  /**
   * Names the future in messages, for example `"task 3 (square)"`: a timeout reads "Timed out after
   * 10 ms waiting for task 3 (square)".
   *
   * @default {"future"}
   */
  label?: string;
  /**
   * Told when `cancel()` is called on a future that has not settled, with the status it had:
   * `"pending"` (the future is already cancelled; the producer drops it from its queue) or
   * `"running"` (the producer aborts the work and confirms with `controller.cancelled()`). An error
   * it throws is reported with `console.error` and does not reach the caller of `cancel()`.
   *
   * @default {undefined}
   */
  onCancel?: (status: "pending" | "running") => void;
}

/**
 * What the producer of a future holds: the future, and the functions that move it through its
 * states. The functions are bound: they may be passed around on their own.
 *
 * @typeParam T The type of the future's value.
 */
export interface FutureController<T> {
  /** The future this controller settles. */
  readonly future: Future<T>;
  /**
   * Moves the future from `"pending"` to `"running"`.
   *
   * @returns `true` if the work should run; `false` if the future was cancelled (or settled)
   * meanwhile and the work must not run.
   * @throws {Error} The future is already running: it was started twice.
   */
  start(): boolean;
  /**
   * Settles the future as `"done"` with `value`; as `"cancelled"` if a cancel was requested while it
   * ran. Ignored once the future has settled.
   */
  resolve(value: T): void;
  /**
   * Settles the future as `"failed"` with `error`; as `"cancelled"` (with `error` as the
   * `CancelledError`'s `cause`) if a cancel was requested while it ran. Ignored once the future has
   * settled.
   */
  reject(error: unknown): void;
  /**
   * Settles the future as `"cancelled"`: the producer confirms a cancel, or cancels on its own.
   * `reason`, when given, becomes the `CancelledError`'s `cause`. Ignored once the future has
   * settled.
   */
  cancelled(reason?: unknown): void;
}

/** Options of {@linkcode Future.prototype.result} and {@linkcode Future.prototype.exception}. */
export interface ResultOptions {
  /**
   * How long to wait, in milliseconds: a non-negative number, or `Infinity`. When it passes first
   * the promise rejects with a `TimeoutError` and the future keeps going. `0` only looks.
   *
   * @default {Infinity}
   */
  timeoutMs?: number;
  /**
   * Stops waiting: the promise rejects with `signal.reason`. The future keeps going.
   *
   * @default {undefined}
   */
  signal?: AbortSignal;
}

/** Options of {@linkcode asCompleted}. */
export interface AsCompletedOptions {
  /**
   * How long the whole iteration may take, in milliseconds from the call: a non-negative number, or
   * `Infinity`. When it passes before every future has settled, the iteration throws a
   * `TimeoutError` at the first step that would have to wait (futures that have settled by then are
   * yielded first).
   *
   * @default {Infinity}
   */
  timeoutMs?: number;
  /**
   * Stops the iteration: the next (or the pending) step throws `signal.reason`.
   *
   * @default {undefined}
   */
  signal?: AbortSignal;
}

/** Options of {@linkcode wait}. */
export interface WaitOptions {
  /**
   * How long to wait, in milliseconds: a non-negative number, or `Infinity`. When it passes, `wait`
   * returns the futures split as they are; it never throws on a timeout.
   *
   * @default {Infinity}
   */
  timeoutMs?: number;
  /**
   * When to return: `"all_completed"` once every future has settled, `"first_completed"` once any
   * has, `"first_exception"` once any has failed (a cancel is not an exception) or every future has
   * settled.
   *
   * @default {"all_completed"}
   */
  returnWhen?: ReturnWhen;
  /**
   * Stops waiting: the promise rejects with `signal.reason`.
   *
   * @default {undefined}
   */
  signal?: AbortSignal;
}

/**
 * What {@linkcode wait} returns: the futures that have settled, in the order they settled (those
 * settled before the call first, in input order), and those that have not, in input order.
 *
 * @typeParam T The type of the futures' values.
 */
export interface WaitResult<T> {
  /** The futures that are done, failed or cancelled. */
  done: Set<Future<T>>;
  /** The futures that are still pending or running. */
  pending: Set<Future<T>>;
}

/** Options of {@linkcode gather}. */
export interface GatherOptions {
  /**
   * `false`: resolve with the values, or reject with the first error (as `asyncio.gather`).
   * `true`: resolve with a `PromiseSettledResult` per input and never reject (as `asyncio.gather`
   * with `return_exceptions=True`; a cancelled future is `rejected` with a `CancelledError`).
   *
   * @default {false}
   */
  settle?: boolean;
}

/** The longest delay `setTimeout` takes; longer timeouts are armed in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;
const RETURN_WHEN: readonly ReturnWhen[] = ["all_completed", "first_completed", "first_exception"];
const SETTLED: ReadonlySet<FutureStatus> = new Set(["done", "failed", "cancelled"]);

/** The wrapper futures of promises, so that one promise always gets the same future. */
const wrappers = new WeakMap<object, Future<unknown>>();

/** Tells `listener` (synchronously) when `future` settles; returns the unsubscribe function. */
let subscribe: (future: Future<unknown>, listener: () => void) => () => void;

/**
 * The handle of a result that is not there yet, as Python's `concurrent.futures.Future`: await it
 * (or call {@linkcode Future.prototype.result}) for the value, read its `status`, cancel it, or add
 * callbacks. A producer makes one with {@linkcode Future.create}; {@linkcode Future.from} wraps a
 * promise. A cancelled future rejects with a `CancelledError`.
 *
 * A future does not report an unhandled rejection when it fails and nobody awaits it: its error
 * waits, like Python's, until someone asks.
 *
 * @typeParam T The type of the future's value.
 *
 * @example A producer settles, a consumer awaits
 * ```ts
 * import { Future } from "@troupe/troupe/patterns";
 * import { equal } from "node:assert/strict";
 *
 * const { future, start, resolve } = Future.create<number>({ label: "answer" });
 * equal(future.status, "pending");
 * start();
 * equal(future.status, "running");
 * resolve(42);
 * equal(future.status, "done");
 * equal(await future, 42);
 * ```
 */
export class Future<T> implements PromiseLike<T> {
  #status: FutureStatus = "pending";
  readonly #label: string;
  #onCancel: ((status: "pending" | "running") => void) | undefined;
  #cancelRequested = false;
  #value: T | undefined;
  /** A failed future's error, or a cancelled future's `CancelledError`. */
  #error: unknown;
  #listeners: Set<() => void> | undefined;
  /** Done callbacks, each bound to this future (so that `Future<T>` stays covariant in `T`). */
  #callbacks: (() => void)[] | undefined;
  #promise: Promise<T> | undefined;
  #settlePromise: { resolve(value: T): void; reject(error: unknown): void } | undefined;

  static {
    subscribe = (future, listener) => future.#subscribe(listener);
  }

  private constructor(label: string, onCancel: FutureOptions["onCancel"]) {
    this.#label = label;
    this.#onCancel = onCancel;
  }

  /**
   * Makes a pending future and the controller that settles it: what a producer, such as a pool,
   * holds while the consumer holds the future.
   *
   * @typeParam T The type of the future's value.
   * @param options The future's label and the producer's `onCancel`.
   * @returns The controller; its `future` goes to the consumer.
   * @throws {TypeError} `options` is not an object, `label` is not a string, `onCancel` is not a
   * function, or an option is unknown.
   *
   * @example A producer that honours cancels
   * ```ts
   * import { Future } from "@troupe/troupe/patterns";
   * import { equal, rejects } from "node:assert/strict";
   *
   * const abort = new AbortController();
   * const controller = Future.create<string>({
   *   label: "download",
   *   onCancel: (status) => {
   *     if (status === "running") abort.abort();
   *   },
   * });
   * abort.signal.addEventListener("abort", () => controller.cancelled(abort.signal.reason));
   * controller.start();
   *
   * equal(controller.future.cancel(), true);
   * equal(controller.future.status, "cancelled");
   * await rejects(controller.future, { name: "CancelledError", message: "download was cancelled" });
   * ```
   */
  static create<T>(options?: FutureOptions): FutureController<T> {
    const { label, onCancel } = parseFutureOptions(options);
    const future = new Future<T>(label, onCancel);
    return Object.freeze({
      future,
      start: () => future.#start(),
      resolve: (value: T) => future.#settle("done", value),
      reject: (error: unknown) => future.#settle("failed", undefined, error),
      cancelled: (reason?: unknown) => future.#settle("cancelled", undefined, reason),
    });
  }

  /**
   * Wraps a value as a future. A future is returned as it is. A promise (any thenable) becomes a
   * `"running"` future that settles when the promise does; wrapping the same promise again returns
   * the same future, so `Future.from(promise)` finds the wrapper that {@linkcode wait} or
   * {@linkcode asCompleted} returned for it. Cancelling the wrapper settles it as `"cancelled"` at
   * once and ignores the promise's outcome (the promise itself cannot be stopped). Any other value
   * becomes a new future that is already `"done"`.
   *
   * @typeParam T The type of the value, or of the promise's value.
   * @param value A future, a promise, or a plain value.
   * @returns The future of `value`.
   *
   * @example One promise, one wrapper
   * ```ts
   * import { Future } from "@troupe/troupe/patterns";
   * import { equal } from "node:assert/strict";
   *
   * const promise = Promise.resolve("hi");
   * const future = Future.from(promise);
   * equal(Future.from(promise), future);
   * equal(future.status, "running"); // a promise settles in a later microtask
   * equal(await future, "hi");
   * equal(future.status, "done");
   * equal(Future.from(7).status, "done");
   * ```
   */
  static from<T>(value: T | PromiseLike<T>): Future<Awaited<T>> {
    if (value instanceof Future) return value;
    if (isThenable(value)) {
      const known = wrappers.get(value);
      if (known !== undefined) return known as Future<Awaited<T>>;
      const controller: FutureController<Awaited<T>> = Future.create<Awaited<T>>({
        label: "promise",
        onCancel: () => controller.cancelled(),
      });
      controller.start();
      wrappers.set(value, controller.future);
      Promise.resolve(value).then(controller.resolve, controller.reject);
      return controller.future;
    }
    const { future, resolve } = Future.create<Awaited<T>>();
    resolve(value as Awaited<T>);
    return future;
  }

  /**
   * Where the future is: `"pending"`, `"running"`, `"done"`, `"failed"` or `"cancelled"`. A running
   * future whose cancel was requested stays `"running"` until its producer confirms.
   *
   * @returns The future's status.
   */
  get status(): FutureStatus {
    return this.#status;
  }

  /**
   * The label given to {@linkcode Future.create}: the name used in the future's error messages.
   *
   * @returns The future's label.
   */
  get label(): string {
    return this.#label;
  }

  /**
   * Makes the future awaitable: it fulfils with the value of a done future and rejects with the error
   * of a failed one, or with a `CancelledError` when the future was cancelled.
   *
   * @typeParam A What `onfulfilled` returns.
   * @typeParam B What `onrejected` returns.
   * @param onfulfilled Called with the value.
   * @param onrejected Called with the error.
   * @returns A promise of what the called handler returns.
   *
   * @example Awaiting a cancelled future
   * ```ts
   * import { Future } from "@troupe/troupe/patterns";
   * import { rejects } from "node:assert/strict";
   *
   * const { future } = Future.create<number>({ label: "task 1" });
   * future.cancel();
   * await rejects(future, { name: "CancelledError", message: "task 1 was cancelled" });
   * ```
   */
  then<A = T, B = never>(
    onfulfilled?: ((value: T) => A | PromiseLike<A>) | null,
    onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    return this.#settled().then(onfulfilled, onrejected);
  }

  /**
   * Handles the future's error, as `Promise.prototype.catch`. A cancelled future's error is a
   * `CancelledError`.
   *
   * @typeParam B What `onrejected` returns.
   * @param onrejected Called with the error.
   * @returns A promise of the value, or of what `onrejected` returns.
   *
   * @example A fallback value
   * ```ts
   * import { Future } from "@troupe/troupe/patterns";
   * import { equal } from "node:assert/strict";
   *
   * const { future, reject } = Future.create<number>();
   * reject(new Error("boom"));
   * equal(await future.catch(() => -1), -1);
   * ```
   */
  catch<B = never>(onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null): Promise<T | B> {
    return this.#settled().catch(onrejected);
  }

  /**
   * Runs `onfinally` once the future settles, as `Promise.prototype.finally`.
   *
   * @param onfinally Called with no argument once the future settles.
   * @returns A promise that settles as the future does (or rejects if `onfinally` throws).
   *
   * @example Cleaning up
   * ```ts
   * import { Future } from "@troupe/troupe/patterns";
   * import { equal } from "node:assert/strict";
   *
   * let cleaned = false;
   * const { future, resolve } = Future.create<number>();
   * resolve(1);
   * equal(await future.finally(() => cleaned = true), 1);
   * equal(cleaned, true);
   * ```
   */
  finally(onfinally?: (() => void) | null): Promise<T> {
    return this.#settled().finally(onfinally);
  }

  /** `"Future"`, for `Object.prototype.toString`. */
  get [Symbol.toStringTag](): string {
    return "Future";
  }

  /**
   * Waits for the future's value, as Python's `Future.result(timeout)`.
   *
   * @param options How long to wait, and a signal to stop waiting.
   * @returns A promise of the value. Its timer is cleared and its abort listener removed when it
   * settles.
   * @throws {TypeError} (rejects) `options` is not an object, has an unknown key, `timeoutMs` is not a
   * number, or `signal` is not an `AbortSignal`.
   * @throws {RangeError} (rejects) `timeoutMs` is negative or `NaN`.
   * @throws {TimeoutError} (rejects) The future has not settled within `timeoutMs`; it keeps going.
   * @throws {CancelledError} (rejects) The future was cancelled.
   * @throws (rejects) The error of a failed future, or `signal.reason` when the signal aborts first.
   *
   * @example Waiting with a timeout
   * ```ts
   * import { Future } from "@troupe/troupe/patterns";
   * import { TimeoutError } from "@troupe/troupe/errors";
   * import { equal, rejects } from "node:assert/strict";
   *
   * const { future, resolve } = Future.create<number>({ label: "task 3 (square)" });
   * await rejects(future.result({ timeoutMs: 10 }), {
   *   name: "TimeoutError",
   *   message: "Timed out after 10 ms waiting for task 3 (square)",
   * });
   * equal(future.status, "pending"); // the future keeps going
   * resolve(9);
   * equal(await future.result({ timeoutMs: 10 }), 9);
   * equal(new TimeoutError("x", 1).name, "TimeoutError");
   * ```
   */
  result(options?: ResultOptions): Promise<T> {
    return this.#whenSettled(options, "get the result of").then(() => this.#settled());
  }

  /**
   * Waits for the future to settle and gives its error, as Python's `Future.exception(timeout)`:
   * `undefined` when it is done, the error when it failed (a thrown value that is not an `Error` is
   * wrapped in one, with the value as `cause`).
   *
   * @param options How long to wait, and a signal to stop waiting.
   * @returns A promise of the error, or of `undefined`.
   * @throws {TypeError} (rejects) `options` is not an object, has an unknown key, `timeoutMs` is not a
   * number, or `signal` is not an `AbortSignal`.
   * @throws {RangeError} (rejects) `timeoutMs` is negative or `NaN`.
   * @throws {TimeoutError} (rejects) The future has not settled within `timeoutMs`.
   * @throws {CancelledError} (rejects) The future was cancelled (as in Python).
   * @throws (rejects) `signal.reason` when the signal aborts first.
   *
   * @example Telling results from errors, as seed 003 does
   * ```ts
   * import { Future } from "@troupe/troupe/patterns";
   * import { equal } from "node:assert/strict";
   *
   * const good = Future.create<number>();
   * const bad = Future.create<number>();
   * good.resolve(4);
   * bad.reject(new Error("Bad luck!"));
   * equal(await good.future.exception(), undefined);
   * equal((await bad.future.exception())?.message, "Bad luck!");
   * ```
   */
  exception(options?: ResultOptions): Promise<Error | undefined> {
    return this.#whenSettled(options, "get the exception of").then(() => {
      if (this.#status === "done") return undefined;
      if (this.#status === "cancelled") throw this.#error;
      const error = this.#error;
      if (error instanceof Error) return error;
      return new Error(
        `${this.#label} failed with a value that is not an Error: ${describe(error)}`,
        {
          cause: error,
        },
      );
    });
  }

  /**
   * Cancels the future. A pending future is cancelled at once (its producer's `onCancel("pending")`
   * drops it from its queue). A running future has its producer told (`onCancel("running")`) and
   * settles as `"cancelled"` as soon as the producer confirms or the work ends, whatever its outcome:
   * the caller asked for a cancel. A settled future is left as it is.
   *
   * @returns `true` if the future is (or will be) cancelled; `false` if it had already settled.
   *
   * @example Cancelling in each state
   * ```ts
   * import { Future } from "@troupe/troupe/patterns";
   * import { deepEqual, equal } from "node:assert/strict";
   *
   * const told: string[] = [];
   * const queued = Future.create<number>({ onCancel: (status) => told.push(status) });
   * equal(queued.future.cancel(), true);
   * equal(queued.future.status, "cancelled");
   *
   * const running = Future.create<number>({ onCancel: (status) => told.push(status) });
   * running.start();
   * equal(running.future.cancel(), true);
   * equal(running.future.status, "running"); // until the producer confirms
   * running.resolve(1); // the work ended anyway: it still reads as cancelled
   * equal(running.future.status, "cancelled");
   *
   * equal(running.future.cancel(), false);
   * deepEqual(told, ["pending", "running"]);
   * ```
   */
  cancel(): boolean {
    if (this.#status === "pending") {
      const onCancel = this.#onCancel;
      this.#settle("cancelled");
      if (onCancel !== undefined) this.#tellProducer(onCancel, "pending");
      return true;
    }
    if (this.#status !== "running") return false;
    if (!this.#cancelRequested) {
      this.#cancelRequested = true;
      const onCancel = this.#onCancel;
      if (onCancel !== undefined) this.#tellProducer(onCancel, "running");
    }
    return true;
  }

  /**
   * Calls `fn` with the future once it settles (done, failed or cancelled), in a microtask; at once,
   * in a microtask, if it already has. Callbacks run in the order they were added. One that throws
   * is reported with `console.error` (as Python logs it) and the others still run.
   *
   * @param fn The callback.
   * @throws {TypeError} `fn` is not a function.
   *
   * @example Collecting results with a callback, as `apply_async(callback=…)`
   * ```ts
   * import { Future } from "@troupe/troupe/patterns";
   * import { equal } from "node:assert/strict";
   *
   * const { future, resolve } = Future.create<number>({ label: "task 1" });
   * const seen = new Promise<string>((told) => {
   *   future.addDoneCallback((f) => told(`${f.label}: ${f.status}`));
   * });
   * resolve(4);
   * equal(await seen, "task 1: done");
   * ```
   */
  addDoneCallback(fn: (future: Future<T>) => void): void {
    if (typeof fn !== "function") {
      throw new TypeError(
        `Cannot add a done callback to ${this.#label}: callback must be a function, received ${
          describe(fn)
        }`,
      );
    }
    if (SETTLED.has(this.#status)) queueMicrotask(() => this.#callBack(fn));
    else (this.#callbacks ??= []).push(() => this.#callBack(fn));
  }

  /** A promise that settles as the future does, made once and only when asked for. */
  #settled(): Promise<T> {
    if (this.#promise !== undefined) return this.#promise;
    if (this.#status === "done") this.#promise = Promise.resolve(this.#value as T);
    else if (this.#status === "failed" || this.#status === "cancelled") {
      this.#promise = Promise.reject(this.#error);
    } else {
      this.#promise = new Promise<T>((resolve, reject) => {
        this.#settlePromise = { resolve, reject };
      });
    }
    return this.#promise;
  }

  /** Resolves once the future has settled; rejects on a timeout, an abort or bad options. */
  #whenSettled(options: ResultOptions | undefined, operation: string): Promise<void> {
    let timeoutMs: number;
    let signal: AbortSignal | undefined;
    try {
      ({ timeoutMs, signal } = parseOptions(options, `Cannot ${operation} ${this.#label}`, {
        timeoutMs: true,
        signal: true,
      }));
    } catch (error) {
      return Promise.reject(error);
    }
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (SETTLED.has(this.#status)) return Promise.resolve();
    if (timeoutMs === 0) return Promise.reject(new TimeoutError(this.#label, 0));
    return new Promise<void>((resolve, reject) => {
      const finish = () => {
        unsubscribe();
        stopTimer?.();
        signal?.removeEventListener("abort", onAbort);
      };
      const onAbort = () => {
        finish();
        reject(signal!.reason);
      };
      const unsubscribe = this.#subscribe(() => {
        finish();
        resolve();
      });
      const stopTimer = timeoutMs === Infinity ? undefined : startTimer(timeoutMs, () => {
        finish();
        reject(new TimeoutError(this.#label, timeoutMs));
      });
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  #start(): boolean {
    if (this.#status === "pending") {
      this.#status = "running";
      return true;
    }
    if (this.#status === "running") {
      throw new Error(`Cannot start ${this.#label}: it is already running`);
    }
    return false;
  }

  #settle(kind: "done" | "failed" | "cancelled", value?: T, error?: unknown): void {
    if (SETTLED.has(this.#status)) return;
    if (kind === "cancelled" || this.#cancelRequested) {
      this.#status = "cancelled";
      const cause = kind === "done" ? undefined : error;
      this.#error = new CancelledError(this.#label, cause === undefined ? undefined : { cause });
    } else if (kind === "done") {
      this.#status = "done";
      this.#value = value;
    } else {
      this.#status = "failed";
      this.#error = error;
    }
    this.#onCancel = undefined;

    const listeners = this.#listeners;
    this.#listeners = undefined;
    if (listeners !== undefined) { for (const listener of listeners) listener(); }

    const settlePromise = this.#settlePromise;
    this.#settlePromise = undefined;
    if (settlePromise !== undefined) {
      if (this.#status === "done") settlePromise.resolve(this.#value as T);
      else settlePromise.reject(this.#error);
    }

    const callbacks = this.#callbacks;
    this.#callbacks = undefined;
    if (callbacks !== undefined) {
      queueMicrotask(() => {
        for (const callback of callbacks) callback();
      });
    }
  }

  #subscribe(listener: () => void): () => void {
    const listeners = this.#listeners ??= new Set();
    listeners.add(listener);
    return () => listeners.delete(listener);
  }

  #callBack(fn: (future: Future<T>) => void): void {
    try {
      fn(this);
    } catch (error) {
      console.error(`Exception in a done callback of ${this.#label}:`, error);
    }
  }

  #tellProducer(
    onCancel: (status: "pending" | "running") => void,
    status: "pending" | "running",
  ): void {
    try {
      onCancel(status);
    } catch (error) {
      console.error(`Exception in the onCancel of ${this.#label}:`, error);
    }
  }
}

/**
 * Yields each future as it settles (done, failed or cancelled), in the order they settle, as
 * Python's `concurrent.futures.as_completed`. Futures that settled before the call come first, in
 * input order. A future given twice is yielded once. Plain promises and values are wrapped with
 * {@linkcode Future.from}: the iteration yields the wrappers, and `Future.from(promise)` finds the
 * wrapper of a promise.
 *
 * Settled futures are yielded, not awaited: `await` each one for its value (or its error). Note
 * that TypeScript types the variable of a `for await` loop as the *awaited* type of what the
 * iterator yields (it assumes async iterators never yield promises), so in
 * `for await (const future of asCompleted(futures))` the variable is typed `T` although it holds a
 * `Future<T>`: `await future` is typed and works as expected, but to call `status`, `exception()` or
 * `cancel()` on it, or to keep it, take it typed with `Future.from(future)` (which returns a future
 * as it is), or call `next()` yourself.
 *
 * Leaving the loop early (`break`, `return`, a throw) leaves no timer, abort listener or
 * subscription behind; the futures themselves keep going.
 *
 * @typeParam T The futures, promises or values given.
 * @param futures Futures, promises or plain values.
 * @param options A total timeout, counted from the call, and a signal to stop.
 * @returns An async iterator of the futures in completion order.
 * @throws {TypeError} `futures` is not iterable, `options` is not an object or has an unknown key,
 * `timeoutMs` is not a number, or `signal` is not an `AbortSignal`.
 * @throws {RangeError} `timeoutMs` is negative or `NaN`.
 * @throws {TimeoutError} (from the iteration) Some futures have not settled within `timeoutMs`:
 * "Timed out after 100 ms waiting for futures to complete".
 * @throws (from the iteration) `signal.reason` when the signal aborts.
 *
 * @example Results and errors in completion order, as seed 003 does
 * ```ts
 * import { asCompleted, Future } from "@troupe/troupe/patterns";
 * import { deepEqual } from "node:assert/strict";
 *
 * const tasks = [1, 2, 3].map(() => Future.create<number>());
 * setTimeout(() => tasks[2].resolve(9), 5);
 * setTimeout(() => tasks[0].reject(new Error("Bad luck!")), 10);
 * setTimeout(() => tasks[1].resolve(4), 15);
 *
 * const seen: string[] = [];
 * for await (const done of asCompleted(tasks.map((task) => task.future))) {
 *   const future = Future.from(done); // typed as the Future it is
 *   const error = await future.exception();
 *   seen.push(error === undefined ? `Result: ${await future}` : `Exception: ${error.message}`);
 * }
 * deepEqual(seen, ["Result: 9", "Exception: Bad luck!", "Result: 4"]);
 * ```
 *
 * @example A total timeout
 * ```ts
 * import { asCompleted, Future } from "@troupe/troupe/patterns";
 * import { deepEqual, rejects } from "node:assert/strict";
 *
 * const fast = Future.from(Promise.resolve("fast"));
 * const never = Future.create<string>().future;
 * const seen: string[] = [];
 * await rejects(async () => {
 *   for await (const future of asCompleted([fast, never], { timeoutMs: 20 })) {
 *     seen.push(await future);
 *   }
 * }, { name: "TimeoutError", message: "Timed out after 20 ms waiting for futures to complete" });
 * deepEqual(seen, ["fast"]);
 * ```
 */
export function asCompleted<T>(
  futures: Iterable<T>,
  options?: AsCompletedOptions,
): AsyncIterableIterator<Future<Awaited<T>>> {
  const what = "Cannot iterate futures as completed";
  const { timeoutMs, signal } = parseOptions(options, what, { timeoutMs: true, signal: true });
  return new AsCompleted(toFutures<T>(futures, what), timeoutMs, signal);
}

interface Waiter<T> {
  resolve(result: IteratorResult<Future<T>, undefined>): void;
  reject(error: unknown): void;
}

/** The iterator behind {@linkcode asCompleted}. */
class AsCompleted<T> implements AsyncIterableIterator<Future<T>> {
  readonly #deadline: number;
  readonly #timeoutMs: number;
  readonly #signal: AbortSignal | undefined;
  /** The futures not settled yet, with their unsubscribe functions. */
  readonly #unsettled = new Map<Future<T>, () => void>();
  /** Settled futures that no `next()` has taken yet. */
  #ready: Future<T>[] = [];
  /** `next()` calls waiting for a future to settle. */
  #waiters: Waiter<T>[] = [];
  #stopTimer: (() => void) | undefined;
  #listening = false;
  #finished = false;

  constructor(futures: Future<T>[], timeoutMs: number, signal: AbortSignal | undefined) {
    this.#timeoutMs = timeoutMs;
    this.#deadline = performance.now() + timeoutMs;
    this.#signal = signal;
    for (const future of futures) {
      if (SETTLED.has(future.status)) this.#ready.push(future);
      else {
        const unsubscribe = subscribe(future as Future<unknown>, () => this.#settled(future));
        this.#unsettled.set(future, unsubscribe);
      }
    }
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<Future<T>, undefined>> {
    if (this.#finished) return Promise.resolve({ done: true, value: undefined });
    if (this.#signal?.aborted) {
      const reason = this.#signal.reason;
      this.#fail(reason);
      return Promise.reject(reason);
    }
    const future = this.#ready.shift();
    if (future !== undefined) return Promise.resolve({ done: false, value: future });
    if (this.#unsettled.size === 0) {
      this.#finish();
      return Promise.resolve({ done: true, value: undefined });
    }
    const left = this.#deadline - performance.now();
    if (!(left > 0)) {
      const error = new TimeoutError("futures to complete", this.#timeoutMs);
      this.#fail(error);
      return Promise.reject(error);
    }
    return new Promise((resolve, reject) => {
      this.#waiters.push({ resolve, reject });
      if (this.#waiters.length > 1) return;
      if (left !== Infinity) {
        this.#stopTimer = startTimer(left, () => {
          this.#stopTimer = undefined;
          this.#fail(new TimeoutError("futures to complete", this.#timeoutMs));
        });
      }
      if (this.#signal !== undefined) {
        this.#signal.addEventListener("abort", this.#onAbort, { once: true });
        this.#listening = true;
      }
    });
  }

  return(): Promise<IteratorResult<Future<T>, undefined>> {
    this.#finish();
    return Promise.resolve({ done: true, value: undefined });
  }

  #onAbort = (): void => {
    this.#fail(this.#signal!.reason);
  };

  #settled(future: Future<T>): void {
    this.#unsettled.delete(future);
    const waiter = this.#waiters.shift();
    if (waiter !== undefined) waiter.resolve({ done: false, value: future });
    else this.#ready.push(future);
    if (this.#unsettled.size === 0 && this.#ready.length === 0) this.#finish();
    else if (this.#waiters.length === 0) this.#stopWaiting();
  }

  /** Rejects every waiting `next()` with `error` and ends the iteration. */
  #fail(error: unknown): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    this.#finish();
    for (const waiter of waiters) waiter.reject(error);
  }

  /** Ends the iteration: drops every subscription, the timer and the abort listener. */
  #finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    for (const unsubscribe of this.#unsettled.values()) unsubscribe();
    this.#unsettled.clear();
    this.#ready = [];
    this.#stopWaiting();
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiters) waiter.resolve({ done: true, value: undefined });
  }

  #stopWaiting(): void {
    this.#stopTimer?.();
    this.#stopTimer = undefined;
    if (this.#listening) {
      this.#signal!.removeEventListener("abort", this.#onAbort);
      this.#listening = false;
    }
  }
}

/**
 * Waits for futures and splits them into those that settled and those that did not, as Python's
 * `concurrent.futures.wait` and `asyncio.wait`. It returns when `returnWhen` is met or `timeoutMs`
 * passes, and never throws on a timeout. An empty input returns at once. Plain promises and values
 * are wrapped with {@linkcode Future.from}: the sets hold the wrappers, and `Future.from(promise)`
 * finds the wrapper of a promise.
 *
 * @typeParam T The futures, promises or values given.
 * @param futures Futures, promises or plain values; one given twice counts once.
 * @param options When to return, a timeout, and a signal to stop waiting.
 * @returns A promise of the `done` and `pending` sets. Its timer is cleared and its abort listener
 * removed when it settles.
 * @throws {TypeError} (rejects) `futures` is not iterable, `options` is not an object or has an
 * unknown key, `timeoutMs` is not a number, `returnWhen` is not one of the three, or `signal` is not
 * an `AbortSignal`.
 * @throws {RangeError} (rejects) `timeoutMs` is negative or `NaN`.
 * @throws (rejects) `signal.reason` when the signal aborts first.
 *
 * @example Seed 000: tasks of 1 to 5 s, a timeout of 3 s (scaled down to ms)
 * ```ts
 * import { Future, wait } from "@troupe/troupe/patterns";
 * import { equal } from "node:assert/strict";
 *
 * const sleep = (ms: number) => new Promise<number>((resolve) => setTimeout(() => resolve(ms), ms));
 * const slow = [10, 20, 30, 40, 50].map(sleep);
 * const { done, pending } = await wait(slow, { timeoutMs: 35 });
 * equal(done.size, 3);
 * equal(pending.size, 2);
 * equal(done.has(Future.from(slow[0])), true);
 * await Promise.all(slow); // let the rest finish
 * ```
 *
 * @example Returning at the first failure
 * ```ts
 * import { Future, wait } from "@troupe/troupe/patterns";
 * import { deepEqual } from "node:assert/strict";
 *
 * const [a, b, c] = ["a", "b", "c"].map((label) => Future.create<number>({ label }));
 * a.resolve(1);
 * setTimeout(() => b.reject(new Error("boom")), 5);
 * const { done, pending } = await wait([a.future, b.future, c.future], {
 *   returnWhen: "first_exception",
 * });
 * deepEqual([...done].map((future) => future.label), ["a", "b"]);
 * deepEqual([...pending].map((future) => future.label), ["c"]);
 * ```
 */
export function wait<T>(
  futures: Iterable<T>,
  options?: WaitOptions,
): Promise<WaitResult<Awaited<T>>> {
  let all: Future<Awaited<T>>[];
  let timeoutMs: number;
  let returnWhen: ReturnWhen;
  let signal: AbortSignal | undefined;
  try {
    ({ timeoutMs, returnWhen, signal } = parseOptions(options, "Cannot wait", {
      timeoutMs: true,
      returnWhen: true,
      signal: true,
    }));
    all = toFutures<T>(futures, "Cannot wait");
  } catch (error) {
    return Promise.reject(error);
  }
  if (signal?.aborted) return Promise.reject(signal.reason);
  const done = new Set<Future<Awaited<T>>>();
  const pending = new Set<Future<Awaited<T>>>();
  let failed = false;
  for (const future of all) {
    if (SETTLED.has(future.status)) {
      done.add(future);
      if (future.status === "failed") failed = true;
    } else pending.add(future);
  }
  const met = () =>
    pending.size === 0 || (returnWhen === "first_completed" && done.size > 0) ||
    (returnWhen === "first_exception" && failed);
  if (met() || timeoutMs === 0) return Promise.resolve({ done, pending });

  return new Promise((resolve, reject) => {
    const unsubscribes: (() => void)[] = [];
    const finish = () => {
      for (const unsubscribe of unsubscribes) unsubscribe();
      stopTimer?.();
      signal?.removeEventListener("abort", onAbort);
    };
    const onAbort = () => {
      finish();
      reject(signal!.reason);
    };
    for (const future of pending) {
      unsubscribes.push(subscribe(future as Future<unknown>, () => {
        pending.delete(future);
        done.add(future);
        if (future.status === "failed") failed = true;
        if (!met()) return;
        finish();
        resolve({ done, pending });
      }));
    }
    const stopTimer = timeoutMs === Infinity ? undefined : startTimer(timeoutMs, () => {
      finish();
      resolve({ done, pending });
    });
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Waits for every future and resolves with their values in input order, as `asyncio.gather`:
 * rejects with the first error as soon as one fails (the others keep going). A cancelled future
 * rejects with a `CancelledError`. Plain promises and values may be mixed in.
 *
 * @typeParam T The futures, promises or values given, as a tuple.
 * @param futures Futures, promises or plain values.
 * @param options `{ settle: true }` for results and errors instead.
 * @returns A promise of the values, in input order.
 * @throws {TypeError} (rejects) `futures` is not an array, or `options` is not an object, has an
 * unknown key or a `settle` that is not a boolean.
 * @throws (rejects) The first error of a future that failed, or a `CancelledError`.
 *
 * @example Values in input order, whatever order they finish in
 * ```ts
 * import { Future, gather } from "@troupe/troupe/patterns";
 * import { deepEqual } from "node:assert/strict";
 *
 * const slow = Future.create<number>();
 * setTimeout(() => slow.resolve(1), 10);
 * const [a, b, c] = await gather([slow.future, Promise.resolve("two"), 3]);
 * deepEqual([a, b, c], [1, "two", 3]);
 * ```
 */
export function gather<const T extends readonly unknown[] | []>(
  futures: T,
  options?: GatherOptions & { settle?: false },
): Promise<{ -readonly [K in keyof T]: Awaited<T[K]> }>;
/**
 * Waits for every future and resolves with a `PromiseSettledResult` per input, in input order, as
 * `asyncio.gather(..., return_exceptions=True)`: it never rejects. A cancelled future is `rejected`
 * with a `CancelledError`.
 *
 * @typeParam T The futures, promises or values given, as a tuple.
 * @param futures Futures, promises or plain values.
 * @param options `{ settle: true }`.
 * @returns A promise of the settled results, in input order.
 * @throws {TypeError} (rejects) `futures` is not an array, or `options` is not an object, has an
 * unknown key or a `settle` that is not a boolean.
 *
 * @example Results and errors together
 * ```ts
 * import { Future, gather } from "@troupe/troupe/patterns";
 * import { deepEqual, equal } from "node:assert/strict";
 *
 * const cancelled = Future.create<number>();
 * cancelled.future.cancel();
 * const results = await gather([Promise.resolve(1), Promise.reject(new Error("no")), cancelled.future], {
 *   settle: true,
 * });
 * deepEqual(results.map((r) => r.status), ["fulfilled", "rejected", "rejected"]);
 * equal(results[2].status === "rejected" && results[2].reason.name, "CancelledError");
 * ```
 */
export function gather<const T extends readonly unknown[] | []>(
  futures: T,
  options: GatherOptions & { settle: true },
): Promise<{ -readonly [K in keyof T]: PromiseSettledResult<Awaited<T[K]>> }>;
export function gather(futures: readonly unknown[], options?: GatherOptions): Promise<unknown[]> {
  let settle: boolean;
  try {
    if (!Array.isArray(futures)) {
      throw new TypeError(`Cannot gather: futures must be an array, received ${describe(futures)}`);
    }
    ({ settle } = parseOptions(options, "Cannot gather", { settle: true }));
  } catch (error) {
    return Promise.reject(error);
  }
  return settle ? Promise.allSettled(futures) : Promise.all(futures);
}

/** Wraps every item with `Future.from`, dropping repeats, keeping the first position. */
function toFutures<T>(futures: Iterable<T>, what: string): Future<Awaited<T>>[] {
  if (
    futures === null || futures === undefined ||
    typeof (futures as Partial<Iterable<T>>)[Symbol.iterator] !== "function"
  ) {
    throw new TypeError(`${what}: futures must be iterable, received ${describe(futures)}`);
  }
  const unique = new Set<Future<Awaited<T>>>();
  for (const item of futures) unique.add(Future.from(item) as Future<Awaited<T>>);
  return [...unique];
}

/** Calls `fire` after `ms` milliseconds, in steps when that is longer than `setTimeout` takes. */
function startTimer(ms: number, fire: () => void): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const arm = (left: number) => {
    const delay = Math.min(left, MAX_TIMER_MS);
    timer = setTimeout(() => {
      timer = undefined;
      if (left > delay) arm(left - delay);
      else fire();
    }, delay);
  };
  arm(ms);
  return () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
  };
}

interface ParsedOptions {
  timeoutMs: number;
  signal: AbortSignal | undefined;
  returnWhen: ReturnWhen;
  settle: boolean;
}

/**
 * Validates the options of a wait: an object (or `undefined`) with only the `allowed` keys, each of
 * its type. Returns them with their defaults.
 */
function parseOptions(
  options: unknown,
  what: string,
  allowed: Partial<Record<keyof ParsedOptions, true>>,
): ParsedOptions {
  const parsed: ParsedOptions = {
    timeoutMs: Infinity,
    signal: undefined,
    returnWhen: "all_completed",
    settle: false,
  };
  if (options === undefined) return parsed;
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new TypeError(`${what}: options must be an object, received ${describe(options)}`);
  }
  const unknown = Object.keys(options).filter((key) => !Object.hasOwn(allowed, key));
  if (unknown.length > 0) {
    throw new TypeError(
      `${what}: unknown option ${unknown.map((key) => JSON.stringify(key)).join(", ")}`,
    );
  }
  const { timeoutMs, signal, returnWhen, settle } = options as Partial<ParsedOptions>;
  if (timeoutMs !== undefined) {
    if (typeof timeoutMs !== "number") {
      throw new TypeError(`${what}: timeoutMs must be a number, received ${describe(timeoutMs)}`);
    }
    if (!(timeoutMs >= 0)) {
      throw new RangeError(
        `${what}: timeoutMs must be a non-negative number or Infinity, received ${timeoutMs}`,
      );
    }
    parsed.timeoutMs = timeoutMs;
  }
  if (signal !== undefined) {
    if (!(signal instanceof AbortSignal)) {
      throw new TypeError(`${what}: signal must be an AbortSignal, received ${describe(signal)}`);
    }
    parsed.signal = signal;
  }
  if (returnWhen !== undefined) {
    if (!RETURN_WHEN.includes(returnWhen)) {
      throw new TypeError(
        `${what}: returnWhen must be one of ${
          RETURN_WHEN.map((value) => JSON.stringify(value)).join(", ")
        }, received ${describe(returnWhen)}`,
      );
    }
    parsed.returnWhen = returnWhen;
  }
  if (settle !== undefined) {
    if (typeof settle !== "boolean") {
      throw new TypeError(`${what}: settle must be a boolean, received ${describe(settle)}`);
    }
    parsed.settle = settle;
  }
  return parsed;
}

function parseFutureOptions(
  options: unknown,
): { label: string; onCancel: FutureOptions["onCancel"] } {
  const what = "Cannot create a future";
  if (options === undefined) return { label: "future", onCancel: undefined };
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new TypeError(`${what}: options must be an object, received ${describe(options)}`);
  }
  const unknown = Object.keys(options).filter((key) => key !== "label" && key !== "onCancel");
  if (unknown.length > 0) {
    throw new TypeError(
      `${what}: unknown option ${unknown.map((key) => JSON.stringify(key)).join(", ")}`,
    );
  }
  const { label = "future", onCancel } = options as FutureOptions;
  if (typeof label !== "string") {
    throw new TypeError(`${what}: label must be a string, received ${describe(label)}`);
  }
  if (onCancel !== undefined && typeof onCancel !== "function") {
    throw new TypeError(`${what}: onCancel must be a function, received ${describe(onCancel)}`);
  }
  return { label, onCancel };
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === "object" && value !== null || typeof value === "function") &&
    typeof (value as { then?: unknown }).then === "function";
}
