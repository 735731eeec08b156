/**
 * Child specs and supervisor specs: the declarative tree. Specs are validated when they are built,
 * before anything starts; a bad spec is a `TypeError` or `RangeError` that names the child and the
 * field.
 *
 * @module
 */

import { z } from "npm:zod@4.6.7";
import type { ActorDefinition, Protocol } from "../actors/define.ts";
import { isActorDefinition } from "../actors/define.ts";
import { depthError, withinDepth } from "../mailbox/codec.ts";
import { type PlacementOption, PLACEMENTS, placementsAccepting } from "../actors/placement.ts";
import { ACTOR_DEFAULTS, actorOptionsSchema, parseOptions } from "./_options.ts";
import type { ActorSettings } from "./system.ts";
import type { Backoff, Intensity, RestartType } from "./policy.ts";

/** How a supervisor restarts its children when one crashes. */
export type Strategy = "one_for_one" | "one_for_all" | "rest_for_one";

/** Options of {@linkcode supervisor}. */
export interface SupervisorOptions {
  /**
   * Which children restart with a crashed one: only it (`"one_for_one"`), all of them
   * (`"one_for_all"`), or it and every child started after it (`"rest_for_one"`).
   *
   * @default {"one_for_one"}
   */
  strategy?: Strategy;
  /**
   * More than `maxRestarts` restarts within `periodMs` makes the supervisor give up and fail.
   *
   * @default {{ maxRestarts: 10, periodMs: 5000 }}
   */
  intensity?: Partial<Intensity>;
  /**
   * The delay before each restart grows from `initialMs` by `factor` per consecutive restart, up to
   * `maxMs`, spread by ±`jitter`.
   *
   * @default {{ initialMs: 10, maxMs: 2000, factor: 2, jitter: 0.2 }}
   */
  backoff?: Partial<Backoff>;
  /** The children, started in this order and stopped in reverse. */
  children?: ChildSpec[];
}

/** A validated supervisor spec, made by {@linkcode supervisor}. */
export interface SupervisorSpec {
  /** Brands the object as a supervisor spec. */
  readonly "~troupe": "supervisor";
  /** The restart strategy. */
  readonly strategy: Strategy;
  /** The restart intensity. */
  readonly intensity: Intensity;
  /** The backoff between restarts. */
  readonly backoff: Backoff;
  /** The children, in start order. */
  readonly children: readonly ChildSpec[];
}

/**
 * Options of {@linkcode child}: the actor's settings plus how it is supervised.
 *
 * @typeParam A The arguments the actor's `init` takes.
 */
export interface ChildOptions<A = unknown> extends ActorSettings {
  /** What `init` receives. */
  args?: A;
  /**
   * When the child is restarted.
   *
   * @default {"permanent"}
   */
  restart?: RestartType;
  /**
   * How long the child may take to stop (its `onStop`) before it is killed, in milliseconds.
   *
   * @default {5000}
   */
  shutdownMs?: number;
  /**
   * Keep a pre-spawned worker ready for this `"worker"` child, so that a restart after its worker
   * died does not wait for a new worker to start.
   *
   * @default {false}
   */
  spare?: boolean;
}

/** A validated child spec, made by {@linkcode child}. */
export interface ChildSpec {
  /** Brands the object as a child spec. */
  readonly "~troupe": "child";
  /** The child's id, unique among its siblings; its path segment. */
  readonly id: string;
  /** What runs: an actor definition or a supervisor spec. */
  readonly target: ActorDefinition | SupervisorSpec;
  /** The actor's settings and `init` arguments (empty for a supervisor). */
  readonly options: Readonly<ActorSettings> & { readonly args?: unknown };
  /** When the child is restarted. */
  readonly restart: RestartType;
  /** How long the child may take to stop. */
  readonly shutdownMs: number;
  /** Whether a warm spare worker is kept. */
  readonly spare: boolean;
}

const DEFAULT_INTENSITY: Intensity = { maxRestarts: 10, periodMs: 5_000 };
const DEFAULT_BACKOFF: Backoff = { initialMs: 10, maxMs: 2_000, factor: 2, jitter: 0.2 };

const ID = /^[A-Za-z0-9_.:-]+$/;

