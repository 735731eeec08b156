// The actor the soak benchmark drives: it crashes in every way a guest can.
import { z } from "zod";
import { ask, defineActor } from "../mod.ts";

/** How a message makes the handler fail the first time it runs; `"poison"` fails every time. */
export const FAILURES = ["throw", "uncaught", "rejection", "exit", "close", "poison"] as const;

/**
 * Counts each message it handles in `seen`. A message planned to fail does so the first time it
 * runs (`tried` counts runs across workers): it throws, throws from a timer after returning,
 * leaves a rejection unhandled and never settles, calls `Deno.exit`, or calls `self.close()`.
 * A poison message throws every time.
 */
export const Soak = defineActor({
  name: "soak",
  url: import.meta.url,
  protocol: {
    work: z.object({ id: z.number().int().min(0), fail: z.enum(["ok", ...FAILURES]) }),
    done: ask(z.object({}), z.boolean()),
  },
  init: (args: { seen: Int32Array<SharedArrayBuffer>; tried: Int32Array<SharedArrayBuffer> }) => ({
    ...args,
  }),
  handlers: {
    work(state, msg) {
      const first = Atomics.add(state.tried, msg.id, 1) === 0;
      if (msg.fail === "poison") throw new Error(`poison ${msg.id}`);
      if (first) {
        switch (msg.fail) {
          case "throw":
            throw new Error(`throw ${msg.id}`);
          case "uncaught":
            setTimeout(() => {
              throw new Error(`uncaught ${msg.id}`);
            }, 0);
            break; // handled: the error comes later, outside any handler
          case "rejection":
            void Promise.reject(new Error(`rejection ${msg.id}`));
            return new Promise<void>(() => {});
          case "exit":
            Deno.exit(3);
            break;
          case "close":
            (globalThis as unknown as { close(): void }).close();
            return;
        }
      }
      Atomics.add(state.seen, msg.id, 1);
    },
    done: () => true,
  },
});
