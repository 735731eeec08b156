// Actors the benchmarks drive.
import { z } from "zod";
import { ask, defineActor } from "../mod.ts";

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
