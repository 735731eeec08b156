/**
 * What a pool task can ask about itself while it runs: `taskSignal()`, the signal that aborts when
 * the task is cancelled or times out.
 *
 * @example
 * ```ts
 * import { taskSignal } from "@troupe/troupe/patterns";
 * import { equal } from "node:assert/strict";
 *
 * equal(taskSignal().aborted, false); // outside a task: a signal that never aborts
 * ```
 *
 * @module
 */

import { running } from "./_task_context.ts";

/**
 * The abort signal of the pool task running on this thread: it aborts when the task is cancelled
 * or passes its `taskTimeoutMs`. Call it synchronously at the start of a task function (it is the
 * signal of whichever task runs at the time of the call).
 *
 * @returns The running task's signal; outside a pool task, a signal that never aborts.
 *
 * @example
 * ```ts
 * import { taskSignal } from "@troupe/troupe/patterns";
 * import { equal } from "node:assert/strict";
 *
 * export async function slowly(ms: number): Promise<string> {
 *   const signal = taskSignal();
 *   await new Promise((resolve) => setTimeout(resolve, ms));
 *   return signal.aborted ? "cancelled" : "done";
 * }
 * equal(taskSignal().aborted, false);
 * ```
 */
export function taskSignal(): AbortSignal {
  const task = running.current;
  if (task === undefined) return NEVER;
  return (task.controller ??= new AbortController()).signal;
}

const NEVER = new AbortController().signal;
