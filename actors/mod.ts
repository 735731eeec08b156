/**
 * Actors: definitions with typed protocols, the references that reach them, and the context their
 * handlers run in.
 *
 * @example Defining an actor
 * ```ts
 * import { ask, defineActor } from "@troupe/troupe/actors";
 * import { z } from "zod";
 * import { equal } from "node:assert/strict";
 *
 * export const Greeter = defineActor({
 *   name: "greeter",
 *   url: import.meta.url,
 *   protocol: { greet: ask(z.object({ who: z.string() }), z.string()) },
 *   init: () => ({}),
 *   handlers: { greet: (_state, msg) => `hello, ${msg.who}` },
 * });
 * equal(Greeter.name, "greeter");
 * ```
 *
 * @module
 */

export {
  type ActorDefinition,
  type ActorDown,
  type ActorSpec,
  ask,
  type AskKeys,
  type AskSchema,
  defineActor,
  definitionKey,
  type HandlerResult,
  type Handlers,
  type In,
  isActorDefinition,
  type Out,
  type Parsed,
  type Protocol,
  type Schema,
  type SchemaInput,
  type SchemaIssue,
  type SchemaOutput,
  type SchemaResult,
  type TellKeys,
} from "./define.ts";
export type {
  ActorContext,
  ActorLogger,
  ActorTimers,
  ChildSpawnOptions,
  DeliveryInfo,
} from "./context.ts";
export type {
  ActorExit,
  ActorRef,
  AskOptions,
  RefStatus,
  SendOptions,
  StopOptions,
  TellOptions,
} from "./ref.ts";
export { isActorRef, refOf, type RefSchema, type ZodInternals, type ZodLike } from "./ref_of.ts";
export type { PlacementTraits } from "./endpoint.ts";
export {
  type PlacementOption,
  type PlacementRow,
  PLACEMENTS,
  type PlacementTable,
} from "./placement.ts";
export type {
  ActorStats,
  ActorStatus,
  DeadLetter,
  DeadLetterReason,
  Delivery,
  Placement,
} from "./actor.ts";
