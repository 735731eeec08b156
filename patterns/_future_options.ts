/**
 * The option schemas of futures and waits (`Future.create`, `result`, `exception`, `asCompleted`,
 * `wait`, `gather`), for `parseOptions` in `_util.ts`: each option's own message, so that an error
 * reads `Cannot wait: timeoutMs must be a number, received "5"`.
 *
 * @module
 */

import { z } from "npm:zod@4.6.7";
import type { FutureOptions } from "./future.ts";
import { fn, OBJECT, signal, timeoutMs } from "../mailbox/_options.ts";

/** Options of `Future.create`. */
export const futureOptionsSchema = z.strictObject({
  label: z.string({ error: "must be a string" }).optional(),
  onCancel: fn<NonNullable<FutureOptions["onCancel"]>>().optional(),
}, OBJECT);

/** Options of `result` and `exception`. */
export const resultOptionsSchema = z.strictObject({
  timeoutMs: timeoutMs.optional(),
  signal: signal.optional(),
}, OBJECT);

/** Options of `asCompleted`. */
export const asCompletedOptionsSchema = resultOptionsSchema;

const RETURN_WHEN = ["all_completed", "first_completed", "first_exception"] as const;

/** Options of `wait`. */
export const waitOptionsSchema = z.strictObject({
  timeoutMs: timeoutMs.optional(),
  signal: signal.optional(),
  returnWhen: z.enum(RETURN_WHEN, {
    error: `must be one of ${RETURN_WHEN.map((value) => JSON.stringify(value)).join(", ")}`,
  }).optional(),
}, OBJECT);

/** Options of `gather`. */
export const gatherOptionsSchema = z.strictObject({
  settle: z.boolean({ error: "must be a boolean" }).optional(),
}, OBJECT);
