/**
 * What a handler knows of the actor it runs in.
 *
 * @module
 */

import type { Protocol } from "./define.ts";
import type { ActorRef } from "./ref.ts";

/** A logger that prefixes each line with the actor's path. */
export interface ActorLogger {
  /** Logs at debug level. */
  debug(...data: unknown[]): void;
  /** Logs at info level. */
  info(...data: unknown[]): void;
  /** Logs at warn level. */
  warn(...data: unknown[]): void;
  /** Logs at error level. */
  error(...data: unknown[]): void;
}

/**
 * Which delivery of the current message a handler is running: `ctx.delivery`.
 *
 * @example Noticing a redelivery
 * ```ts
 * import { defineActor } from "@troupe/troupe";
 * import { z } from "zod";
 *
 * export const Jobs = defineActor({
 *   name: "jobs",
 *   url: import.meta.url,
 *   protocol: { run: z.object({ id: z.number() }) },
 *   init: () => ({}),
 *   handlers: {
 *     run(_state, msg, ctx) {
 *       const { attempt, maxDeliveries } = ctx.delivery;
 *       if (attempt > 1) ctx.log.warn(`job ${msg.id}: attempt ${attempt} of ${maxDeliveries}`);
 *     },
 *   },
 * });
 * ```
 */
export interface DeliveryInfo {
  /**
   * 1 for the first delivery; one more for each earlier delivery that was charged (a crash while
   * it ran, with `delivery: "at_least_once"`). A redelivery after a crash that struck while the
   * message was only prefetched, not started, is not counted.
   */
  readonly attempt: number;
  /**
   * The actor's `maxDeliveries` with `delivery: "at_least_once"` (after that many charged
   * deliveries the message is quarantined), and 1 with `"at_most_once"`.
   */
  readonly maxDeliveries: number;
}

/**
 * The context every `init`, handler, `onStop` and `onRestart` receives.
 *
 * @typeParam P The actor's protocol.
 */
export interface ActorContext<P extends Protocol = Protocol> {
  /** A reference to this actor; messages sent through it join the back of its mailbox. */
  readonly self: ActorRef<P>;
  /** The actor's path from the root. */
  readonly path: string;
  /** Aborted when this incarnation of the actor stops or crashes. */
  readonly signal: AbortSignal;
  /**
   * Whether the actor has been asked to stop: a read of a shared-memory flag, cheap enough to call
   * in every iteration of a long synchronous loop, which cannot see `signal` abort.
   */
  shouldStop(): boolean;
  /**
   * Tells the host that the running handler is making progress: its `handlerTimeoutMs` counts
   * from now again. A cheap write to shared memory for the `"worker"`, `"shared"` and `"local"`
   * placements; it has no effect in a `"process"` actor, whose limit counts from the message's
   * delivery (or the previous message's acknowledgement, whichever is later).
   */
  working(): void;
  /**
   * Which delivery of the current message this is, `{ attempt, maxDeliveries }`: a handler can
   * tell a retry from a first run, or give up gracefully on the last attempt. It travels with
   * the delivery; in `init`, `onStop` and `onRestart` it describes the last message handled (or
   * `{ attempt: 1 }` before any).
   */
  readonly delivery: DeliveryInfo;
  /** Logs with the actor's path as prefix. */
  readonly log: ActorLogger;
}
