/**
 * The ways to wait for many futures: Python's `concurrent.futures.as_completed` and `wait`, and
 * `asyncio.gather`. Each takes futures, promises or plain values (wrapped with `Future.from`).
 *
 * Every wait takes a `timeoutMs` and a `signal`. Its timer is cleared and its abort listener removed
 * as soon as it settles.
 *
 * @example
 * ```ts
 * import { Future, gather } from "@troupe/troupe/patterns";
 * import { deepEqual } from "node:assert/strict";
 *
 * deepEqual(await gather([Future.from(Promise.resolve(1)), 2]), [1, 2]);
 * ```
 *
 * @module
 */

import { describe, longTimeout, parseOptions } from "../_util.ts";
import { TimeoutError } from "../errors.ts";
import { Future } from "./future.ts";
import { hooks, SETTLED } from "./_future_internal.ts";
import {
  asCompletedOptionsSchema,
  gatherOptionsSchema,
  waitOptionsSchema,
} from "./_future_options.ts";

/** When {@linkcode wait} returns, as in Python's `concurrent.futures.wait`. */
export type ReturnWhen = "all_completed" | "first_completed" | "first_exception";

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
  const { timeoutMs = Infinity, signal } = options === undefined
    ? {}
    : parseOptions(asCompletedOptionsSchema, options, what);
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
        const unsubscribe = hooks.subscribe(future, () => this.#settled(future));
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
        this.#stopTimer = longTimeout(left, () => {
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
    ({ timeoutMs = Infinity, returnWhen = "all_completed", signal } = options === undefined
      ? {}
      : parseOptions(waitOptionsSchema, options, "Cannot wait"));
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
      unsubscribes.push(hooks.subscribe(future, () => {
        pending.delete(future);
        done.add(future);
        if (future.status === "failed") failed = true;
        if (!met()) return;
        finish();
        resolve({ done, pending });
      }));
    }
    const stopTimer = timeoutMs === Infinity ? undefined : longTimeout(timeoutMs, () => {
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
    ({ settle = false } = options === undefined
      ? {}
      : parseOptions(gatherOptionsSchema, options, "Cannot gather"));
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
