/**
 * Heartbeats: how the placement layer notices a silent guest (a hung or vanished worker or
 * subprocess). Every tick pings each guest that has a thread of its own and declares one that has
 * said nothing for too long hung: it dies with `HungError`, and its actors crash and restart
 * elsewhere. The owner of the loop (the actor system) hears of each through a callback and may run
 * checks of its own on the same tick.
 *
 * @module
 */

import { HungError } from "../errors.ts";
import type { Endpoint } from "./endpoint.ts";
import { liveClock } from "./_clock.ts";

/** How long a new guest may take to load its modules before heartbeats count it as hung. */
export const START_TIMEOUT_MS = 30_000;

/** Options of {@linkcode startHeartbeat}. */
export interface HeartbeatSettings {
  /** How often the loop ticks, in milliseconds. */
  readonly intervalMs: number;
  /** How long a guest may stay silent before it is hung; `undefined` pings nothing (ticks only). */
  readonly timeoutMs: number | undefined;
  /** Runs first on every tick (the system checks handler timeouts there). */
  readonly tick?: () => void;
  /**
   * A guest was declared hung, just before it dies. `leftThread` is whether ending it leaves a
   * thread running (a Web Worker spinning in a synchronous loop), for the abandoned-thread count.
   */
  readonly hung?: (endpoint: Endpoint, error: HungError, leftThread: boolean) => void;
}

/**
 * Starts the heartbeat loop over `endpoints` (read again on every tick). The timer is unref'd: it
 * never holds the process open.
 *
 * @returns A function that stops the loop.
 */
export function startHeartbeat(
  endpoints: () => Iterable<Endpoint>,
  settings: HeartbeatSettings,
): () => void {
  const { intervalMs, timeoutMs, tick, hung } = settings;
  const timer = liveClock.setInterval(() => {
    tick?.();
    if (timeoutMs === undefined) return;
    const now = liveClock.now();
    for (const endpoint of endpoints()) {
      // The host's own thread answers nothing while it is blocked, and this loop would not run.
      if (endpoint.traits.trusted) continue;
      const silent = now - endpoint.lastHeard;
      // A guest that has not said a word yet is still loading its modules: give it longer.
      const limit = endpoint.heard ? timeoutMs : Math.max(timeoutMs, START_TIMEOUT_MS);
      if (silent > limit) {
        const error = new HungError(endpoint.label, Math.round(silent));
        hung?.(endpoint, error, endpoint.leavesThread);
        endpoint.die(error);
      } else {
        endpoint.ping();
      }
    }
  }, intervalMs);
  try {
    Deno.unrefTimer(timer);
  } catch {
    // A fake timer in tests: nothing to unref.
  }
  return () => liveClock.clearInterval(timer);
}
