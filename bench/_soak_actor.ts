/**
 * The actor the soak benchmark (`bench/_soak.ts`) drives: it counts each run of each message in
 * shared memory and crashes on request, in each of the ways a worker can fail.
 *
 * This module is what the soak's worker loads: it defines the actor and starts nothing.
 *
 * @module
 */

import { z } from "zod";
import { defineActor } from "../mod.ts";

/** The ways a soak message can crash its actor. */
export const CRASH_KINDS = ["throw", "timer", "rejection", "exit", "close"] as const;

/**
 * One way to crash:
 *
 * - `"throw"`: the handler throws (the actor restarts in the same worker);
 * - `"timer"`: an error thrown from a `setTimeout` callback while the handler waits (the worker's
 *   uncaught-error handler ends the worker);
 * - `"rejection"`: a rejected promise nobody handles while the handler waits (likewise);
 * - `"exit"`: `Deno.exit(3)` in the handler;
 * - `"close"`: `self.close()` in the handler, which then waits for the worker to end.
 *
 * Every kind but `"throw"` ends the worker; the handler never completes in any of them.
 */
export type CrashKind = typeof CRASH_KINDS[number];

/** What {@linkcode SoakWorker} takes: two counters per message id, in shared memory. */
export interface SoakArgs {
  /** Runs started, per id. */
  started: Int32Array<SharedArrayBuffer>;
  /** Runs completed, per id. */
  completed: Int32Array<SharedArrayBuffer>;
}

/**
 * Counts each run of a `work` message in `args.started`, then, for a message marked `crash`,
 * crashes in that way: every time when it is `poison`, else on its first run only (so it is
 * handled when redelivered). A run that does not crash adds 1 to `args.completed` and returns.
 */
export const SoakWorker = defineActor({
  name: "soak",
  url: import.meta.url,
  protocol: {
    work: z.object({
      id: z.number().int().min(0),
      crash: z.enum(["none", ...CRASH_KINDS]),
      poison: z.boolean(),
    }),
  },
  init: (args: SoakArgs) => ({ started: args.started, completed: args.completed }),
  handlers: {
    work(state, msg): void | Promise<never> {
      if (msg.id >= state.completed.length) {
        throw new RangeError(`Message id ${msg.id} is past the soak's ${state.completed.length}`);
      }
      const first = Atomics.add(state.started, msg.id, 1) === 0;
      if (msg.crash !== "none" && (msg.poison || first)) return crash(msg.crash, msg.id);
      Atomics.add(state.completed, msg.id, 1);
    },
  },
});

function crash(kind: CrashKind, id: number): Promise<never> {
  const error = new Error(`Soak crash "${kind}" on message ${id}`);
  switch (kind) {
    case "throw":
      throw error;
    case "timer":
      setTimeout(() => {
        throw error;
      }, 0);
      return forever();
    case "rejection":
      void Promise.reject(error);
      return forever();
    case "exit":
      return Deno.exit(3);
    case "close":
      (globalThis as unknown as { close(): void }).close();
      return forever();
  }
}

/** Keeps the handler running (never completed) until its worker ends. */
function forever(): Promise<never> {
  return new Promise<never>(() => {});
}
