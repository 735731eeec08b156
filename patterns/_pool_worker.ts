/**
 * The actor behind every pool worker: it imports the pool's task module and runs its exported
 * functions, one task at a time in arrival order. A task's error is a result (the worker stays);
 * only the worker's death crashes it.
 *
 * A task can be cancelled through shared memory: the host writes the task's id into the slot
 * `id % CANCEL_SLOTS` of the worker's `cancels` array. A task not yet started is then skipped, and
 * a running one sees its `taskSignal()` (`task.ts`) abort.
 *
 * @module
 */

import { z } from "npm:zod@4.6.7";
import { whileLoading } from "../actors/_loading.ts";
import { ask, defineActor } from "../actors/define.ts";
import { serializeError } from "../mailbox/wire.ts";
import { revive as reviveShared } from "../mailbox/codec.ts";
import { reduceRange } from "./kernels.ts";
import { adoptWasmMemory } from "./shared_array.ts";
import { running as runningTask, type RunningTask } from "./_task_context.ts";

/** Slots in a worker's cancel array; more than the tasks a worker ever holds. */
export const CANCEL_SLOTS = 1024;

/** What the worker answers for a task: its value, its error, or that it was skipped. */
export type TaskOutcome =
  | { ok: true; value: unknown }
  | { ok: false; error: ReturnType<typeof serializeError> }
  | { ok: false; cancelled: true };

const outcome = z.custom<TaskOutcome>((value) => typeof value === "object" && value !== null);

type TaskFunction = (...args: unknown[]) => unknown;

interface WorkerState {
  readonly module: Record<string, unknown>;
  readonly cancels: Int32Array<SharedArrayBuffer>;
}

function lookup(state: WorkerState, fn: string): TaskFunction {
  const candidate = Object.hasOwn(state.module, fn) ? state.module[fn] : undefined;
  if (typeof candidate !== "function") {
    throw new TypeError(`The pool's module does not export a function "${fn}"`);
  }
  return candidate as TaskFunction;
}

function isCancelled(state: WorkerState, task: number): boolean {
  return Atomics.load(state.cancels, task % CANCEL_SLOTS) === task;
}

/**
 * Runs one task. A synchronous result is answered at once (no promise, no signal unless the task
 * asked for one); an async task is watched: its signal aborts as soon as the host writes its id
 * into the cancel slot.
 */
function runTask(
  state: WorkerState,
  task: number,
  call: () => unknown,
): TaskOutcome | Promise<TaskOutcome> {
  if (isCancelled(state, task)) return { ok: false, cancelled: true };
  const running: RunningTask = { controller: undefined };
  runningTask.current = running;
  let result: unknown;
  try {
    result = call();
  } catch (error) {
    return { ok: false, error: serializeError(error) };
  } finally {
    runningTask.current = undefined;
  }
  if (!(result instanceof Promise)) return { ok: true, value: result };
  return watch(state, task, running, result);
}

async function watch(
  state: WorkerState,
  task: number,
  running: RunningTask,
  result: Promise<unknown>,
): Promise<TaskOutcome> {
  let watching = true;
  const slot = task % CANCEL_SLOTS;
  (async () => {
    while (watching) {
      const seen = Atomics.load(state.cancels, slot);
      if (seen === task) {
        running.controller?.abort(new DOMException("The task was cancelled", "AbortError"));
        return;
      }
      await Atomics.waitAsync(state.cancels, slot, seen, 50).value;
    }
  })();
  try {
    return { ok: true, value: await result };
  } catch (error) {
    return { ok: false, error: serializeError(error) };
  } finally {
    watching = false;
  }
}

/** Calls task function `fn` with its arguments revived. */
function call(state: WorkerState, fn: string, args: unknown[]): unknown {
  return lookup(state, fn)(...reviveShared(args));
}

/** Runs tasks one after another: synchronously while they are, awaiting each async one. */
function runBatch(
  state: WorkerState,
  tasks: readonly number[],
  fns: readonly string[],
  args: readonly unknown[][],
): TaskOutcome[] | Promise<TaskOutcome[]> {
  const out: TaskOutcome[] = [];
  for (let i = 0; i < tasks.length; i++) {
    const outcome = runTask(state, tasks[i], () => call(state, fns[i], args[i]));
    if (outcome instanceof Promise) return finishBatch(state, tasks, fns, args, out, i, outcome);
    out.push(outcome);
  }
  return out;
}

