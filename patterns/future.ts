/**
 * Futures: Python's `concurrent.futures.Future`, typed and awaitable. The ways to wait for many of
 * them (`asCompleted`, `wait`, `gather`) are in `wait.ts`.
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
 * wrapper for the same promise, so the futures that `wait` and `asCompleted`
 * hand back can be matched with the promises that went in.
 *
 * Every wait takes a `timeoutMs` and a `signal`. Its timer is cleared and its abort listener removed
 * as soon as it settles.
 *
 * @module
 */

import { describe, longTimeout, parseOptions } from "../_util.ts";
import { CancelledError, TimeoutError } from "../errors.ts";
import { hooks, SETTLED } from "./_future_internal.ts";
import { futureOptionsSchema, resultOptionsSchema } from "./_future_options.ts";

/**
 * Where a future is in its life: `"pending"` (not started), `"running"`, then one of the settled
 * states `"done"` (it has a value), `"failed"` (it has an error) or `"cancelled"`.
 */
export type FutureStatus = "pending" | "running" | "done" | "failed" | "cancelled";

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

/** The wrapper futures of promises, so that one promise always gets the same future. */
const wrappers = new WeakMap<object, Future<unknown>>();

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
    hooks.subscribe = (future, listener) => (future as Future<unknown>).#subscribe(listener);
    hooks.create = (label, onCancel) => Future.#create(label, onCancel);
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
    const { label = "future", onCancel } = options === undefined
      ? {}
      : parseOptions(futureOptionsSchema, options, "Cannot create a future");
    return Future.#create(label, onCancel);
  }

  static #create<T>(label: string, onCancel: FutureOptions["onCancel"]): FutureController<T> {
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
   * the same future, so `Future.from(promise)` finds the wrapper that `wait` or
   * `asCompleted` returned for it. Cancelling the wrapper settles it as `"cancelled"` at
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
      ({ timeoutMs = Infinity, signal } = options === undefined
        ? {}
        : parseOptions(resultOptionsSchema, options, `Cannot ${operation} ${this.#label}`));
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
      const stopTimer = timeoutMs === Infinity ? undefined : longTimeout(timeoutMs, () => {
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

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === "object" && value !== null || typeof value === "function") &&
    typeof (value as { then?: unknown }).then === "function";
}
