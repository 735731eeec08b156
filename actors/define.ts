/**
 * Actor definitions and their protocols: the typed contract between an actor and its callers.
 *
 * @module
 */

import type { ActorContext } from "./context.ts";
import type { Schema, SchemaInput, SchemaOutput } from "../mailbox/schema.ts";

export type {
  Schema,
  SchemaInput,
  SchemaIssue,
  SchemaOutput,
  SchemaResult,
} from "../mailbox/schema.ts";

/**
 * The schema of an ask: the request a caller sends and the reply the handler returns.
 *
 * @typeParam Req The request's schema.
 * @typeParam Rep The reply's schema.
 */
export interface AskSchema<Req extends Schema = Schema, Rep extends Schema = Schema> {
  /** Brands the object as an ask. */
  readonly "~troupe": "ask";
  /** The request's schema. */
  readonly request: Req;
  /** The reply's schema. */
  readonly reply: Rep;
}

/**
 * Declares a message kind as an ask: callers `ask` it and await the handler's reply.
 *
 * @typeParam Req The request's zod schema.
 * @typeParam Rep The reply's zod schema.
 * @param request The schema the request must match where it is received.
 * @param reply The schema the handler's return value must match.
 * @returns The ask's schema pair, for a protocol entry.
 *
 * @example Declaring an ask
 * ```ts
 * import { ask } from "@troupe/troupe";
 * import { z } from "zod";
 * import { equal } from "node:assert/strict";
 *
 * const get = ask(z.object({ key: z.string() }), z.number());
 * equal(get.reply.parse(3), 3);
 * ```
 */
export function ask<Req extends Schema, Rep extends Schema>(
  request: Req,
  reply: Rep,
): AskSchema<Req, Rep> {
  if (!isSchema(request)) throw new TypeError("Cannot declare ask: request must be a zod schema");
  if (!isSchema(reply)) throw new TypeError("Cannot declare ask: reply must be a zod schema");
  return Object.freeze({ "~troupe": "ask" as const, request, reply });
}

/** A protocol: each message kind maps to a payload schema (a tell) or an {@linkcode ask}. */
export type Protocol = Record<string, Schema | AskSchema>;

/** The kinds of a protocol that are tells. */
export type TellKeys<P> =
  & {
    [K in keyof P]: P[K] extends AskSchema ? never : K;
  }[keyof P]
  & string;

/** The kinds of a protocol that are asks. */
export type AskKeys<P> =
  & {
    [K in keyof P]: P[K] extends AskSchema ? K : never;
  }[keyof P]
  & string;

/** What a caller passes for a message of schema `S` (the schema's input type). */
export type In<S> = S extends AskSchema<infer Req, Schema> ? SchemaInput<Req>
  : S extends Schema ? SchemaInput<S>
  : never;

/** What a handler receives for a message of schema `S` (the schema's output type). */
export type Parsed<S> = S extends AskSchema<infer Req, Schema> ? SchemaOutput<Req>
  : S extends Schema ? SchemaOutput<S>
  : never;

/** What a caller gets back from an ask of schema `S`. */
export type Out<S> = S extends AskSchema<Schema, infer Rep> ? SchemaOutput<Rep> : never;

/** What a handler of schema `S` returns: the reply for an ask, nothing for a tell. */
export type HandlerResult<S> = S extends AskSchema<Schema, infer Rep>
  ? SchemaInput<Rep> | Promise<SchemaInput<Rep>>
  : void | Promise<void>;

/** One handler per message kind of the protocol `P`, over the state `S`. */
export type Handlers<P extends Protocol, S> = {
  [K in keyof P]: (state: S, msg: Parsed<P[K]>, ctx: ActorContext<P>) => HandlerResult<P[K]>;
};

/**
 * What {@linkcode defineActor} takes.
 *
 * @typeParam P The protocol.
 * @typeParam A The arguments `init` takes.
 * @typeParam S The actor's state.
 */
