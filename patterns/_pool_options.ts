/**
 * The option schemas of `Pool.start`, `map`/`mapUnordered` and `reduce`, with their defaults, for
 * `parseOptions` in `_util.ts`: an error names the field and the value,
 * `Cannot start pool: size must be a positive integer, received 0`.
 *
 * @module
 */

import { z } from "npm:zod@4.6.7";
import { ActorSystem } from "../supervisors/system.ts";
import { CANCEL_SLOTS } from "./_pool_worker.ts";
import { fn, number, OBJECT, signal } from "../mailbox/_options.ts";

/** Defaults of the pool's options, in one place (`size` defaults to the number of cores). */
export const POOL_DEFAULTS = {
  retries: 0,
  taskTimeoutMs: Infinity,
  cancelGraceMs: 1_000,
  maxInFlight: 64,
  name: "pool",
} as const;

/** An integer of at least `min`; anything else of type number is a `RangeError`. */
function integer(min: 0 | 1) {
  return number.refine((value) => Number.isInteger(value) && value >= min, {
    error: min === 0 ? "must be a non-negative integer" : "must be a positive integer",
    params: { range: true },
  });
}

const positive = number.refine((value) => value > 0, {
  error: "must be positive",
  params: { range: true },
});

/** Options of `Pool.start`. */
export const poolOptionsSchema = z.strictObject({
  size: integer(1).optional(),
  retries: integer(0).optional(),
  taskTimeoutMs: positive.optional(),
  cancelGraceMs: positive.optional(),
  maxInFlight: integer(1)
    .refine((value) => value * 2 <= CANCEL_SLOTS, {
      error: `must be at most ${CANCEL_SLOTS / 2}`,
      params: { range: true },
    })
    .optional(),
  permissions: z.custom<Deno.PermissionOptions>(
    (value) => typeof value === "string" || typeof value === "object" && value !== null,
    "must be a permission set",
  ).optional(),
  system: z.custom<ActorSystem>((value) => value instanceof ActorSystem, "must be an ActorSystem")
    .optional(),
  name: z.string({ error: "must be a string" })
    .regex(/^[A-Za-z0-9_.:-]+$/, "must use letters, digits, _ . : - only")
    .optional(),
}, OBJECT);

/** Options of `map` and `mapUnordered`. */
export const mapOptionsSchema = z.strictObject({
  chunkSize: integer(1).optional(),
  signal: signal.optional(),
}, OBJECT);

/** Options of `reduce`. */
export const reduceOptionsSchema = z.strictObject({
  chunks: integer(1).optional(),
  combine: fn<(a: unknown, b: unknown) => unknown>().optional(),
  initial: z.unknown().optional(),
}, OBJECT);