async function finishBatch(
  state: WorkerState,
  tasks: readonly number[],
  fns: readonly string[],
  args: readonly unknown[][],
  out: TaskOutcome[],
  from: number,
  pending: Promise<TaskOutcome>,
): Promise<TaskOutcome[]> {
  out.push(await pending);
  for (let i = from + 1; i < tasks.length; i++) {
    out.push(await runTask(state, tasks[i], () => call(state, fns[i], args[i])));
  }
  return out;
}

/** An array, checked without copying: zod's array copy is holey, which V8 clones slowly. */
function array<T>() {
  return z.custom<T[]>((value) => Array.isArray(value));
}

/** The WebAssembly memories of shared arrays among a task's arguments, sent along with them. */
const memories = array<WebAssembly.Memory>().optional();

/**
 * Makes what structured clone flattened usable again: `SharedEvent`s and `SharedQueue`s become
 * themselves (the value codec's `revive`), and the memories of shared arrays are adopted, so that
 * the arrays run the SIMD kernels here too.
 */
function revive<T>(values: T, adopt: readonly WebAssembly.Memory[] | undefined): T {
  if (adopt !== undefined) { for (const memory of adopt) adoptWasmMemory(memory); }
  return reviveShared(values);
}

/** The pool worker actor. */
export const PoolWorker = defineActor({
  name: "troupe-pool-worker",
  url: import.meta.url,
  protocol: {
    run: ask(
      z.object({ task: z.number().int(), fn: z.string(), args: array<unknown>(), memories }),
      outcome,
    ),
    batch: ask(
      z.object({
        tasks: array<number>(),
        fns: array<string>(),
        args: array<unknown[]>(),
        memories,
      }),
      array<TaskOutcome>(),
    ),
    chunk: ask(
      z.object({ task: z.number().int(), fn: z.string(), items: array<unknown>(), memories }),
      outcome,
    ),
    reduce: ask(
      z.object({
        task: z.number().int(),
        fn: z.string(),
        data: z.custom<ArrayBufferView>((value) => ArrayBuffer.isView(value)),
        memory: z.custom<WebAssembly.Memory>((value) => value instanceof WebAssembly.Memory)
          .optional(),
        start: z.number().int().min(0),
        end: z.number().int().min(0),
      }),
      outcome,
    ),
  },
  init: async (args: { moduleUrl: string; cancels: Int32Array<SharedArrayBuffer> }) => {
    const module: Record<string, unknown> = await whileLoading(
      args.moduleUrl,
      () => import(args.moduleUrl),
    );
    return { module, cancels: args.cancels } satisfies WorkerState;
  },
  handlers: {
    run: (state, msg) =>
      runTask(state, msg.task, () => call(state, msg.fn, revive(msg.args, msg.memories))),
    batch: (state, msg) => {
      revive(undefined, msg.memories);
      return runBatch(state, msg.tasks, msg.fns, msg.args);
    },
    chunk: (state, msg) =>
      runTask(state, msg.task, () => {
        const fn = lookup(state, msg.fn);
        const out: unknown[] = []; // packed: it clones faster than a holey array
        let pending = false;
        for (const item of revive(msg.items, msg.memories)) {
          const value = fn(item);
          if (value instanceof Promise) pending = true;
          out.push(value);
        }
        return pending ? Promise.all(out) : out;
      }),
    reduce: (state, msg) =>
      runTask(state, msg.task, () => {
        const data = msg.data as unknown as Float64Array;
        if (msg.fn === "max" || msg.fn === "min" || msg.fn === "sum") {
          if (msg.memory !== undefined) adoptWasmMemory(msg.memory);
          return reduceRange(msg.fn, data, msg.start, msg.end);
        }
        return lookup(state, msg.fn)(data.subarray(msg.start, msg.end));
      }),
  },
});
