/**
 * The actor system and its lifecycle events.
 *
 * @example Starting and shutting down a system
 * ```ts
 * import { ActorSystem } from "@troupe/troupe/supervisors";
 * import { equal } from "node:assert/strict";
 *
 * const system = await ActorSystem.start({ name: "app" });
 * await system.shutdown();
 * equal(await system.closed(), undefined);
 * ```
 *
 * @module
 */

export {
  type ActorSettings,
  ActorSystem,
  type HeartbeatOptions,
  type ShutdownOptions,
  type SpawnOptions,
  type SupervisorRef,
  type SystemOptions,
  type SystemStats,
} from "./system.ts";
export {
  child,
  type ChildOptions,
  type ChildSpec,
  type Strategy,
  supervisor,
  type SupervisorOptions,
  type SupervisorSpec,
} from "./spec.ts";
export {
  type Backoff,
  backoffDelay,
  type ExitReason,
  type Intensity,
  recordRestart,
  type RestartType,
  shouldRestart,
} from "./policy.ts";
export {
  type CrashedEvent,
  type DeadLetterEvent,
  type EscalatedEvent,
  EventStream,
  type HungEvent,
  type RestartedEvent,
  type ShutdownEvent,
  type StartedEvent,
  type StoppedEvent,
  type SystemEvent,
  type SystemEvents,
} from "./events.ts";
export {
  type ActorSnapshot,
  type ObservedEvent,
  type ObserveOptions,
  type Observer,
  type SupervisorSnapshot,
  type SystemSnapshot,
  type TreeNode,
} from "./observe.ts";
