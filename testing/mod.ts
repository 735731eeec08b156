/**
 * The test kit: a {@linkcode TestProbe} that stands in for an actor and records what it receives,
 * {@linkcode FakeTime} to drive ask timeouts, backoffs and timers without waiting, and a check that
 * fails a test which leaves a `Worker` running ({@linkcode trackWorkers},
 * {@linkcode leakCheckedTest}).
 *
 * @example A probe, under fake time
 * ```ts
 * import { ActorSystem, defineActor } from "@troupe/troupe";
 * import { FakeTime, TestProbe } from "@troupe/troupe/testing";
 * import { z } from "zod";
 * import { deepEqual } from "node:assert/strict";
 *
 * const Log = defineActor({
 *   name: "log",
 *   url: import.meta.url,
 *   protocol: { line: z.object({ text: z.string() }) },
 *   init: () => ({}),
 *   handlers: { line: () => {} },
 * });
 *
 * using _time = new FakeTime();
 * await using system = await ActorSystem.start({ name: "kit", heartbeat: false });
 * await using probe = await TestProbe.spawn(system, Log);
 * probe.ref.tell("line", { text: "hello" });
 * deepEqual(await probe.expectMessage("line"), { text: "hello" });
 * ```
 *
 * @module
 */

export { TestProbe } from "./probe.ts";
export type { ExpectOptions, ReceivedMessage, TestProbeOptions } from "./probe.ts";
export { FakeTime } from "./fake_time.ts";
export type { FakeTimeOptions } from "./fake_time.ts";
export { leakCheckedTest, trackWorkers, withLeakCheck } from "./leaks.ts";
export type { WorkerTracker } from "./leaks.ts";
