/**
 * `mapReduce`: pyrallel's mapper/collector processor on a pool.
 *
 * @module
 */

import type { MapOptions, Pool, TaskArgs, TaskModule, TaskName, TaskResult } from "./pool.ts";

/**
 * Maps every item in the pool with the exported function `mapper` and hands each result to
 * `collector` on this thread as soon as it is ready (completion order), one at a time: pyrallel's
 * `ParallelProcessor(mapper, collector)`. A collector that returns a promise is awaited before the
 * next result, and items are pulled from `items` only as workers have room.
 *
 * @typeParam M The pool's task module.
 * @typeParam K The mapper's name.
 * @param pool The pool to map in.
 * @param mapper The exported function applied to each item.
 * @param items The items, pulled lazily.
 * @param collector Receives each result and the order it completed in.
 * @param options Chunk size and an abort signal, as for `pool.mapUnordered`.
 * @returns How many results were collected.
 * @throws The first mapper error, or what the collector throws.
 *
 * @example Word counts collected as they finish
 * ```ts
 * import { mapReduce, Pool } from "@troupe/troupe/patterns";
 * import { equal } from "node:assert/strict";
 *
 * const tasks = "data:application/javascript," +
 *   "export function words(line) { return line.split(/\\s+/).filter(Boolean).length; }";
 *
 * await using pool = await Pool.start<{ words: (line: string) => number }>(tasks, { size: 2 });
 * let total = 0;
 * await mapReduce(pool, "words", ["a b", "c d e", ""], (count) => {
 *   total += count;
 * });
 * equal(total, 5);
 * ```
 */
export async function mapReduce<M extends TaskModule, K extends TaskName<M>>(
  pool: Pool<M>,
  mapper: K,
  items: Iterable<TaskArgs<M, K>[0]> | AsyncIterable<TaskArgs<M, K>[0]>,
  collector: (result: TaskResult<M, K>, index: number) => void | Promise<void>,
  options?: MapOptions,
): Promise<number> {
  if (typeof collector !== "function") {
    throw new TypeError(`Cannot map "${mapper}": collector must be a function`);
  }
  let index = 0;
  for await (const result of pool.mapUnordered(mapper, items, options)) {
    await collector(result, index++);
  }
  return index;
}
