/**
 * The task functions the examples' pools run: a module of exported functions, imported by every
 * pool worker (`Pool.start<typeof import("./_tasks.ts")>(new URL("./_tasks.ts", import.meta.url))`).
 * Their arguments and results cross threads by structured clone; shared memory (a `SharedEvent`,
 * a `SharedQueue`, an `Int32Array` over a `SharedArrayBuffer`) crosses as shared memory.
 *
 * @module
 */

import { SharedEvent, SharedQueue } from "../mod.ts";
import { blockFor } from "./_common.ts";

/** The pool worker running this task: its actor path, such as `/pool-2`. */
export function whoAmI(): string {
  return (globalThis as { name?: string }).name ?? "main";
}

/** Blocks the worker for `ms` milliseconds (`time.sleep`) and returns `ms`. */
export function nap(ms: number): number {
  blockFor(ms);
  return ms;
}

/** Blocks the worker for `job.ms`, then returns `job.x` squared (seed 001's worker). */
export function napThenSquare(job: { x: number; ms: number }): number {
  blockFor(job.ms);
  return job.x * job.x;
}

/** Seed 004's long running process: blocks `ms`, then says who ran it. */
export function longJob(id: number, ms: number): { id: number; ms: number; worker: string } {
  blockFor(ms);
  return { id, ms, worker: whoAmI() };
}

/** What {@linkcode computeThenKeepWorking} receives. */
export interface KeepWorkingArgs {
  /** The input: the result is its square. */
  x: number;
  /** How long the calculation takes. */
  ms: number;
  /** How long each step of the work after the result takes. */
  stepMs: number;
  /** Where the result goes: slot 0. */
  cell: Int32Array<SharedArrayBuffer>;
  /** Set once the result is in `cell` (seed 000's `result_available`). */
  resultAvailable: unknown;
  /** Set by the caller to end the work that follows. */
  stop: unknown;
}

/**
 * Seed 000's thread with an event: calculates, publishes the result and sets `resultAvailable`,
 * then keeps working, one step at a time, until `stop` is set. Returns the steps after the result.
 */
export function computeThenKeepWorking(args: KeepWorkingArgs): number {
  const resultAvailable = SharedEvent.from(args.resultAvailable);
  const stop = SharedEvent.from(args.stop);
  blockFor(args.ms);
  Atomics.store(args.cell, 0, args.x * args.x);
  resultAvailable.set();
  let steps = 0;
  while (!stop.waitSync(args.stepMs)) steps++;
  return steps;
}

/** Seed 003's worker: fails with "Bad luck!" when `luck` is below 0.3, else squares `input`. */
export function luckyOrNot(
  job: { input: number; luck: number; ms: number },
): { worker: string; result: number } {
  blockFor(job.ms);
  if (job.luck < 0.3) throw new Error("Bad luck!");
  return { worker: whoAmI(), result: job.input * job.input };
}

/** A task of seed 004's queue: an id and a run time in units. */
export interface QueuedTask {
  id: number;
  units: number;
}

/** What a worker of seed 004's queue reports for each task. */
export interface ServedTask {
  worker: number;
  id: number;
  units: number;
}

/** What {@linkcode serveTasks} receives. */
export interface ServeArgs {
  /** The task queue, as structured clone delivers it. */
  tasks: unknown;
  /** Where each finished task is reported. */
  results: unknown;
  /** The event that keeps the worker serving: it stops once the event is cleared. */
  running: unknown;
  /** The worker's number, for the reports. */
  worker: number;
  /** How long one get waits before the worker looks at `running` again (the seed's 2 s). */
  pollMs: number;
  /** How long one unit of a task's run time is, in milliseconds. */
  unitMs: number;
}

/**
 * Seed 004's worker: while `running` is set, takes a task (waiting at most `pollMs`), works for its
 * run time and reports it. Returns how many tasks it served.
 */
export function serveTasks(args: ServeArgs): number {
  const tasks = SharedQueue.from<QueuedTask>(args.tasks);
  const results = SharedQueue.from<ServedTask>(args.results);
  const running = SharedEvent.from(args.running);
  let served = 0;
  while (running.isSet()) {
    let task: QueuedTask;
    try {
      task = tasks.getSync(args.pollMs);
    } catch (error) {
      if ((error as Error).name === "TimeoutError") continue; // the seed's `except Empty`
      throw error;
    }
    blockFor(task.units * args.unitMs);
    results.putSync({ worker: args.worker, id: task.id, units: task.units });
    served++;
  }
  return served;
}

/** Fetches `url` from the worker and returns the body (seed 002's `io_bounded_task`). */
export async function fetchText(url: string): Promise<string> {
  const response = await fetch(url);
  return await response.text();
}

/** The largest element of a chunk, by a plain loop: Python's built-in `max` in seed 002. */
export function maxOf(view: Float64Array): number {
  let max = -Infinity;
  for (let i = 0; i < view.length; i++) if (view[i] > max) max = view[i];
  return max;
}
