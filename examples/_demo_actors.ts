/**
 * The actors of the demo: a producer that hands out jobs, workers that do them (and crash at
 * random), and a collector that counts the results. They talk by refs and messages only: the
 * producer is given the workers' and the collector's refs, each job carries the ref of the
 * collector its result goes to, and every mailbox is bounded, so a full one slows its sender down.
 *
 * ```
 *  /producer ──send "job" { id, ms, collector }──▶ /workers/worker-N ──send "result"──▶ /collector
 *   (local)        round robin, backpressure        at_least_once: a job whose      (local)
 *                                                   worker crashed is redelivered
 * ```
 *
 * @module
 */
import { z } from "zod";
import { ask, defineActor, refOf } from "../mod.ts";

/** Computes for about `ms` milliseconds: a stand-in for real work. */
function compute(ms: number): number {
  const end = performance.now() + ms;
  let x = 0;
  while (performance.now() < end) x += Math.sqrt(x + 1);
  return x;
}

const tally = z.object({
  /** Distinct jobs finished. */
  done: z.number().int(),
  /** Jobs finished more than once (a worker crashed after sending the result). */
  twice: z.number().int(),
});

/** Counts results as they come: how many distinct jobs are done, and how many came twice. */
export const Collector = defineActor({
  name: "collector",
  url: import.meta.url,
  protocol: {
    result: z.object({ job: z.number().int().min(0), by: z.string() }),
    progress: ask(z.object({}), tally),
  },
  init: () => ({ finished: new Map<number, number>() }),
  handlers: {
    result(state, msg) {
      state.finished.set(msg.job, (state.finished.get(msg.job) ?? 0) + 1);
    },
    progress: (state) => ({
      done: state.finished.size,
      twice: [...state.finished.values()].filter((times) => times > 1).length,
    }),
  },
});

/**
 * Does one job per message and sends its result to the collector the job names. With probability
 * `crashRate` it crashes, half the time before sending (the job is redelivered to the restarted
 * worker) and half the time after (the redelivered job is finished twice: at least once).
 */
export const JobWorker = defineActor({
  name: "job-worker",
  url: import.meta.url,
  protocol: {
    job: z.object({
      id: z.number().int().min(0),
      ms: z.number().min(0),
      collector: refOf(Collector),
    }),
  },
  init: (args: { crashRate: number }) => args,
  handlers: {
    async job(state, msg, ctx) {
      compute(msg.ms);
      if (Math.random() < state.crashRate / 2) {
        throw new Error(`${ctx.path} crashed before finishing job ${msg.id}`);
      }
      await msg.collector.send("result", { job: msg.id, by: ctx.path });
      if (Math.random() < state.crashRate / 2) {
        throw new Error(`${ctx.path} crashed after finishing job ${msg.id}`);
      }
    },
  },
});

/** How long job `id` computes, in milliseconds: between half and one and a half `jobMs`. */
export function jobDuration(id: number, jobMs: number): number {
  return Math.round(jobMs * (0.5 + ((id * 7919) % 100) / 100));
}

/**
 * Hands out the jobs to the workers it is given, each job naming the collector. `send` waits while
 * a worker's mailbox is full; one loop per worker takes the next job, so a worker that is busy or
 * restarting holds up no other, and the producer runs only as fast as the workers.
 */
export const Producer = defineActor({
  name: "producer",
  url: import.meta.url,
  protocol: {
    produce: z.object({
      count: z.number().int().min(0),
      jobMs: z.number().min(0),
      workers: refOf(JobWorker).array(),
      collector: refOf(Collector),
    }),
  },
  init: () => ({}),
  handlers: {
    async produce(_state, msg, ctx) {
      const { collector } = msg;
      let next = 0;
      await Promise.all(msg.workers.map(async (worker) => {
        while (next < msg.count && !ctx.signal.aborted) {
          const id = next++;
          try {
            await worker.send("job", { id, ms: jobDuration(id, msg.jobMs), collector }, {
              signal: ctx.signal,
            });
          } catch (error) {
            if (ctx.signal.aborted) return; // shutting down: the tree stops
            throw error;
          }
        }
      }));
    },
  },
});
