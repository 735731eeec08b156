/**
 * Option schemas shared by `system.spawn` and child specs, and the translation of a zod issue into
 * the `TypeError`/`RangeError` that names the child and the field.
 *
 * @module
 */

import { z } from "npm:zod@4.6.7";
import type { ActorOptions, Delivery, Placement } from "../actors/actor.ts";
import type { OverflowPolicy } from "../mailbox/mailbox.ts";

/** Defaults of every actor option, in one place. */
export const ACTOR_DEFAULTS = {
  placement: "worker",
  capacity: 1_000,
  overflow: "backpressure",
  prefetch: 1_024,
  delivery: "at_most_once",
  maxDeliveries: 3,
  askTimeoutMs: 5_000,
} as const;

const positiveInt = z.number().int().positive();

/** The per-actor options a spawn or a child spec may set. */
export const actorOptionsSchema: z.ZodType<ParsedActorOptions> = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_.:-]+$/, "letters, digits, _ . : - only").optional(),
  args: z.unknown().optional(),
  placement: z.enum(["local", "worker", "shared", "process"]).optional(),
  mailbox: z.strictObject({
    capacity: z.union([positiveInt, z.literal(Infinity)]).optional(),
    overflow: z.enum(["backpressure", "drop_newest", "drop_oldest", "reject"]).optional(),
  }).optional(),
  prefetch: positiveInt.optional(),
  delivery: z.enum(["at_most_once", "at_least_once"]).optional(),
  maxDeliveries: positiveInt.optional(),
  askTimeoutMs: z.union([z.number().positive(), z.literal(Infinity)]).optional(),
  maxHeapMb: positiveInt.optional(),
  drainOnStop: z.boolean().optional(),
  permissions: z.union([
    z.literal("inherit"),
    z.literal("none"),
    z.record(z.string(), z.unknown()),
  ]).optional(),
});

/** Options after validation. */
export interface ParsedActorOptions {
  name?: string;
  args?: unknown;
  placement?: Placement;
  mailbox?: { capacity?: number; overflow?: OverflowPolicy };
  prefetch?: number;
  delivery?: Delivery;
  maxDeliveries?: number;
  askTimeoutMs?: number;
  maxHeapMb?: number;
  drainOnStop?: boolean;
  permissions?: Deno.PermissionOptions | Record<string, unknown>;
}

/**
 * Validates options, throwing a `TypeError` (wrong type, unknown key) or a `RangeError` (a value
 * out of range) that names `what` and the field.
 */
export function parseOptions<S extends z.ZodType>(
  schema: S,
  value: unknown,
  what: string,
): z.output<S> {
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue.path.join(".");
  const received = describe(field === "" ? value : pick(value, issue.path));
  const range = issue.code === "too_small" || issue.code === "too_big" ||
    (issue.code === "invalid_type" && issue.expected === "int") ||
    (issue.code === "invalid_union" && typeof pick(value, issue.path) === "number");
  const message = issue.code === "unrecognized_keys"
    ? `${what}: unknown option ${issue.keys.map((k) => `"${k}"`).join(", ")}`
    : `${what}: ${field || "options"} ${explain(issue)}, received ${received}`;
  throw range ? new RangeError(message) : new TypeError(message);
}

function explain(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case "too_small":
      return issue.inclusive === false
        ? `must be greater than ${issue.minimum}`
        : `must be at least ${issue.minimum}`;
    case "too_big":
      return issue.inclusive === false
        ? `must be less than ${issue.maximum}`
        : `must be at most ${issue.maximum}`;
    case "invalid_value":
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`;
    case "invalid_type":
      return issue.expected === "int" ? "must be an integer" : `must be of type ${issue.expected}`;
    default:
      return issue.message.toLowerCase().startsWith("invalid")
        ? `is invalid (${issue.message})`
        : `must have ${issue.message}`;
  }
}

function pick(value: unknown, path: readonly PropertyKey[]): unknown {
  let current = value;
  for (const key of path) {
    if (typeof current !== "object" || current === null) return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number" || typeof value === "boolean" || value == null) {
    return String(value);
  }
  if (Array.isArray(value)) return "an array";
  return typeof value === "object" ? "an object" : typeof value;
}

/** Merges validated options over the defaults. */
export function resolveActorOptions(
  options: ParsedActorOptions,
  spare = false,
  shutdownMs = 5_000,
): ActorOptions {
  return {
    shutdownMs,
    spare,
    placement: options.placement ?? ACTOR_DEFAULTS.placement,
    capacity: options.mailbox?.capacity ?? ACTOR_DEFAULTS.capacity,
    overflow: options.mailbox?.overflow ?? ACTOR_DEFAULTS.overflow,
    prefetch: options.prefetch ?? ACTOR_DEFAULTS.prefetch,
    delivery: options.delivery ?? ACTOR_DEFAULTS.delivery,
    maxDeliveries: options.maxDeliveries ?? ACTOR_DEFAULTS.maxDeliveries,
    askTimeoutMs: options.askTimeoutMs ?? ACTOR_DEFAULTS.askTimeoutMs,
    permissions: options.permissions as Deno.PermissionOptions | undefined,
    maxHeapMb: options.maxHeapMb,
    drainOnStop: options.drainOnStop ?? false,
  };
}
