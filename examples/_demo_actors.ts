/**
 * The actors of the demo: a producer that fills a queue of jobs, workers that take jobs from it
 * (and crash at random), and a collector that counts the results. Jobs and results travel through
 * `SharedQueue`s; progress is a counter in shared memory.
 */
import { z } from "zod";
import { ask, defineActor, MailboxClosedError, type SharedQueue, TimeoutError } from "../mod.ts";

/** What every demo actor shares: the queues and the job table, all in shared memory. */
export interface Shared {
  /** Job ids waiting for a worker. */
  readonly jobs: SharedQueue<number>;
  /** `[job, worker]` pairs, one per finished job. */
  readonly results: SharedQueue<[number, number]>;
  /** How long each job computes, in milliseconds, by job id. */
  readonly durations: Int32Array<SharedArrayBuffer>;
  /** How many times each job was finished (the collector writes it). */
  readonly finished: Int32Array<SharedArrayBuffer>;
  /** The job each worker holds, or -1: what a restarted worker puts back. */
  readonly holding: Int32Array<SharedArrayBuffer>;
  /** [finished jobs, crashes]. */
  readonly progress: Int32Array<SharedArrayBuffer>;
}

/** Computes for about `ms` milliseconds: a stand-in for real work. */
function compute(ms: number): number {
  const end = performance.now() + ms;
  let x = 0;
  while (performance.now() < end) x += Math.sqrt(x + 1);
  return x;
}

/** Puts every job id into the queue, waiting when the queue is full. */
export const Producer = defineActor({
  name: "producer",
  url: import.meta.url,
  protocol: { produce: z.object({ count: z.number().int().min(0) }) },
  init: (args: Shared) => args,
  handlers: {
    async produce(state, msg, ctx) {
      for (let id = 0; id < msg.count && !ctx.signal.aborted; id++) await state.jobs.put(id);
    },
  },
});

/**
 * Takes jobs until the queue closes. Before each job it records the job in `holding`; if it
 * crashes, the next incarnation finds it there and does it first: no job is lost. (Putting it back
 * into the queue could wait forever: the producer keeps the queue full.)
 */
export const JobWorker = defineActor({
  name: "job-worker",
  url: import.meta.url,
  protocol: { work: z.object({}) },
  init: (args: Shared & { index: number; crashRate: number }, ctx) => {
    ctx.self.tell("work", {}); // start (again) taking jobs once init has returned
    return args;
  },
  handlers: {
    async work(state, _msg, ctx) {
      while (!ctx.signal.aborted) {
        // The job a crashed incarnation held comes first.
        let id = Atomics.load(state.holding, state.index);
        if (id < 0) {
          try {
            id = await state.jobs.get({ timeoutMs: 100 });
          } catch (error) {
            if (error instanceof TimeoutError) continue;
            if (error instanceof MailboxClosedError) return; // all jobs are done
            throw error;
          }
        }
        Atomics.store(state.holding, state.index, id);
        compute(state.durations[id]);
        if (Math.random() < state.crashRate) {
          Atomics.add(state.progress, 1, 1);
          throw new Error(`worker ${state.index + 1} crashed on job ${id}`);
        }
        await state.results.put([id, state.index]);
        Atomics.store(state.holding, state.index, -1);
      }
    },
  },
});

/** Counts results as they come, in shared memory, until every job is finished. */
export const Collector = defineActor({
  name: "collector",
  url: import.meta.url,
  protocol: { collect: ask(z.object({ total: z.number().int().min(0) }), z.number()) },
  init: (args: Shared) => args,
  handlers: {
    async collect(state, msg, ctx) {
      while (Atomics.load(state.progress, 0) < msg.total && !ctx.signal.aborted) {
        let result: [number, number];
        try {
          result = await state.results.get({ timeoutMs: 100 });
        } catch (error) {
          if (error instanceof TimeoutError) continue;
          if (error instanceof MailboxClosedError) break;
          throw error;
        }
        if (Atomics.add(state.finished, result[0], 1) === 0) Atomics.add(state.progress, 0, 1);
      }
      return Atomics.load(state.progress, 0);
    },
  },
});
