/**
 * The pieces of option schemas that the mailbox layer and the layers below share, for
 * `parseOptions` in `_util.ts`: each carries its own message, so that an error reads
 * `Cannot get from SharedQueue: timeoutMs must be a number, received "5"` (a `RangeError` when the
 * value is of the right type but out of range).
 *
 * @module
 */

import { z } from "npm:zod@4.6.7";
import { parseOptions } from "../_util.ts";

/** The error of an options value that is not an object. */
export const OBJECT = { error: "must be an object" } as const;

/** A number; anything else is a `TypeError`. */
export const number = z.custom<number>((value) => typeof value === "number", "must be a number");

/** `ms ≥ 0` or `Infinity`; `NaN` and negatives are a `RangeError`. */
export const timeoutMs = number.refine((value) => value >= 0, {
  error: "must be a non-negative number or Infinity",
  params: { range: true },
});

/** An integer from `min` to `max`. */
export function integerFrom(min: number, max: number): z.ZodType<number> {
  return number.refine((value) => Number.isInteger(value) && value >= min && value <= max, {
    error: `must be an integer from ${min} to ${max}`,
    params: { range: true },
  });
}

/** An `AbortSignal`. */
export const signal = z.custom<AbortSignal>(
  (value) => value instanceof AbortSignal,
  "must be an AbortSignal",
);

/** A function. */
export function fn<F>(): z.ZodType<F> {
  return z.custom<F>((value) => typeof value === "function", "must be a function");
}

/** `{ timeoutMs?, signal? }`: the options of every wait. */
export const waitOptionsSchema = z.object({
  timeoutMs: timeoutMs.optional(),
  signal: signal.optional(),
}, OBJECT);

const timeoutOnly = z.object({ timeoutMs });

/**
 * Validates a timeout given as an argument (`waitSync(ms)`, `putSync(item, ms)`) as the option of
 * the same name is: a `TypeError` or `RangeError` that starts with `what`.
 */
export function checkTimeoutMs(value: unknown, what: string): number {
  return parseOptions(timeoutOnly, { timeoutMs: value }, what).timeoutMs;
}
