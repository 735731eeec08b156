/**
 * Test helpers. Deno's sanitizers do not notice a Worker left running, so this module wraps the
 * global `Worker` to track every live one, and `test()` fails any test that leaves one behind
 * (terminating it, so the leak does not spread to the next test).
 *
 * @module
 */

import type { EventStream, SystemEvent } from "../mod.ts";

const live = new Set<Worker>();
const Original = globalThis.Worker;

class TrackedWorker extends Original {
  constructor(specifier: string | URL, options?: WorkerOptions) {
    super(specifier, options);
    live.add(this);
  }

  override terminate(): void {
    live.delete(this);
    super.terminate();
  }
}

globalThis.Worker = TrackedWorker as typeof Worker;

/** How many workers created through the global `Worker` are still alive. */
export function liveWorkers(): number {
  return live.size;
}

/**
 * Fails with the number of workers started since `before` and still alive, after terminating them.
 */
export function assertNoLeakedWorkers(before: ReadonlySet<Worker> = new Set()): void {
  const leaked = [...live].filter((worker) => !before.has(worker));
  for (const worker of leaked) worker.terminate();
  if (leaked.length > 0) {
    throw new Error(`${leaked.length} worker(s) were left alive by the test`);
  }
}

/** `Deno.test` that also fails when the test leaves a Worker alive. */
export function test(
  name: string,
  fn: (t: Deno.TestContext) => Promise<void> | void,
  options: Omit<Deno.TestDefinition, "name" | "fn"> = {},
): void {
  Deno.test({
    name,
    ...options,
    async fn(t) {
      const before = new Set(live);
      let failure: unknown;
      try {
        await fn(t);
      } catch (error) {
        failure = error;
      }
      try {
        assertNoLeakedWorkers(before);
      } catch (leak) {
        failure ??= leak;
      }
      if (failure !== undefined) throw failure;
    },
  });
}

/** Resolves with the first event of `type` that the stream publishes and `match` accepts. */
export function nextEvent<K extends SystemEvent["type"]>(
  events: EventStream,
  type: K,
  match: (event: Extract<SystemEvent, { type: K }>) => boolean = () => true,
): Promise<Extract<SystemEvent, { type: K }>> {
  return new Promise((resolve) => {
    const off = events.on((event) => {
      if (event.type !== type) return;
      const typed = event as Extract<SystemEvent, { type: K }>;
      if (!match(typed)) return;
      off();
      resolve(typed);
    });
  });
}

/**
 * Waits until another thread (or a handler on this one) sets `flag[0]` to non-zero. On Deno's main
 * thread `Atomics.waitAsync` does not keep the event loop alive, so this polls once a millisecond.
 */
export async function waitForFlag(flag: Int32Array<SharedArrayBuffer>): Promise<void> {
  while (Atomics.load(flag, 0) === 0) {
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}
