/**
 * Troupe: an actor runtime for Deno. A supervisor tree runs actors in Web Workers, subprocesses or
 * the caller's thread; actors talk through typed, bounded mailboxes validated with zod; crashes are
 * contained and restarted without losing queued work.
 *
 * @example A counter actor (on the caller's thread; drop `placement` for a worker of its own)
 * ```ts
 * import { ActorSystem, ask, defineActor } from "@troupe/troupe";
 * import { z } from "zod";
 * import { equal } from "node:assert/strict";
 *
 * export const Counter = defineActor({
 *   name: "counter",
 *   url: import.meta.url,
 *   protocol: { add: z.object({ n: z.number().int() }), get: ask(z.object({}), z.number()) },
 *   init: () => ({ count: 0 }),
 *   handlers: {
 *     add(state, msg) {
 *       state.count += msg.n;
 *     },
 *     get: (state) => state.count,
 *   },
 * });
 *
 * await using system = await ActorSystem.start({ name: "quick-start" });
 * const counter = await system.spawn(Counter, { placement: "local" });
 * counter.tell("add", { n: 41 });
 * counter.tell("add", { n: 1 });
 * equal(await counter.ask("get", {}), 42);
 * ```
 *
 * @module
 */

export * from "./errors.ts";
export * from "./actors/mod.ts";
export * from "./mailbox/mod.ts";
export * from "./supervisors/mod.ts";
export * from "./patterns/mod.ts";
