/**
 * The error classes Troupe throws for conditions callers catch.
 *
 * Every class sets `name`, accepts `ErrorOptions` so that `cause` chains survive, and carries the
 * facts a handler needs as read-only fields (the actor's path, the message kind, the timeout).
 * Bad arguments are `TypeError` or `RangeError`, never one of these.
 *
 * @example Telling the errors apart
 * ```ts
 * import { AskTimeoutError, ActorStoppedError } from "@troupe/troupe/errors";
 * import { ok as assert } from "node:assert/strict";
 *
 * const error: Error = new AskTimeoutError("/counter", "get", 50);
 * assert(error instanceof AskTimeoutError);
 * assert(!(error instanceof ActorStoppedError));
 * ```
 *
 * @module
 */

/**
 * A message did not match its schema, or named a kind the protocol does not have. The message never
 * reached a handler: an ask rejects with this error and a tell goes to dead letters with it.
 *
 * @example
 * ```ts
 * import { InvalidMessageError } from "@troupe/troupe/errors";
 * import { equal } from "node:assert/strict";
 *
 * const error = new InvalidMessageError("/counter", "add", "n: expected number, received string");
 * equal(error.message, 'Invalid "add" message for /counter: n: expected number, received string');
 * ```
 */
export class InvalidMessageError extends Error {
  /** The path of the actor the message was for. */
  readonly path: string;
  /** The message kind. */
  readonly kind: string;
  /** What was wrong, one line per schema issue with its path. */
  readonly detail: string;

  /**
   * Creates the error.
   *
   * @param path The path of the actor the message was for.
   * @param kind The message kind.
   * @param detail What was wrong.
   * @param options The `cause` (the schema error) travels here.
   */
  constructor(path: string, kind: string, detail: string, options?: ErrorOptions) {
    super(`Invalid "${kind}" message for ${path}: ${detail}`, options);
    this.name = "InvalidMessageError";
    this.path = path;
    this.kind = kind;
    this.detail = detail;
  }
}

/**
 * An ask got no reply within its timeout. The actor may still process the message.
 *
 * @example
 * ```ts
 * import { AskTimeoutError } from "@troupe/troupe/errors";
 * import { equal } from "node:assert/strict";
 *
 * const error = new AskTimeoutError("/counter", "get", 50);
 * equal(error.message, 'Ask "get" to /counter timed out after 50 ms');
 * ```
 */
export class AskTimeoutError extends Error {
  /** The path of the actor that was asked. */
  readonly path: string;
  /** The message kind. */
  readonly kind: string;
  /** The timeout that passed, in milliseconds. */
  readonly timeoutMs: number;

  /**
   * Creates the error.
   *
   * @param path The path of the actor that was asked.
   * @param kind The message kind.
   * @param timeoutMs The timeout that passed, in milliseconds.
   * @param options Standard error options.
   */
  constructor(path: string, kind: string, timeoutMs: number, options?: ErrorOptions) {
    super(`Ask "${kind}" to ${path} timed out after ${timeoutMs} ms`, options);
    this.name = "AskTimeoutError";
    this.path = path;
    this.kind = kind;
    this.timeoutMs = timeoutMs;
  }
}

/**
 * The actor has stopped (or is stopping) and takes no more messages; asks that were queued or in
 * flight when it stopped reject with this error too.
 *
 * @example
 * ```ts
 * import { ActorStoppedError } from "@troupe/troupe/errors";
 * import { equal } from "node:assert/strict";
 *
 * equal(new ActorStoppedError("/counter").message, "Actor /counter has stopped");
 * ```
 */
export class ActorStoppedError extends Error {
  /** The path of the stopped actor. */
  readonly path: string;

  /**
   * Creates the error.
   *
   * @param path The path of the stopped actor.
   * @param options Standard error options.
   */
  constructor(path: string, options?: ErrorOptions) {
    super(`Actor ${path} has stopped`, options);
    this.name = "ActorStoppedError";
    this.path = path;
  }
}

/**
 * The actor crashed (its worker died, or a handler failed) while the message was taken but not yet
 * answered. `cause` holds the crash's error when one is known.
 *
 * @example
 * ```ts
 * import { ActorCrashedError } from "@troupe/troupe/errors";
 * import { equal } from "node:assert/strict";
 *
 * const error = new ActorCrashedError("/worker-1", { cause: new Error("boom") });
 * equal(error.message, "Actor /worker-1 crashed: boom");
 * ```
 */
export class ActorCrashedError extends Error {
  /** The path of the actor that crashed. */
  readonly path: string;

