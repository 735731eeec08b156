/**
 * The typed handle through which every actor is reached, whatever its placement.
 *
 * @module
 */

import type { AskKeys, In, Out, Protocol, TellKeys } from "./define.ts";

/** Options of {@linkcode ActorRef.tell}. */
export interface TellOptions {
  /** `ArrayBuffer`s (or other transferables) to move to the actor instead of copying them. */
  transfer?: Transferable[];
}

/** Options of {@linkcode ActorRef.send}. */
export interface SendOptions extends TellOptions {
  /** Stops waiting for room in a full mailbox; the message is then not sent. */
  signal?: AbortSignal;
}

/** Options of {@linkcode ActorRef.ask}. */
export interface AskOptions extends SendOptions {
  /**
   * How long to wait for the reply, in milliseconds, counted from the call; then the ask rejects
   * with `AskTimeoutError`. `Infinity` waits for as long as the actor lives.
   *
   * @default {the actor's askTimeoutMs: 5000 unless it was spawned with another}
   */
  timeoutMs?: number;
}

/** Options of {@linkcode ActorRef.stop}. */
export interface StopOptions {
  /**
   * How long `onStop` may take before the actor is killed, in milliseconds.
   *
   * @default {the actor's shutdownMs: 5000 unless it was spawned with another}
   */
  timeoutMs?: number;
}

/**
 * Where an actor is in its life, as its ref reports it: a crashed actor whose restart is pending
 * reads `"restarting"`. Exact on the host; the last known status in a guest.
 */
export type RefStatus = "starting" | "running" | "restarting" | "stopping" | "stopped";

/** How an actor ended for good: what {@linkcode ActorRef.stopped} resolves with. */
export interface ActorExit {
  /**
   * `"stopped"` when it was stopped (by its ref, its parent, a shutdown, or itself); `"crashed"`
   * when it crashed and was not restarted (a `temporary` child, a supervisor that gave up, a
   * first `init` that failed).
   */
  readonly reason: "stopped" | "crashed";
  /** The crash, for `"crashed"`. */
  readonly error?: Error;
  /**
   * For an actor whose last guest exited by itself (`Deno.exit(code)` in a handler, a
   * subprocess that ended) and that was not restarted: the exit code.
   */
  readonly exitCode?: number;
}

/**
 * A typed reference to an actor. Wrong kinds, payloads and reply types are compile errors.
 *
 * A ref is a value that travels: in spawn `args`, in messages and in replies, to an actor of any
 * placement, where it arrives as a working ref to the same actor (declare it in a protocol with
 * `refOf`). It names the actor's path and the spawn's unique id: it survives the actor's restarts
 * and never reaches a later actor spawned at the same path.
 *
 * @typeParam P The actor's protocol.
 */
export interface ActorRef<P extends Protocol = Protocol> {
  /** Brands the object as a ref: structured clone keeps it, and the receiver revives the ref. */
  readonly "~troupe": "ref";
  /** The actor's path from the root: `"/counter"`, `"/jobs/worker-1"`. */
  readonly path: string;
  /** The spawn's unique id: a later actor at the same path has another. */
  readonly uid: string;
  /** The definition's `url#name`, which `refOf` schemas check. */
  readonly def: string;
  /**
   * Where the actor is in its life. Exact on the host; in a guest, the last status known there
   * (a ref learns that its actor stopped from a refused call or from {@linkcode stopped}).
   */
  readonly status: RefStatus;
  /**
   * Resolves once the actor is gone for good (Python's `join`): stopped, or crashed and not
   * restarted. Restarts are not ends. Never rejects.
   */
  stopped(): Promise<ActorExit>;
  /**
   * Sends a message without waiting. An invalid payload goes to dead letters with an
   * `InvalidMessageError`; a stopped actor's message goes to dead letters too.
   *
   * @throws {TypeError} When `kind` is not a tell of the protocol.
   * @throws {MailboxFullError} When the mailbox is full and its policy is `"backpressure"` or
   * `"reject"`. A tell made through a ref held by an actor in a guest throws nothing there: what
   * the target refuses (a full mailbox, a kind it does not have) becomes a dead letter
   * (`"overflow"`, `"invalid"`).
   */
  tell<K extends TellKeys<P>>(kind: K, msg: In<P[K]>, options?: TellOptions): void;
  /**
   * Sends a message and resolves once the mailbox has accepted it: the backpressure-aware tell.
   * When the mailbox is full, its overflow policy decides: `"backpressure"` waits for room,
   * `"drop_oldest"` queues the message, resolves and dead-letters the oldest queued one, and
   * `"drop_newest"` and `"reject"` refuse it. A refused message is the caller's: it rejects and is
   * not also a dead letter.
   *
   * @throws {InvalidMessageError} When the payload does not match its schema.
   * @throws {ActorStoppedError} When the actor has stopped.
   * @throws {MailboxFullError} When the mailbox is full and its policy is `"drop_newest"` or
   * `"reject"`.
   */
  send<K extends TellKeys<P>>(kind: K, msg: In<P[K]>, options?: SendOptions): Promise<void>;
  /**
   * Sends a request and resolves with the handler's reply.
   *
   * @throws {InvalidMessageError} When the request or the reply does not match its schema.
   * @throws {AskTimeoutError} When no reply came within `timeoutMs`.
   * @throws {ActorStoppedError} When the actor stopped before replying.
   * @throws {ActorCrashedError} When the actor crashed with the message taken but not answered.
   * @throws {MailboxFullError} When the mailbox is full and its policy is `"drop_newest"` or
   * `"reject"` (as with `send`, not a dead letter), or when `"drop_oldest"` pushed the request out
   * (then it is a dead letter too).
   * @throws The handler's own error, with its name, message, stack, fields and cause.
   */
  ask<K extends AskKeys<P>>(kind: K, msg: In<P[K]>, options?: AskOptions): Promise<Out<P[K]>>;
  /** Stops the actor: its `signal` aborts, `onStop` runs, queued messages go to dead letters. */
  stop(options?: StopOptions): Promise<void>;
}
