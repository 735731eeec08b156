/**
 * The actors of example 09's pipeline: a producer that feeds the workers, workers that crash at
 * random, and a collector that counts what arrives. They find each other by refs: the producer is
 * spawned with the workers' and the collector's refs, and each item carries the ref of the
 * collector its result goes to. Worker placements import this module by its URL.
 *
 * ```
 *  /producer (local) ──send "work" { id, value, collector }──▶ /workers/worker-N (at_least_once)
 *                                                                          │
 *                                 /collector ◀──── send "result" ──────────┘
 * ```
 *
 * @module
 */

import { z } from "zod";
import { type ActorRef, ask, defineActor, refOf } from "../mod.ts";

const processed = z.object({ id: z.number().int().min(0), value: z.number(), by: z.string() });

/** What a worker sends the collector for each item. */
export type Processed = z.infer<typeof processed>;

const summary = z.object({
  unique: z.number(),
  duplicates: z.number(),
  wrong: z.number(),
  byWorker: z.record(z.string(), z.number()),
});

/** What the collector reports. */
export type Summary = z.infer<typeof summary>;

/**
 * The collector: keeps each item id once and counts the duplicates that at-least-once delivery
 * brings, and the results that are wrong.
 */
export const Collector = defineActor({
  name: "collector",
  url: import.meta.url,
  protocol: {
    result: processed,
    summary: ask(z.object({}), summary),
  },
  init: () => ({
    seen: new Set<number>(),
    duplicates: 0,
    wrong: 0,
    byWorker: {} as Record<string, number>,
  }),
  handlers: {
    result(state, item) {
      if (item.value !== item.id * item.id) state.wrong++;
      if (state.seen.has(item.id)) {
        state.duplicates++;
        return;
      }
      state.seen.add(item.id);
      state.byWorker[item.by] = (state.byWorker[item.by] ?? 0) + 1;
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
 * A pipeline worker: squares each item and sends the result to the collector the item names. With
 * probability `crashRate` it crashes, half the time before the send (the item is simply
 * redelivered) and half the time after it (the redelivered item arrives twice: at least once, not
 * exactly once).
 */
export const PipelineWorker = defineActor({
  name: "pipeline-worker",
  url: import.meta.url,
  protocol: {
    work: z.object({
      id: z.number().int().min(0),
      value: z.number(),
      collector: refOf(Collector),
    }),
  },
  init: (args: { crashRate: number }) => ({ ...args }),
  handlers: {
    async work(state, msg, ctx) {
      if (Math.random() < state.crashRate / 2) throw new Error(`crashed before item ${msg.id}`);
      await msg.collector.send("result", {
        id: msg.id,
        value: msg.value * msg.value,
        by: ctx.path,
      });
      if (Math.random() < state.crashRate / 2) throw new Error(`crashed after item ${msg.id}`);
    },
  },
});

/**
 * The producer, on the caller's thread: spawned with the workers' and the collector's refs in its
 * args, it sends items round robin, waiting for room in each worker's mailbox, each naming the
 * collector.
 */
export const Producer = defineActor({
  name: "producer",
  url: import.meta.url,
  protocol: {
    produce: ask(z.object({ count: z.number().int().min(0) }), z.number()),
  },
  init: (args: {
    workers: ActorRef<typeof PipelineWorker.protocol>[];
    collector: ActorRef<typeof Collector.protocol>;
  }) => ({ ...args, sent: 0 }),
  handlers: {
    async produce(state, msg) {
      for (let i = 0; i < msg.count; i++) {
        const id = state.sent++;
        await state.workers[id % state.workers.length].send("work", {
          id,
          value: id,
          collector: state.collector,
        });
      }
      return state.sent;
    },
  },
});