  /**
   * Creates the error.
   *
   * @param path The path of the actor that crashed.
   * @param options The crash's error travels as `cause`.
   */
  constructor(path: string, options?: ErrorOptions) {
    const reason = options?.cause instanceof Error ? `: ${options.cause.message}` : "";
    super(`Actor ${path} crashed${reason}`, options);
    this.name = "ActorCrashedError";
    this.path = path;
  }
}

/**
 * A mailbox is full and its overflow policy refuses the message: `"reject"` always, and
 * `"backpressure"` for a `tell` (which cannot wait; `send` waits instead).
 *
 * @example
 * ```ts
 * import { MailboxFullError } from "@troupe/troupe/errors";
 * import { equal } from "node:assert/strict";
 *
 * equal(new MailboxFullError(100, "/jobs").message, "Mailbox of /jobs is full (capacity 100)");
 * ```
 */
export class MailboxFullError extends Error {
  /** The mailbox's capacity. */
  readonly capacity: number;
  /** Whose mailbox it is: an actor's path, or a description. */
  readonly owner: string;

  /**
   * Creates the error.
   *
   * @param capacity The mailbox's capacity.
   * @param owner Whose mailbox it is.
   * @param options Standard error options.
   */
  constructor(capacity: number, owner = "mailbox", options?: ErrorOptions) {
    super(`Mailbox of ${owner} is full (capacity ${capacity})`, options);
    this.name = "MailboxFullError";
    this.capacity = capacity;
    this.owner = owner;
  }
}

/**
 * A mailbox or queue was closed: a waiting `take`/`put` is woken with this error, and so is any
 * later call.
 *
 * @example
 * ```ts
 * import { MailboxClosedError } from "@troupe/troupe/errors";
 * import { equal } from "node:assert/strict";
 *
 * equal(new MailboxClosedError("/jobs").message, "Mailbox of /jobs is closed");
 * ```
 */
export class MailboxClosedError extends Error {
  /** Whose mailbox it is: an actor's path, or a description. */
  readonly owner: string;

  /**
   * Creates the error.
   *
   * @param owner Whose mailbox it is.
   * @param options Standard error options.
   */
  constructor(owner = "mailbox", options?: ErrorOptions) {
    super(`Mailbox of ${owner} is closed`, options);
    this.name = "MailboxClosedError";
    this.owner = owner;
  }
}

/**
 * An actor could not be started: its module did not load, did not export the definition, or its
 * `init` threw. `cause` holds the underlying error.
 *
 * @example
 * ```ts
 * import { SpawnError } from "@troupe/troupe/errors";
 * import { equal } from "node:assert/strict";
 *
 * const error = new SpawnError("/db", "init threw", { cause: new Error("no such file") });
 * equal(error.message, "Cannot start /db: init threw: no such file");
 * ```
 */
export class SpawnError extends Error {
  /** The path the actor would have had. */
  readonly path: string;

  /**
   * Creates the error.
   *
   * @param path The path the actor would have had.
   * @param reason What went wrong, in a few words.
   * @param options The underlying error travels as `cause`.
   */
  constructor(path: string, reason: string, options?: ErrorOptions) {
    const detail = options?.cause instanceof Error ? `: ${options.cause.message}` : "";
    super(`Cannot start ${path}: ${reason}${detail}`, options);
    this.name = "SpawnError";
    this.path = path;
  }
}

/**
 * A supervisor restarted its children more than `maxRestarts` times within `periodMs` and gave up.
 * It stopped its children and failed; at the root, the system shuts down and `system.closed()`
 * resolves with this error.
 *
 * @example
 * ```ts
 * import { RestartIntensityError } from "@troupe/troupe/errors";
 * import { equal } from "node:assert/strict";
 *
 * const error = new RestartIntensityError("/", "db", 3, 5000);
 * equal(error.message, 'Cannot restart child "db" of /: restart intensity 3 in 5000 ms exceeded');
 * ```
 */
export class RestartIntensityError extends Error {
  /** The supervisor that gave up. */
  readonly path: string;
  /** The child whose crash exceeded the intensity. */
  readonly child: string;
  /** The supervisor's `intensity.maxRestarts`. */
  readonly maxRestarts: number;
  /** The supervisor's `intensity.periodMs`. */
  readonly periodMs: number;

  /**
   * Creates the error.
   *
   * @param path The supervisor that gave up.
   * @param child The child whose crash exceeded the intensity.
   * @param maxRestarts The supervisor's `intensity.maxRestarts`.
   * @param periodMs The supervisor's `intensity.periodMs`.
   * @param options The last crash travels as `cause`.
   */
  constructor(
    path: string,
    child: string,
    maxRestarts: number,
    periodMs: number,
    options?: ErrorOptions,
  ) {
    super(
      `Cannot restart child "${child}" of ${path}: restart intensity ${maxRestarts} in ${periodMs} ms exceeded`,
      options,
    );
    this.name = "RestartIntensityError";
    this.path = path;
    this.child = child;
    this.maxRestarts = maxRestarts;
    this.periodMs = periodMs;
  }
}

