/**
 * The worker-leak check. Deno's test sanitizers notice leaked timers and resources but not a
 * `Worker` left running, which keeps the process alive and carries state into the next test. This
 * module wraps the global `Worker` so that every worker created through it is known until it is
 * terminated.
 *
 * @module
 */

/** Every live tracker; each hears of the workers created after it. */
const trackers = new Set<Set<Worker>>();
let installed = false;

/** Replaces `globalThis.Worker` with a subclass that reports each worker it creates, once. */
function install(): void {
  if (installed) return;
  installed = true;
  const Original = globalThis.Worker;
  class TrackedWorker extends Original {
    constructor(specifier: string | URL, options?: WorkerOptions) {
      super(specifier, options);
      for (const live of trackers) live.add(this);
    }

    override terminate(): void {
      for (const live of trackers) live.delete(this);
      super.terminate();
    }
  }
  globalThis.Worker = TrackedWorker as typeof Worker;
}

/** What {@linkcode trackWorkers} returns: the workers created since, and the check. */
export interface WorkerTracker extends Disposable {
  /** The workers created since the tracker was made and not yet terminated. */
  readonly live: ReadonlySet<Worker>;
  /**
   * Terminates every worker still in {@linkcode WorkerTracker.live} (so a leak does not spread to
   * the next test), then fails if there was any.
   *
   * @throws {Error} `N worker(s) were left alive by the test`, when some were.
   */
  assertNone(): void;
}

/**
 * Starts tracking the workers created from now on through the global `Worker`. The first call
 * wraps `globalThis.Worker` (for good): call it before the code under test creates its workers,
 * that is before an `ActorSystem` spawns its actors. A worker counts as alive until its
 * `terminate()` is called; one that closed itself from inside still counts (Deno tells its parent
 * nothing), which is what a system's shutdown avoids by terminating every worker it started.
 *
 * @returns The tracker; disposing it stops tracking.
 *
 * @example A test that forgot a worker
 * ```ts
 * import { trackWorkers } from "@troupe/troupe/testing";
 * import { equal, throws } from "node:assert/strict";
 *
 * using tracker = trackWorkers();
 * new Worker("data:application/javascript,", { type: "module" });
 * equal(tracker.live.size, 1);
 * throws(() => tracker.assertNone(), { message: "1 worker(s) were left alive by the test" });
 * equal(tracker.live.size, 0); // it was terminated
 * ```
 */
export function trackWorkers(): WorkerTracker {
  install();
  const live = new Set<Worker>();
  trackers.add(live);
  return {
    live,
    assertNone(): void {
      const leaked = [...live];
      for (const worker of leaked) worker.terminate();
      if (leaked.length > 0) {
        throw new Error(`${leaked.length} worker(s) were left alive by the test`);
      }
    },
    [Symbol.dispose](): void {
      trackers.delete(live);
    },
  };
}

/**
 * Wraps a test function so that it also fails when it leaves a worker alive (which it then
 * terminates). The test's own failure, if any, is the one reported.
 *
 * @param fn The test.
 * @returns A function for `Deno.test` (or a `t.step`).
 *
 * @example
 * ```ts
 * import { withLeakCheck } from "@troupe/troupe/testing";
 * import { rejects } from "node:assert/strict";
 *
 * const leaky = withLeakCheck(() => {
 *   new Worker("data:application/javascript,", { type: "module" });
 * });
 * await rejects(leaky({} as Deno.TestContext), { message: "1 worker(s) were left alive by the test" });
 * ```
 */
export function withLeakCheck(
  fn: (t: Deno.TestContext) => void | Promise<void>,
): (t: Deno.TestContext) => Promise<void> {
  return async (t) => {
    using tracker = trackWorkers();
    let failure: unknown;
    let failed = false;
    try {
      await fn(t);
    } catch (error) {
      failure = error;
      failed = true;
    }
    try {
      tracker.assertNone();
    } catch (leak) {
      if (!failed) throw leak;
    }
    if (failed) throw failure;
  };
}

/**
 * `Deno.test` that also fails when the test leaves a worker alive (see
 * {@linkcode withLeakCheck}).
 *
 * @param name The test's name.
 * @param fn The test.
 * @param options Any other `Deno.test` option (`ignore`, `only`, `sanitizeOps`, …).
 *
 * @example In a test file
 * ```ts
 * import { leakCheckedTest } from "@troupe/troupe/testing";
 * import { ActorSystem } from "@troupe/troupe";
 *
 * // At the top level of a test module (`Deno.test` cannot be called inside a running test):
 * export function registerTests(): void {
 *   leakCheckedTest("the system ends its workers", async () => {
 *     await using system = await ActorSystem.start({ name: "app" });
 *     // spawn, tell, ask…
 *   });
 * }
 * ```
 */
export function leakCheckedTest(
  name: string,
  fn: (t: Deno.TestContext) => void | Promise<void>,
  options: Omit<Deno.TestDefinition, "name" | "fn"> = {},
): void {
  Deno.test({ ...options, name, fn: withLeakCheck(fn) });
}