export interface ActorSpec<P extends Protocol, A, S> {
  /** Unique within its module; a worker finds the definition by it. */
  name: string;
  /** The defining module's URL (`import.meta.url`): a worker imports it to find the definition. */
  url: string;
  /** Message kinds and their schemas. */
  protocol: P;
  /** Builds the state from the spawn arguments; runs again on each restart. */
  init: (args: A, ctx: ActorContext<P>) => S | Promise<S>;
  /** One handler per message kind. */
  handlers: Handlers<P, S>;
  /**
   * Runs once when an incarnation stops (not after a crash): after `ctx.signal` aborted and the
   * running handler finished. On a final stop with `drainOnStop`, the queued messages are handled
   * first, then `onStop` runs; without it, what is still queued becomes dead letters afterwards.
   */
  onStop?: (state: S, ctx: ActorContext<P>) => void | Promise<void>;
  /** Runs after a crash, on the fresh state that `init` returned, with the crash's error. */
  onRestart?: (state: S, error: Error, ctx: ActorContext<P>) => void | Promise<void>;
  /**
   * Runs when an actor this one watches (`ctx.watch(ref)`) is gone for good: stopped, or crashed
   * and not restarted. Restarts are not ends. It runs in mailbox order, as a message would, once
   * per watch.
   */
  onDown?: (state: S, down: ActorDown, ctx: ActorContext<P>) => void | Promise<void>;
}

/** What `onDown` learns of a watched actor that is gone for good. */
export interface ActorDown {
  /** The watched actor's path. */
  readonly path: string;
  /** `"stopped"`, or `"crashed"` when it crashed and was not restarted. */
  readonly reason: "stopped" | "crashed";
  /** The crash, for `"crashed"`. */
  readonly error?: Error;
}

/**
 * A validated actor definition, ready to spawn.
 *
 * @typeParam P The protocol.
 * @typeParam A The arguments `init` takes.
 * @typeParam S The actor's state.
 */
export interface ActorDefinition<P extends Protocol = Protocol, A = unknown, S = unknown>
  extends Readonly<ActorSpec<P, A, S>> {
  /** Brands the object as a definition. */
  readonly "~troupe": "actor";
  /** The message kinds in declaration order; the wire carries a kind as its index here. */
  readonly kinds: readonly string[];
}

/**
 * Defines an actor: its protocol, its state and one handler per message kind. The definition must
 * be exported from its module so that a worker importing `url` can find it by `name`.
 *
 * @typeParam P The protocol.
 * @typeParam A The arguments `init` takes.
 * @typeParam S The actor's state.
 * @param spec The actor's name, module URL, protocol, `init` and handlers.
 * @returns The frozen definition.
 * @throws {TypeError} When a field is missing or of the wrong type, a kind has no handler, or a
 * handler has no kind.
 *
 * @example A counter
 * ```ts
 * import { ask, defineActor } from "@troupe/troupe";
 * import { z } from "zod";
 * import { deepEqual } from "node:assert/strict";
 *
 * export const Counter = defineActor({
 *   name: "counter",
 *   url: import.meta.url,
 *   protocol: {
 *     add: z.object({ n: z.number().int() }),
 *     get: ask(z.object({}), z.number()),
 *   },
 *   init: (args: { start: number }) => ({ count: args.start }),
 *   handlers: {
 *     add(state, msg) {
 *       state.count += msg.n;
 *     },
 *     get: (state) => state.count,
 *   },
 * });
 * deepEqual(Counter.kinds, ["add", "get"]);
 * ```
 */
