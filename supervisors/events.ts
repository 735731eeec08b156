/**
 * Lifecycle events of an actor system, as data: a union keyed on `type`, delivered to listeners
 * and to async iterators.
 *
 * @module
 */

import type { DeadLetter, Placement } from "../actors/actor.ts";
import { Deque } from "../_util.ts";

/** An actor started (first incarnation). */
export interface StartedEvent {
  /** The event's kind. */
  readonly type: "started";
  /** The actor's path (`"/"` for the system). */
  readonly path: string;
  /** Where it runs. */
  readonly placement: Placement;
}

/** An actor crashed: a handler threw, its worker died, or it hung. */
export interface CrashedEvent {
  /** The event's kind. */
  readonly type: "crashed";
  /** The actor's path (`"/"` for the system). */
  readonly path: string;
  /** The error behind the event. */
  readonly error: Error;
}

/** An actor was restarted after a crash. */
export interface RestartedEvent {
  /** The event's kind. */
  readonly type: "restarted";
  /** The actor's path (`"/"` for the system). */
  readonly path: string;
  /** How many times it has been restarted, this one included. */
  readonly restarts: number;
}

/** An actor stopped. */
export interface StoppedEvent {
  /** The event's kind. */
  readonly type: "stopped";
  /** The actor's path (`"/"` for the system). */
  readonly path: string;
}

/** A supervisor gave up and passed the failure to its parent. */
export interface EscalatedEvent {
  /** The event's kind. */
  readonly type: "escalated";
  /** The actor's path (`"/"` for the system). */
  readonly path: string;
  /** The error behind the event. */
  readonly error: Error;
}

/** A message will never be handled. */
export interface DeadLetterEvent {
  /** The event's kind. */
  readonly type: "dead_letter";
  /** The actor's path (`"/"` for the system). */
  readonly path: string;
  /** The message and why it was not handled. */
  readonly letter: DeadLetter;
}

/** An actor stopped answering heartbeats and was replaced; its thread was abandoned. */
export interface HungEvent {
  /** The event's kind. */
  readonly type: "hung";
  /** The actor's path (`"/"` for the system). */
  readonly path: string;
  /** The error behind the event. */
  readonly error: Error;
}

/** The system began to shut down. */
export interface ShutdownEvent {
  /** The event's kind. */
  readonly type: "shutdown";
  /** The actor's path (`"/"` for the system). */
  readonly path: string;
  /** Why: `undefined` for a requested shutdown, else the error that brought the system down. */
  readonly error: Error | undefined;
}

/** Every lifecycle event of an actor system. */
export type SystemEvent =
  | StartedEvent
  | CrashedEvent
  | RestartedEvent
  | StoppedEvent
  | EscalatedEvent
  | DeadLetterEvent
  | HungEvent
  | ShutdownEvent;

/** What a system's `events` offers its users: subscribe, or iterate until the system closes. */
export interface SystemEvents extends AsyncIterable<SystemEvent> {
  /**
   * Calls `listener` with every later event, synchronously as it happens.
   *
   * @returns A function that unsubscribes.
   */
  on(listener: (event: SystemEvent) => void): () => void;
}

/**
 * A stream of system events: subscribe with `on(listener)` or iterate with `for await`. Iteration
 * ends when the system has closed. An iterator that falls behind buffers; a listener that throws
 * is reported on stderr and unsubscribed (its error is not allowed to break the system).
 *
 * @example Counting crashes
 * ```ts
 * import { EventStream } from "@troupe/troupe/supervisors";
 * import { equal } from "node:assert/strict";
 *
 * const events = new EventStream();
 * let crashes = 0;
 * const off = events.on((event) => {
 *   if (event.type === "crashed") crashes++;
 * });
 * events.emit({ type: "crashed", path: "/a", error: new Error("boom") });
 * off();
 * events.emit({ type: "crashed", path: "/a", error: new Error("boom") });
 * equal(crashes, 1);
 * ```
 */
export class EventStream implements SystemEvents {
  readonly #listeners = new Set<(event: SystemEvent) => void>();
  #closed = false;

  /**
   * Calls `listener` with every later event.
   *
   * @param listener Called synchronously as each event happens.
   * @returns A function that unsubscribes.
   */
  on(listener: (event: SystemEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Publishes an event to every listener and iterator. */
  emit(event: SystemEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (error) {
        // A listener's bug must not break the system, nor vanish: report it and unsubscribe.
        this.#listeners.delete(listener);
        console.error("A system event listener threw; it is unsubscribed:", error);
      }
    }
  }

  /** Ends every iterator once it has read what was buffered. */
  close(): void {
    this.#closed = true;
    for (const listener of [...this.#listeners]) {
      (listener as { end?: () => void }).end?.();
    }
  }

  /** Iterates later events until the system closes. */
  [Symbol.asyncIterator](): AsyncIterator<SystemEvent> {
    const buffer = new Deque<SystemEvent>();
    let waiting: ((result: IteratorResult<SystemEvent>) => void) | undefined;
    let ended = this.#closed;
    const listener = Object.assign((event: SystemEvent) => {
      if (waiting) {
        const resolve = waiting;
        waiting = undefined;
        resolve({ value: event, done: false });
      } else {
        buffer.push(event);
      }
    }, {
      end: () => {
        ended = true;
        this.#listeners.delete(listener);
        if (waiting) waiting({ value: undefined, done: true });
        waiting = undefined;
      },
    });
    if (!ended) this.#listeners.add(listener);
    return {
      next: () => {
        const event = buffer.shift();
        if (event !== undefined) return Promise.resolve({ value: event, done: false });
        if (ended) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => waiting = resolve);
      },
      return: () => {
        listener.end();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}
