/**
 * The pure parts of supervision, as in OTP's supervisor: whether an exit is restarted, the sliding
 * window of restart intensity, and the backoff before a restart. No workers, no clocks: callers
 * pass the time.
 *
 * @module
 */

/**
 * When a child is restarted: `"permanent"` always, `"transient"` only after a crash, `"temporary"`
 * never.
 */
export type RestartType = "permanent" | "transient" | "temporary";

/** How a child ended: it crashed, or it stopped itself (`ctx.self.stop()`). */
export type ExitReason = "crash" | "normal";

/** Restart intensity: more than `maxRestarts` within `periodMs` makes a supervisor give up. */
export interface Intensity {
  /** How many restarts the window tolerates. */
  readonly maxRestarts: number;
  /** The window's length in milliseconds. */
  readonly periodMs: number;
}

/** Exponential backoff with jitter between a crash and its restart. */
export interface Backoff {
  /** The first delay, in milliseconds. */
  readonly initialMs: number;
  /** The longest delay, in milliseconds. */
  readonly maxMs: number;
  /** Each consecutive restart multiplies the delay by this. */
  readonly factor: number;
  /** A random share of the delay, ±, from 0 (none) to 1. */
  readonly jitter: number;
}

const TABLE: Record<RestartType, Record<ExitReason, boolean>> = {
  permanent: { crash: true, normal: true },
  transient: { crash: true, normal: false },
  temporary: { crash: false, normal: false },
};

/**
 * Whether a child of restart type `type` that ended for `reason` is restarted.
 *
 * @example
 * ```ts
 * import { shouldRestart } from "@troupe/troupe/supervisors";
 * import { equal } from "node:assert/strict";
 *
 * equal(shouldRestart("transient", "crash"), true);
 * equal(shouldRestart("transient", "normal"), false);
 * ```
 */
export function shouldRestart(type: RestartType, reason: ExitReason): boolean {
  return TABLE[type][reason];
}

/**
 * Records a restart at `now` in a sliding window of restart times.
 *
 * @param times Earlier restart times, oldest first.
 * @param now The time of this restart.
 * @param intensity The window and its tolerance.
 * @returns The times still inside the window (this one included) and whether they exceed
 * `maxRestarts`.
 *
 * @example
 * ```ts
 * import { recordRestart } from "@troupe/troupe/supervisors";
 * import { equal } from "node:assert/strict";
 *
 * const intensity = { maxRestarts: 2, periodMs: 1000 };
 * let window = recordRestart([], 0, intensity);
 * window = recordRestart(window.times, 500, intensity);
 * equal(recordRestart(window.times, 900, intensity).exceeded, true);
 * equal(recordRestart(window.times, 1600, intensity).exceeded, false);
 * ```
 */
export function recordRestart(
  times: readonly number[],
  now: number,
  intensity: Intensity,
): { times: number[]; exceeded: boolean } {
  // As in OTP's supervisor: a restart exactly periodMs ago still counts.
  const kept = times.filter((t) => now - t <= intensity.periodMs);
  kept.push(now);
  return { times: kept, exceeded: kept.length > intensity.maxRestarts };
}

/**
 * The delay before the `attempt`-th consecutive restart (1 for the first):
 * `min(maxMs, initialMs × factor^(attempt-1))`, spread by ±`jitter`.
 *
 * @param attempt How many restarts of this child fall in the current window, this one included.
 * @param backoff The backoff settings.
 * @param random A source of numbers in [0, 1).
 *
 * @example
 * ```ts
 * import { backoffDelay } from "@troupe/troupe/supervisors";
 * import { equal } from "node:assert/strict";
 *
 * const backoff = { initialMs: 10, maxMs: 100, factor: 2, jitter: 0 };
 * equal(backoffDelay(1, backoff), 10);
 * equal(backoffDelay(3, backoff), 40);
 * equal(backoffDelay(10, backoff), 100);
 * ```
 */
export function backoffDelay(
  attempt: number,
  backoff: Backoff,
  random: () => number = Math.random,
): number {
  const base = Math.min(backoff.maxMs, backoff.initialMs * backoff.factor ** (attempt - 1));
  const spread = base * backoff.jitter * (2 * random() - 1);
  return Math.max(0, Math.round(base + spread));
}
