/**
 * `refOf`: the schema of a protocol field that carries a ref to an actor of a given definition.
 *
 * @module
 */

import { z } from "npm:zod@4.6.7";
import { isRefData } from "../mailbox/codec.ts";
import type { ActorDefinition, Protocol } from "./define.ts";
import type { ActorRef } from "./ref.ts";

/**
 * The schema of a ref to an actor of `def`: a payload field (in spawn args, a message or a reply)
 * that carries an `ActorRef`, which arrives as a working ref in every placement. Typed by `def`'s
 * protocol, so a wrong kind sent through it is a compile error in the receiving actor.
 *
 * The target is checked by the definition's `url#name`, read when a value is validated, never
 * when the protocol is built.
 *
 * @typeParam P The protocol of the actor the ref reaches.
 * @param def The definition the ref must reach.
 * @returns A zod schema whose input and output are `ActorRef<P>` (so a payload of any other type is a compile error).
 *
 * @example A worker registers with a registry by its ref
 * ```ts
 * import { defineActor, refOf } from "@troupe/troupe";
 * import { z } from "zod";
 *
 * export const Worker = defineActor({
 *   name: "worker",
 *   url: import.meta.url,
 *   protocol: { job: z.object({ id: z.number() }) },
 *   init: () => ({}),
 *   handlers: { job() {} },
 * });
 *
 * export const Registry = defineActor({
 *   name: "registry",
 *   url: import.meta.url,
 *   protocol: { register: z.object({ worker: refOf(Worker) }) },
 *   init: () => ({ workers: [] as unknown[] }),
 *   handlers: {
 *     register(state, msg) {
 *       msg.worker.tell("job", { id: 1 }); // typed: "job" takes { id: number }
 *       state.workers.push(msg.worker);
 *     },
 *   },
 * });
 * ```
 */
export function refOf<P extends Protocol>(
  // deno-lint-ignore no-explicit-any
  def: ActorDefinition<P, any, any>,
): z.ZodType<ActorRef<P>, ActorRef<P>>;
/**
 * The schema of a ref to an actor named `name`, typed by a protocol declared explicitly: for an
 * actor whose protocol refers to itself, or two actors that refer to each other (a definition
 * cannot be read inside its own protocol, and two modules importing each other meet a temporal
 * dead zone). The target is checked by the definition's name only.
 *
 * @typeParam P The protocol of the actor the ref reaches, declared as a type.
 * @param name The definition's `name`.
 * @returns A zod schema whose input and output are `ActorRef<P>` (so a payload of any other type is a compile error).
 *
 * @example A ping that answers to whoever sent it
 * ```ts
 * import { defineActor, refOf } from "@troupe/troupe";
 * import { z } from "zod";
 *
 * type PingProtocol = { ping: z.ZodType<{ n: number; from: unknown }> };
 * const ping = z.object({ n: z.number(), from: refOf<PingProtocol>("ping") });
 *
 * export const Ping = defineActor({
 *   name: "ping",
 *   url: import.meta.url,
 *   protocol: { ping },
 *   init: () => ({}),
 *   handlers: {
 *     ping(_state, msg, ctx) {
 *       if (msg.n > 0) msg.from.tell("ping", { n: msg.n - 1, from: ctx.self });
 *     },
 *   },
 * });
 * ```
 */
export function refOf<P extends Protocol>(name: string): z.ZodType<ActorRef<P>, ActorRef<P>>;
export function refOf<P extends Protocol>(
  // deno-lint-ignore no-explicit-any
  target: ActorDefinition<P, any, any> | string,
): z.ZodType<ActorRef<P>, ActorRef<P>> {
  if (typeof target === "string") {
    if (target === "") throw new TypeError("Cannot declare refOf: name must be a non-empty string");
    const suffix = `#${target}`;
    return z.custom<ActorRef<P>>(
      (value) => isRefData(value) && value.def.endsWith(suffix),
      { error: `expected a ref to a "${target}" actor` },
    );
  }
  if (typeof target !== "object" || target === null) {
    throw new TypeError(
      "Cannot declare refOf: pass an actor definition, or a name for a self or mutual reference",
    );
  }
  let key: string | undefined;
  return z.custom<ActorRef<P>>((value) => {
    // Read at the first validation, never while the protocol is built.
    key ??= `${target.url}#${target.name}`;
    return isRefData(value) && value.def === key;
  }, { error: () => `expected a ref to a "${target.name}" actor` });
}

/**
 * Whether a value is an actor ref (live, or as structured clone delivers one).
 *
 * @param value Any value.
 * @returns `true` for a ref.
 *
 * @example
 * ```ts
 * import { isActorRef } from "@troupe/troupe";
 * import { equal } from "node:assert/strict";
 *
 * equal(isActorRef({}), false);
 * ```
 */
export function isActorRef(value: unknown): value is ActorRef {
  return isRefData(value);
}
