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
  /** Logs with the actor's path as prefix. */
  readonly log: ActorLogger;
}
