/**
 * The actors of example 09's pipeline: a producer that feeds the workers, workers that crash at
 * random, and a collector that counts what arrives. Worker placements import this module by its
 * URL.
 *
 * ```
 *  /producer (local) ──send "work"──▶ /workers/worker-N (at_least_once) ──put──▶ results queue
 *                                                                                 │
 *                                    /collector ◀──── get (a "pull" loop) ────────┘
 * ```
 *
 * @module
 */

import { z } from "zod";
import { type ActorRef, ask, defineActor, type SharedQueue } from "../mod.ts";

/** What a worker puts on the results queue for each item. */
export interface Processed {
  id: number;
  value: number;
  by: string;
}

/**
 * A pipeline worker: squares each item and puts it on the results queue. With probability
 * `crashRate` it crashes, half the time before the put (the item is simply redelivered) and half
 * the time after it (the redelivered item arrives twice: at least once, not exactly once).
 */
export const PipelineWorker = defineActor({
  name: "pipeline-worker",
  url: import.meta.url,
  protocol: {
    work: z.object({ id: z.number().int().min(0), value: z.number() }),
  },
  init: (args: { results: SharedQueue<Processed>; crashRate: number }) => ({ ...args }),
  handlers: {
    async work(state, msg, ctx) {
      if (Math.random() < state.crashRate / 2) throw new Error(`crashed before item ${msg.id}`);
      await state.results.put({ id: msg.id, value: msg.value * msg.value, by: ctx.path });
      if (Math.random() < state.crashRate / 2) throw new Error(`crashed after item ${msg.id}`);
    },
  },
});

const summary = z.object({
  unique: z.number(),
  duplicates: z.number(),
  wrong: z.number(),
  byWorker: z.record(z.string(), z.number()),
});

/** What the collector reports. */
export type Summary = z.infer<typeof summary>;

interface CollectorState {
  results: SharedQueue<Processed>;
  seen: Set<number>;
  duplicates: number;
  wrong: number;
  byWorker: Record<string, number>;
  closed: boolean;
}

function record(state: CollectorState, item: Processed): void {
  if (item.value !== item.id * item.id) state.wrong++;
  if (state.seen.has(item.id)) {
    state.duplicates++;
    return;
  }
  state.seen.add(item.id);
  state.byWorker[item.by] = (state.byWorker[item.by] ?? 0) + 1;
}

/**
 * The collector: drains the results queue in a loop of `pull` messages it tells itself (each waits
 * at most 20 ms for an item, so that `summary` asks get their turn), keeps each item id once and
 * counts the duplicates that at-least-once delivery brings.
 */
export const Collector = defineActor({
  name: "collector",
  url: import.meta.url,
  protocol: {
    pull: z.object({}),
    summary: ask(z.object({}), summary),
  },
  init: (args: { results: SharedQueue<Processed> }): CollectorState => ({
    results: args.results,
    seen: new Set(),
    duplicates: 0,
    wrong: 0,
    byWorker: {},
    closed: false,
  }),
  handlers: {
    async pull(state, _msg, ctx) {
      if (state.closed) return;
      try {
        record(state, await state.results.get({ timeoutMs: 20, signal: ctx.signal }));
        for (let next = state.results.tryGet(); next.ok; next = state.results.tryGet()) {
          record(state, next.value);
        }
      } catch (error) {
        if (ctx.signal.aborted || (error as Error).name === "MailboxClosedError") {
          state.closed = true; // stopping, or the queue is closed and drained
          return;
        }
        if ((error as Error).name !== "TimeoutError") throw error;
      }
      ctx.self.tell("pull", {});
    },
    summary: (state) => ({
      unique: state.seen.size,
      duplicates: state.duplicates,
      wrong: state.wrong,
      byWorker: state.byWorker,
    }),
  },
});

/**
 * The producer, on the caller's thread (`placement: "local"`, so its args are not cloned and can
 * hold the workers' refs): sends items round robin, waiting for room in each worker's mailbox.
 */
export const Producer = defineActor({
  name: "producer",
  url: import.meta.url,
  protocol: {
    produce: ask(z.object({ count: z.number().int().min(0) }), z.number()),
  },
  init: (args: { workers: ActorRef<typeof PipelineWorker.protocol>[] }) => ({
    workers: args.workers,
    sent: 0,
  }),
  handlers: {
    async produce(state, msg) {
      for (let i = 0; i < msg.count; i++) {
        const id = state.sent++;
        await state.workers[id % state.workers.length].send("work", { id, value: id });
      }
      return state.sent;
    },
  },
});
