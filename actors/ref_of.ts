/**
 * `refOf`: the schema of a protocol field that carries a ref to an actor of a given definition.
 *
 * @module
 */

import { z } from "npm:zod@4.6.7";
import { isRefData } from "../mailbox/codec.ts";
import type { ActorDefinition, Protocol, Schema } from "./define.ts";
import type { ActorRef } from "./ref.ts";

/**
 * A schema as zod's own types read it, so that it composes with zod's functions (`z.object`,
 * `z.array`, `z.union`, `z.optional`…): they infer types from `_zod.output` and `_zod.input`, and
 * make a field optional when `_zod.optout` is `"optional"`. The runtime object is a zod schema.
 *
 * @typeParam O What the schema outputs.
 * @typeParam I What it takes.
 */
export interface ZodLike<O, I = O> extends Schema<O, I> {
  /** What zod's types read; see {@linkcode ZodInternals}. */
  readonly _zod: ZodInternals<O, I>;
  /** The Standard Schema interface every zod schema carries. */
  readonly "~standard": {
    /** The Standard Schema version. */
    readonly version: 1;
    /** Who made the schema: `"zod"`. */
    readonly vendor: string;
    /** Validates a value, as Standard Schema defines it. */
    // deno-lint-ignore no-explicit-any
    readonly validate: (value: unknown) => any;
    /** The input and output types. */
    readonly types?: { readonly input: I; readonly output: O } | undefined;
  };
}

/**
 * The internals zod's types read from a schema: the output and input types, and zod's own
 * machinery, which Troupe leaves opaque.
 *
 * @typeParam O What the schema outputs.
 * @typeParam I What it takes.
 */
export interface ZodInternals<O, I> {
  /** The type the schema outputs. */
  readonly output: O;
  /** The type the schema takes. */
  readonly input: I;
  // zod's own fields, opaque here: typed `any` so that zod's functions accept the schema.
  /** zod's. */
  // deno-lint-ignore no-explicit-any
  readonly version: any;
  /** zod's. */
  // deno-lint-ignore no-explicit-any
  readonly def: any;
  /** zod's. */
  // deno-lint-ignore no-explicit-any
  readonly deferred: any;
  /** zod's. */
  // deno-lint-ignore no-explicit-any
  readonly run: any;
  /** zod's. */
  // deno-lint-ignore no-explicit-any
  readonly parse: any;
  /** zod's. */
  // deno-lint-ignore no-explicit-any
  readonly traits: any;
  /** zod's. */
  // deno-lint-ignore no-explicit-any
  readonly pattern: any;
  /** zod's. */
  // deno-lint-ignore no-explicit-any
  readonly constr: any;
  /** zod's. */
  // deno-lint-ignore no-explicit-any
  readonly bag: any;
  /** zod's. */
  // deno-lint-ignore no-explicit-any
  readonly isst: any;
}

/**
 * The zod schema `refOf` makes: it validates a ref and types it `ActorRef<P>`, as a field of
 * `z.object` or the reply of an `ask`; `.optional()`, `.nullable()` and `.array()` give the usual
 * variants.
 *
 * @typeParam P The protocol of the actor the ref reaches.
 */
export interface RefSchema<P extends Protocol> extends ZodLike<ActorRef<P>> {
  /** The schema of a ref or `undefined`: a field of it in `z.object` is optional. */
  optional(): ZodLike<ActorRef<P> | undefined> & {
    /** Marks the schema optional for zod's object types. */
    readonly _zod: { readonly optin: "optional"; readonly optout: "optional" };
  };
  /** The schema of a ref or `null`. */
  nullable(): ZodLike<ActorRef<P> | null>;
  /** The schema of an array of refs. */
  array(): ZodLike<ActorRef<P>[]>;
}

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
): RefSchema<P>;
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
 * import { type ActorRef, defineActor, refOf, type ZodLike } from "@troupe/troupe";
 * import { z } from "zod";
 *
 * // Declared as a type first: the definition cannot be read inside its own protocol.
 * type PingProtocol = { ping: ZodLike<{ n: number; from: ActorRef<PingProtocol> }> };
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
export function refOf<P extends Protocol>(name: string): RefSchema<P>;
export function refOf<P extends Protocol>(
  // deno-lint-ignore no-explicit-any
  target: ActorDefinition<P, any, any> | string,
): RefSchema<P> {
  if (typeof target === "string") {
    if (target === "") throw new TypeError("Cannot declare refOf: name must be a non-empty string");
    const suffix = `#${target}`;
    return z.custom<ActorRef<P>>(
      (value) => isLiveRef(value) && value.def.endsWith(suffix),
      { error: `expected a ref to a "${target}" actor` },
    ) as unknown as RefSchema<P>;
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
    return isLiveRef(value) && value.def === key;
  }, { error: () => `expected a ref to a "${target.name}" actor` }) as unknown as RefSchema<P>;
}

/**
 * A working ref: the fields of one and its methods. A ref's cloned form that was not revived (in
 * a place no reviver walks) is refused rather than handed to a handler as methodless data.
 */
function isLiveRef(value: unknown): value is ActorRef {
  return isRefData(value) && typeof (value as { tell?: unknown }).tell === "function";
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
