/**
 * The patterns of the seeds, typed and supervised: `Pool` (ordered and unordered map, `submit`,
 * parallel `reduce`), `Future` with `asCompleted`, `wait` and `gather`, shared typed arrays with
 * SIMD reduction kernels, and `mapReduce`.
 *
 * @example A future per task, in completion order
 * ```ts
 * import { asCompleted, Future } from "@troupe/troupe/patterns";
 * import { deepEqual } from "node:assert/strict";
 *
 * const slow = Future.from(new Promise<string>((resolve) => setTimeout(() => resolve("slow"), 20)));
 * const fast = Future.from(Promise.resolve("fast"));
 * const order: string[] = [];
 * for await (const done of asCompleted([slow, fast])) order.push(await done);
 * deepEqual(order, ["fast", "slow"]);
 * ```
 *
 * @module
 */

export {
  Future,
  type FutureController,
  type FutureOptions,
  type FutureStatus,
  type ResultOptions,
} from "./future.ts";
export {
  asCompleted,
  type AsCompletedOptions,
  gather,
  type GatherOptions,
  type ReturnWhen,
  wait,
  type WaitOptions,
  type WaitResult,
} from "./wait.ts";
export {
  type MapOptions,
  Pool,
  type PoolOptions,
  type PoolStats,
  type ReduceOptions,
  type Reducer,
  type TaskArgs,
  type TaskModule,
  type TaskName,
  type TaskResult,
} from "./pool.ts";
export { taskSignal } from "./task.ts";
export { mapReduce } from "./map_reduce.ts";
export {
  adoptWasmMemory,
  isShared,
  type NumericArray,
  type SharedArray,
  sharedArray,
  type SharedArrayConstructor,
  wasmMemoryOf,
} from "./shared_array.ts";
export { chunkRanges, type ReduceKind, reduceRange } from "./kernels.ts";
