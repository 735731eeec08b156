/**
 * What `future.ts` shares with `wait.ts` and the pool and with no one else: a synchronous
 * subscription to a future's settling, and a constructor that skips the options' validation. The
 * `Future` class fills `hooks` in when its module loads.
 *
 * @module
 */

import type { FutureController, FutureOptions, FutureStatus } from "./future.ts";

/** The statuses of a settled future. */
export const SETTLED: ReadonlySet<FutureStatus> = new Set(["done", "failed", "cancelled"]);

/** Set by `Future`'s static block. */
export const hooks = {} as {
  /** Tells `listener` (synchronously) when `future` settles; returns the unsubscribe function. */
  subscribe(future: PromiseLike<unknown>, listener: () => void): () => void;
  /** `Future.create` with options already known to be valid. */
  create<T>(label: string, onCancel: FutureOptions["onCancel"]): FutureController<T>;
};
