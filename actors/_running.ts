/**
 * Which actor's handler runs right now on this thread's local guest (its uid), while the handler
 * runs synchronously. The host reads it when a ref is stopped from a `"local"` handler: a stop of
 * the handler's own actor, or of an ancestor that stops it first, must not wait for that handler.
 *
 * @module
 */

let running: string | undefined;

/** The uid of the local actor whose handler is running synchronously now, if any. */
export function runningLocal(): string | undefined {
  return running;
}

/** Marks the local actor `uid` as running (`undefined` once its handler returned or awaited). */
export function markRunningLocal(uid: string | undefined): void {
  running = uid;
}