export function defineActor<P extends Protocol, A, S>(
  spec: ActorSpec<P, A, S>,
): ActorDefinition<P, A, S> {
  if (typeof spec !== "object" || spec === null) {
    throw new TypeError("Cannot define actor: spec must be an object");
  }
  const { name, url, protocol, init, handlers, onStop, onRestart, onDown } = spec;
  if (typeof name !== "string" || name.length === 0) {
    throw new TypeError(`Cannot define actor: name must be a non-empty string, received ${name}`);
  }
  const where = `Cannot define actor "${name}"`;
  if (typeof url !== "string" || !URL.canParse(url)) {
    throw new TypeError(`${where}: url must be a module URL (import.meta.url), received ${url}`);
  }
  if (typeof protocol !== "object" || protocol === null) {
    throw new TypeError(`${where}: protocol must be an object`);
  }
  if (typeof init !== "function") throw new TypeError(`${where}: init must be a function`);
  if (typeof handlers !== "object" || handlers === null) {
    throw new TypeError(`${where}: handlers must be an object`);
  }
  const kinds = Object.keys(protocol);
  for (const kind of kinds) {
    const schema = protocol[kind];
    if (!isSchema(schema) && !isAsk(schema)) {
      throw new TypeError(
        `${where}: protocol "${kind}" must be a zod schema or ask(request, reply)`,
      );
    }
    if (typeof (handlers as Record<string, unknown>)[kind] !== "function") {
      throw new TypeError(`${where}: missing handler for "${kind}"`);
    }
  }
  for (const kind of Object.keys(handlers)) {
    if (!Object.hasOwn(protocol, kind)) {
      throw new TypeError(`${where}: handler "${kind}" has no protocol entry`);
    }
  }
  if (onStop !== undefined && typeof onStop !== "function") {
    throw new TypeError(`${where}: onStop must be a function`);
  }
  if (onRestart !== undefined && typeof onRestart !== "function") {
    throw new TypeError(`${where}: onRestart must be a function`);
  }
  if (onDown !== undefined && typeof onDown !== "function") {
    throw new TypeError(`${where}: onDown must be a function`);
  }
  const def = Object.freeze({
    ...spec,
    "~troupe": "actor" as const,
    kinds: Object.freeze(kinds),
  });
  const key = definitionKey(def);
  if (!known.has(key)) known.set(key, def as unknown as ActorDefinition);
  return def;
}

/** Every definition made in this thread, by `url#name`: the first one made under a key. */
const known = new Map<string, ActorDefinition>();

/**
 * The key that names a definition across threads and processes: `${url}#${name}`. Refs carry it,
 * and `refOf` schemas check it.
 *
 * @param def An actor definition.
 * @returns Its `url#name`.
 *
 * @example
 * ```ts
 * import { defineActor } from "@troupe/troupe";
 * import { definitionKey } from "@troupe/troupe/actors";
 * import { z } from "zod";
 * import { equal } from "node:assert/strict";
 *
 * const Echo = defineActor({
 *   name: "echo",
 *   url: import.meta.url,
 *   protocol: { ping: z.object({}) },
 *   init: () => ({}),
 *   handlers: { ping() {} },
 * });
 * equal(definitionKey(Echo), `${import.meta.url}#echo`);
 * ```
 */
export function definitionKey(def: { readonly url: string; readonly name: string }): string {
  return `${def.url}#${def.name}`;
}

/**
 * The definition made in this thread under `url#name`, if any: how the host finds the definition
 * of a child an actor spawns from a guest (only definitions whose module this thread imported
 * can be spawned that way).
 */
export function knownDefinition(key: string): ActorDefinition | undefined {
  return known.get(key);
}

/**
 * Whether a value is an actor definition made by {@linkcode defineActor}.
 *
 * @param value Any value.
 * @returns `true` for a definition.
 *
 * @example
 * ```ts
 * import { isActorDefinition } from "@troupe/troupe/actors";
 * import { equal } from "node:assert/strict";
 *
 * equal(isActorDefinition({ name: "x" }), false);
 * ```
 */
export function isActorDefinition(value: unknown): value is ActorDefinition {
  return typeof value === "object" && value !== null &&
    (value as Record<string, unknown>)["~troupe"] === "actor";
}

/** Whether a protocol entry is an ask. */
export function isAsk(value: unknown): value is AskSchema {
  return typeof value === "object" && value !== null &&
    (value as Record<string, unknown>)["~troupe"] === "ask";
}

function isSchema(value: unknown): value is Schema {
  return typeof value === "object" && value !== null &&
    typeof (value as { safeParse?: unknown }).safeParse === "function";
}
