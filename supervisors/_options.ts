/**
 * Option schemas shared by `system.spawn` and child specs, and the translation of a zod issue into
 * the `TypeError`/`RangeError` that names the child and the field.
 *
 * @module
 */

import { z } from "npm:zod@4.6.7";
import type { ActorOptions, Delivery } from "../actors/actor.ts";
import { type Placement, PLACEMENT_NAMES } from "../actors/placement.ts";
import type { OverflowPolicy } from "../mailbox/mailbox.ts";
import { parseOptions as parseOptionsOf } from "../_util.ts";

/** Defaults of every actor option, in one place. */
export const ACTOR_DEFAULTS = {
  placement: "worker" satisfies Placement,
  capacity: 1_000,
  overflow: "backpressure",
  prefetch: 1_024,
  delivery: "at_most_once",
  maxDeliveries: 3,
  askTimeoutMs: 5_000,
  stashCapacity: 1_000,
} as const;

const positiveInt = z.number().int().positive();

/** The per-actor options a spawn or a child spec may set. */
export const actorOptionsSchema: z.ZodType<ParsedActorOptions> = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_.:-]+$/, "letters, digits, _ . : - only").optional(),
  args: z.unknown().optional(),
  placement: z.enum(PLACEMENT_NAMES).optional(),
  mailbox: z.strictObject({
    capacity: z.union([positiveInt, z.literal(Infinity)]).optional(),
    overflow: z.enum(["backpressure", "drop_newest", "drop_oldest", "reject"]).optional(),
  }).optional(),
  prefetch: positiveInt.optional(),
  delivery: z.enum(["at_most_once", "at_least_once"]).optional(),
  maxDeliveries: positiveInt.optional(),
  handlerTimeoutMs: z.number().positive().optional(),
  askTimeoutMs: z.union([z.number().positive(), z.literal(Infinity)]).optional(),
  maxHeapMb: positiveInt.optional(),
  drainOnStop: z.boolean().optional(),
  stashCapacity: positiveInt.optional(),
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
  handlerTimeoutMs?: number;
  askTimeoutMs?: number;
  maxHeapMb?: number;
  drainOnStop?: boolean;
  stashCapacity?: number;
  permissions?: Deno.PermissionOptions | Record<string, unknown>;
}

/**
 * Validates options, throwing a `TypeError` (wrong type, unknown key) or a `RangeError` (a value
 * out of range) that names `what` and the field; `undefined` or `null` options are empty.
 */
export function parseOptions<S extends z.ZodType>(
  schema: S,
  value: unknown,
  what: string,
): z.output<S> {
  return parseOptionsOf(schema, value ?? {}, what);
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
    handlerTimeoutMs: options.handlerTimeoutMs,
    askTimeoutMs: options.askTimeoutMs ?? ACTOR_DEFAULTS.askTimeoutMs,
    permissions: options.permissions as Deno.PermissionOptions | undefined,
    maxHeapMb: options.maxHeapMb,
    drainOnStop: options.drainOnStop ?? false,
    stashCapacity: options.stashCapacity ?? ACTOR_DEFAULTS.stashCapacity,
  };
}