/**
 * A guest (a worker, a shared worker or a subprocess) stopped answering heartbeats, or exited
 * without a word. Its actors crash with this error and are restarted elsewhere; a worker's thread
 * that may still be spinning is abandoned and counted in `system.stats().abandonedThreads`.
 *
 * @example
 * ```ts
 * import { HungError } from "@troupe/troupe/errors";
 * import { equal } from "node:assert/strict";
 *
 * const error = new HungError("/spinner", 3000);
 * equal(error.message, "Guest of /spinner answered no heartbeat for 3000 ms");
 * ```
 */
export class HungError extends Error {
  /** The guest: the path of its first actor, or the shared worker's name. */
  readonly guest: string;
  /** How long it was silent, in milliseconds. */
  readonly silentMs: number;

  /**
   * Creates the error.
   *
   * @param guest The guest: the path of its first actor, or the shared worker's name.
   * @param silentMs How long it was silent, in milliseconds.
   * @param options Standard error options.
   */
  constructor(guest: string, silentMs: number, options?: ErrorOptions) {
    super(`Guest of ${guest} answered no heartbeat for ${silentMs} ms`, options);
    this.name = "HungError";
    this.guest = guest;
    this.silentMs = silentMs;
  }
}

/**
 * A wait for a result ran out of time: `future.result({ timeoutMs })`, `asCompleted`, a pool task
 * past its `taskTimeoutMs`, a queue's `get`/`put` with `timeoutMs`. What was awaited may still
 * finish.
 *
 * @example
 * ```ts
 * import { TimeoutError } from "@troupe/troupe/errors";
 * import { equal } from "node:assert/strict";
 *
 * equal(new TimeoutError("result", 10).message, "Timed out after 10 ms waiting for result");
 * ```
 */
export class TimeoutError extends Error {
  /** What was awaited. */
  readonly what: string;
  /** The timeout that passed, in milliseconds. */
  readonly timeoutMs: number;

  /**
   * Creates the error.
   *
   * @param what What was awaited, in a few words.
   * @param timeoutMs The timeout that passed, in milliseconds.
   * @param options Standard error options.
   */
  constructor(what: string, timeoutMs: number, options?: ErrorOptions) {
    super(`Timed out after ${timeoutMs} ms waiting for ${what}`, options);
    this.name = "TimeoutError";
    this.what = what;
    this.timeoutMs = timeoutMs;
  }
}

/**
 * A task or future was cancelled before it produced a result.
 *
 * @example
 * ```ts
 * import { CancelledError } from "@troupe/troupe/errors";
 * import { equal } from "node:assert/strict";
 *
 * equal(new CancelledError("task 3").message, "task 3 was cancelled");
 * ```
 */
export class CancelledError extends Error {
  /** What was cancelled. */
  readonly what: string;

  /**
   * Creates the error.
   *
   * @param what What was cancelled, in a few words.
   * @param options Standard error options.
   */
  constructor(what: string, options?: ErrorOptions) {
    super(`${what} was cancelled`, options);
    this.name = "CancelledError";
    this.what = what;
  }
}

/**
 * A handler ran longer than its actor's `handlerTimeoutMs` (counted from the message's start or
 * the handler's last `ctx.working()`). It is a crash of that actor: the message is charged per its
 * delivery mode, and the actor restarts (in a new guest when the handler blocked its thread).
 *
 * @example
 * ```ts
 * import { HandlerTimeoutError } from "@troupe/troupe/errors";
 * import { equal } from "node:assert/strict";
 *
 * const error = new HandlerTimeoutError("/jobs", "work", 100);
 * equal(error.message, 'Handler of "work" in /jobs did not settle within 100 ms');
 * ```
 */
export class HandlerTimeoutError extends Error {
  /** The path of the actor whose handler timed out. */
  readonly path: string;
  /** The kind of the message it was handling. */
  readonly kind: string;
  /** The limit that passed, in milliseconds. */
  readonly timeoutMs: number;

  /**
   * Creates the error.
   *
   * @param path The path of the actor whose handler timed out.
   * @param kind The kind of the message it was handling.
   * @param timeoutMs The limit that passed, in milliseconds.
   * @param options Standard error options.
   */
  constructor(path: string, kind: string, timeoutMs: number, options?: ErrorOptions) {
    super(`Handler of "${kind}" in ${path} did not settle within ${timeoutMs} ms`, options);
    this.name = "HandlerTimeoutError";
    this.path = path;
    this.kind = kind;
    this.timeoutMs = timeoutMs;
  }
}
