/**
 * The actor behind every pool worker: it imports the pool's task module and runs its exported
 * functions, one task at a time in arrival order. A task's error is a result (the worker stays);
 * only the worker's death crashes it.
 *
 * A task can be cancelled through shared memory: the host writes the task's id into the slot
 * `id % CANCEL_SLOTS` of the worker's `cancels` array. A task not yet started is then skipped, and
 * a running one sees its `taskSignal()` abort.
 *
 * @module
 */

import { z } from "zod";
import { ask, defineActor } from "../actors/define.ts";
import { serializeError } from "../mailbox/wire.ts";
import { reduceRange } from "./kernels.ts";
import { adoptWasmMemory } from "./shared_array.ts";

/** Slots in a worker's cancel array; more than the tasks a worker ever holds. */
export const CANCEL_SLOTS = 1024;

/** What the worker answers for a task: its value, its error, or that it was skipped. */
export type TaskOutcome =
  | { ok: true; value: unknown }
  | { ok: false; error: ReturnType<typeof serializeError> }
  | { ok: false; cancelled: true };

const outcome = z.custom<TaskOutcome>((value) => typeof value === "object" && value !== null);

let current: AbortSignal | undefined;

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
  return current ?? NEVER;
}

const NEVER = new AbortController().signal;

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

/** Runs one task with its own signal, watching the cancel slot while it runs. */
async function runTask(
  state: WorkerState,
  task: number,
  call: () => unknown,
): Promise<TaskOutcome> {
  if (isCancelled(state, task)) return { ok: false, cancelled: true };
  const controller = new AbortController();
  current = controller.signal;
  let watching = true;
  try {
    let result = call();
    current = undefined;
    if (result instanceof Promise) {
      // An async task: abort its signal as soon as the host writes its id into the cancel slot.
      const slot = task % CANCEL_SLOTS;
      const watch = async () => {
        while (watching && !controller.signal.aborted) {
          const seen = Atomics.load(state.cancels, slot);
          if (seen === task) {
            controller.abort(new DOMException("The task was cancelled", "AbortError"));
            return;
          }
          await Atomics.waitAsync(state.cancels, slot, seen, 50).value;
        }
      };
      void watch();
      result = await result;
    }
    return { ok: true, value: result };
  } catch (error) {
    return { ok: false, error: serializeError(error) };
  } finally {
    watching = false;
    current = undefined;
  }
}

/** The pool worker actor. */
export const PoolWorker = defineActor({
  name: "troupe-pool-worker",
  url: import.meta.url,
  protocol: {
    run: ask(
      z.object({ task: z.number().int(), fn: z.string(), args: z.array(z.unknown()) }),
      outcome,
    ),
    chunk: ask(
      z.object({ task: z.number().int(), fn: z.string(), items: z.array(z.unknown()) }),
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
    const module = await import(args.moduleUrl) as Record<string, unknown>;
    return { module, cancels: args.cancels } satisfies WorkerState;
  },
  handlers: {
    run: (state, msg) => runTask(state, msg.task, () => lookup(state, msg.fn)(...msg.args)),
    chunk: (state, msg) =>
      runTask(state, msg.task, () => {
        const fn = lookup(state, msg.fn);
        const out = new Array(msg.items.length);
        let pending = false;
        for (let i = 0; i < msg.items.length; i++) {
          out[i] = fn(msg.items[i]);
          if (out[i] instanceof Promise) pending = true;
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