const supervisorSchema = z.strictObject({
  strategy: z.enum(["one_for_one", "one_for_all", "rest_for_one"]).optional(),
  intensity: z.strictObject({
    maxRestarts: z.number().int().min(0).optional(),
    periodMs: z.number().positive().optional(),
  }).optional(),
  backoff: z.strictObject({
    initialMs: z.number().min(0).optional(),
    maxMs: z.number().min(0).optional(),
    factor: z.number().min(1).optional(),
    jitter: z.number().min(0).max(1).optional(),
  }).optional(),
  children: z.array(z.unknown()).optional(),
});

const supervisionSchema = z.object({
  restart: z.enum(["permanent", "transient", "temporary"]).optional(),
  shutdownMs: z.number().positive().optional(),
  spare: z.boolean().optional(),
});

/**
 * Declares a supervisor: a strategy, a restart intensity, a backoff and its children.
 *
 * @param options The strategy, intensity, backoff and children.
 * @returns The validated spec.
 * @throws {TypeError} When an option has the wrong type, or two children share an id.
 * @throws {RangeError} When a number is out of range.
 *
 * @example A supervisor of two actors
 * ```ts
 * import { ask, child, defineActor, supervisor } from "@troupe/troupe";
 * import { z } from "zod";
 * import { equal } from "node:assert/strict";
 *
 * export const Echo = defineActor({
 *   name: "echo",
 *   url: import.meta.url,
 *   protocol: { echo: ask(z.string(), z.string()) },
 *   init: () => ({}),
 *   handlers: { echo: (_state, text) => text },
 * });
 *
 * const root = supervisor({
 *   strategy: "rest_for_one",
 *   intensity: { maxRestarts: 3, periodMs: 5_000 },
 *   children: [child("a", Echo), child("b", Echo, { restart: "transient" })],
 * });
 * equal(root.children.length, 2);
 * ```
 */
export function supervisor(options: SupervisorOptions = {}): SupervisorSpec {
  const parsed = parseOptions(supervisorSchema, options, "Cannot declare supervisor");
  if (parsed.backoff?.initialMs !== undefined && parsed.backoff.maxMs !== undefined) {
    if (parsed.backoff.maxMs < parsed.backoff.initialMs) {
      throw new RangeError(
        `Cannot declare supervisor: backoff.maxMs must be at least backoff.initialMs, received ${parsed.backoff.maxMs}`,
      );
    }
  }
  const children = (options.children ?? []) as ChildSpec[];
  const ids = new Set<string>();
  for (const [index, spec] of children.entries()) {
    if (!isChildSpec(spec)) {
      throw new TypeError(
        `Cannot declare supervisor: children.${index} must be made by child(), received ${typeof spec}`,
      );
    }
    if (ids.has(spec.id)) {
      throw new TypeError(`Cannot declare supervisor: two children have the id "${spec.id}"`);
    }
    ids.add(spec.id);
  }
  return Object.freeze({
    "~troupe": "supervisor" as const,
    strategy: parsed.strategy ?? "one_for_one",
    intensity: Object.freeze({ ...DEFAULT_INTENSITY, ...stripUndefined(parsed.intensity) }),
    backoff: Object.freeze({ ...DEFAULT_BACKOFF, ...stripUndefined(parsed.backoff) }),
    children: Object.freeze([...children]),
  });
}

/**
 * Declares a child of a supervisor: an actor with its settings, or a nested supervisor.
 *
 * @typeParam P The actor's protocol.
 * @typeParam A The arguments its `init` takes.
 * @typeParam S Its state.
 * @param id Unique among its siblings; the child's path segment.
 * @param target An actor definition or a supervisor spec.
 * @param options The actor's settings, its restart type and its shutdown time; required, with `args`,
 *   when the definition's `init` needs arguments (a compile error otherwise).
 * @returns The validated spec.
 * @throws {TypeError} When the id, the target or an option is of the wrong type, naming the child.
 * @throws {RangeError} When a number is out of range, naming the child and the field.
 *
 * @example
 * ```ts
 * import { child, defineActor } from "@troupe/troupe";
 * import { throws } from "node:assert/strict";
 *
 * export const Idle = defineActor({
 *   name: "idle",
 *   url: import.meta.url,
 *   protocol: {},
 *   init: () => ({}),
 *   handlers: {},
 * });
 * throws(() => child("db", Idle, { shutdownMs: -1 }), {
 *   name: "RangeError",
 *   message: 'Cannot declare child "db": shutdownMs must be greater than 0, received -1',
 * });
 * ```
 */
