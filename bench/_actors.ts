// Actors the benchmarks drive.
import { z } from "zod";
import { type ActorRef, ask, defineActor } from "../mod.ts";

export const Sink = defineActor({
  name: "sink",
  url: import.meta.url,
  protocol: {
    add: z.object({ n: z.number().int() }),
    count: ask(z.object({}), z.number()),
    echo: ask(z.object({ n: z.number() }), z.number()),
  },
  init: () => ({ count: 0 }),
  handlers: {
    add(state, msg) {
      state.count += msg.n;
    },
    count: (state) => state.count,
    echo: (_state, msg) => msg.n,
  },
});

/** An actor that dies on request: its worker exits, or its handler throws. */
export const Phoenix = defineActor({
  name: "phoenix",
  url: import.meta.url,
  protocol: {
    ping: ask(z.object({}), z.number()),
    exitWorker: z.object({}),
    throwError: z.object({}),
  },
  init: () => ({ pings: 0 }),
  handlers: {
    ping: (state) => ++state.pings,
    exitWorker() {
      Deno.exit(1);
    },
    throwError() {
      throw new Error("crash");
    },
  },
});

/** What a `Driver` measured: per-call latencies in microseconds, and the whole run. */
const runReport = z.object({ p50: z.number(), p99: z.number(), ms: z.number() });

/**
 * Holds a ref to a `Sink` in another worker and drives it: `asks` makes `n` asks one after
 * another, `tells` tells it `n` messages and then asks for its count (so it ends when the sink
 * has them all).
 */
export const Driver = defineActor({
  name: "driver",
  url: import.meta.url,
  protocol: {
    asks: ask(z.object({ n: z.number().int() }), runReport),
    tells: ask(z.object({ n: z.number().int() }), runReport),
  },
  init: (args: { peer: ActorRef<typeof Sink.protocol> }) => ({ peer: args.peer }),
  handlers: {
    async asks(state, msg) {
      const times = new Float64Array(msg.n);
      const start = performance.now();
      for (let i = 0; i < msg.n; i++) {
        const t = performance.now();
        await state.peer.ask("echo", { n: i });
        times[i] = (performance.now() - t) * 1000;
      }
      const ms = performance.now() - start;
      times.sort();
      return { p50: pick(times, 0.5), p99: pick(times, 0.99), ms };
    },
    async tells(state, msg) {
      const before = await state.peer.ask("count", {});
      const start = performance.now();
      for (let i = 0; i < msg.n; i++) state.peer.tell("add", { n: 1 });
      const count = await state.peer.ask("count", {}, { timeoutMs: 120_000 });
      const ms = performance.now() - start;
      if (count - before !== msg.n) throw new Error(`Lost tells: ${count - before} of ${msg.n}`);
      return { p50: 0, p99: 0, ms };
    },
  },
});

/** The value at fraction `p` of sorted `values`. */
export function pick(values: ArrayLike<number>, p: number): number {
  return values[Math.min(values.length - 1, Math.floor(values.length * p))];
}