export function child<P extends Protocol, A, S>(
  id: string,
  target: ActorDefinition<P, A, S> | SupervisorSpec,
  ...[options = {}]: undefined extends A ? [options?: ChildOptions<A>]
    : [options: ChildOptions<A> & { args: A }]
): ChildSpec {
  return makeChild(id, target, options, "Cannot declare child");
}

/** {@linkcode child} with the opening of its error messages given (`"Cannot spawn"`). */
export function makeChild<P extends Protocol, A, S>(
  id: string,
  target: ActorDefinition<P, A, S> | SupervisorSpec,
  options: ChildOptions<A>,
  verb: string,
): ChildSpec {
  if (typeof id !== "string" || !ID.test(id)) {
    throw new TypeError(
      `${verb}: id must use letters, digits, _ . : - only, received ${JSON.stringify(id)}`,
    );
  }
  const where = `${verb} "${id}"`;
  const isSupervisor = isSupervisorSpec(target);
  if (!isSupervisor && !isActorDefinition(target)) {
    throw new TypeError(`${where}: target must be an actor definition or a supervisor spec`);
  }
  const { restart, shutdownMs, spare, ...settings } = options;
  const supervision = parseOptions(supervisionSchema, { restart, shutdownMs, spare }, where);
  if (isSupervisor && Object.keys(settings).length > 0) {
    throw new TypeError(
      `${where}: a supervisor child takes only restart and shutdownMs, received ${
        Object.keys(settings).join(", ")
      }`,
    );
  }
  const parsed = isSupervisor ? {} : parseOptions(actorOptionsSchema, settings, where);
  if ("name" in parsed && parsed.name !== undefined) {
    throw new TypeError(`${where}: name is the child's id, do not set it`);
  }
  const placement = parsed.placement ?? ACTOR_DEFAULTS.placement;
  const accepts = (option: PlacementOption) => PLACEMENTS[placement].options.includes(option);
  if (supervision.spare && !accepts("spare")) {
    throw new TypeError(`${where}: spare applies to ${onlyFor("spare")} only`);
  }
  if (parsed.permissions !== undefined && !accepts("permissions")) {
    // A shared or local guest runs with its host's permissions: silently granting them all would
    // betray a caller who asked for a sandbox.
    throw new TypeError(
      `${where}: permissions apply to ${onlyFor("permissions")} only, received "${placement}"`,
    );
  }
  if (parsed.maxHeapMb !== undefined && !accepts("maxHeapMb")) {
    throw new TypeError(`${where}: maxHeapMb applies to ${onlyFor("maxHeapMb")} only`);
  }
  // The args cross to the guest by structured clone, which a deep enough value overflows.
  if (!withinDepth(parsed.args)) throw depthError(where, "args");
  return Object.freeze({
    "~troupe": "child" as const,
    id,
    target: target as ActorDefinition | SupervisorSpec,
    options: Object.freeze(parsed) as ChildSpec["options"],
    restart: supervision.restart ?? "permanent",
    shutdownMs: supervision.shutdownMs ?? 5_000,
    spare: supervision.spare ?? false,
  });
}

/** The placements that accept `option`, for a message: `the "worker" and "process" placements`. */
function onlyFor(option: PlacementOption): string {
  const names = placementsAccepting(option).map((name) => `"${name}"`);
  const list = names.length === 1
    ? names[0]
    : `${names.slice(0, -1).join(", ")} and ${names[names.length - 1]}`;
  return `the ${list} placement${names.length === 1 ? "" : "s"}`;
}

/** Whether a value is a supervisor spec made by {@linkcode supervisor}. */
export function isSupervisorSpec(value: unknown): value is SupervisorSpec {
  return typeof value === "object" && value !== null &&
    (value as Record<string, unknown>)["~troupe"] === "supervisor";
}

function isChildSpec(value: unknown): value is ChildSpec {
  return typeof value === "object" && value !== null &&
    (value as Record<string, unknown>)["~troupe"] === "child";
}

function stripUndefined<T extends object>(value: T | undefined): Partial<T> {
  if (value === undefined) return {};
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<
    T
  >;
}
