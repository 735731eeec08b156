/**
 * `SharedEvent`: a flag over a `SharedArrayBuffer` that any thread can set, clear and wait for,
 * like Python's `threading.Event` and `multiprocessing.Event`.
 *
 * ```
 *   on any thread                                     SharedArrayBuffer
 *   set()      ── gen + 1, flag = 1; Atomics.notify ─►  ┌─────────────────────────┐
 *   clear()    ── flag = 0 (wakes nobody) ───────────►  │ Int32 word: gen · flag  │
 *   wait()     ◄─ Atomics.waitAsync + a 1 → 16 ms poll  │                         │
 *   waitSync() ◄─ Atomics.wait (workers only) ───────── └─────────────────────────┘
 * ```
 *
 * The buffer holds one `Int32` word: bit 0 is the flag, and the bits above it count the `set()`
 * calls that changed it. A waiter remembers the word it started from, so it wakes on any change of
 * it, even a `set()` that a `clear()` undid before the waiter looked.
 *
 * `wait()` listens with `Atomics.waitAsync` and, beside it, polls the word on a timer that backs off
 * from 1 ms to 16 ms. The timer keeps Deno's event loop alive while someone waits (a pending
 * `Atomics.waitAsync` alone does not) and bounds the wake-up latency at about 16 ms should the
 * `waitAsync` resolution not wake a sleeping event loop. Measured on Deno 2.9.6 from a worker's
 * `set()` to `wait()` resolving on the main thread, over 200 tries: p50 0.04–0.14 ms, p99 0.4–4 ms
 * (the poll alone: p50 4 ms, p99 18 ms).
 *
 * @module
 */

import { describe, longTimeout, parseOptions } from "../_util.ts";
import { checkTimeoutMs, signal, timeoutMs } from "./_options.ts";
import { z } from "npm:zod@4.6.7";
import { registerRevivable, revive } from "./codec.ts";
// Registers the queue's reviver too, so that `reviveShared` revives queues as it always has.
import "./shared_queue.ts";
import type { Schema } from "./schema.ts";
import { WordWatch } from "./_word_watch.ts";

/** Bit 0 of the word: whether the event is set. Each `set()` that changes the word adds 2. */
const SET_BIT = 1;

/** Options for {@linkcode SharedEvent.prototype.wait}. */
export interface SharedEventWaitOptions {
  /**
   * How long to wait, in milliseconds: a non-negative number, or `Infinity` to wait until the event
   * is set. `0` checks the flag now and does not wait.
   *
   * @default {Infinity}
   */
  timeoutMs?: number;
  /**
   * Stops waiting: the promise rejects with `signal.reason`.
   *
   * @default {undefined}
   */
  signal?: AbortSignal;
}

interface Waiter {
  resolve(set: boolean): void;
  reject(reason: unknown): void;
  /** Cancels the waiter's timeout. */
  stopTimer: (() => void) | undefined;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/**
 * A cross-thread event: a flag that `set()` raises for every thread at once, waking all its
 * waiters, and that stays raised until `clear()`. Create it on one thread and pass it, or its
 * `buffer`, to others in a `postMessage`, in actor arguments or in a message field declared with
 * {@linkcode SharedEvent.schema}.
 *
 * Structured clone keeps only an object's own data fields, so a `SharedEvent` arrives on the other
 * side as a plain `{ buffer }`; {@linkcode SharedEvent.from} (or a protocol field declared
 * `SharedEvent.schema`, which calls it) turns it back into a `SharedEvent` over the same memory.
 *
 * A waiter that sees the event set resolves `true`, even if a `clear()` followed before it looked;
 * `clear()` itself wakes nobody.
 *
 * @example Setting and clearing
 * ```ts
 * import { SharedEvent } from "@troupe/troupe/mailbox";
 * import { equal } from "node:assert/strict";
 *
 * const event = new SharedEvent();
 * equal(event.isSet(), false);
 * event.set();
 * equal(event.isSet(), true);
 * equal(await event.wait(), true); // already set: resolves at once
 * event.clear();
 * equal(await event.wait({ timeoutMs: 0 }), false); // 0 checks now
 * ```
 *
 * @example Waiting for a worker to set it
 * ```ts
 * import { SharedEvent } from "@troupe/troupe/mailbox";
 * import { equal } from "node:assert/strict";
 *
 * const code = `
 *   import { SharedEvent } from "${import.meta.resolve("@troupe/troupe/mailbox")}";
 *   self.onmessage = (e) => SharedEvent.from(e.data).set();
 * `;
 * const worker = new Worker(`data:text/javascript,${encodeURIComponent(code)}`, { type: "module" });
 * const done = new SharedEvent();
 * worker.postMessage(done); // arrives as { buffer }
 * equal(await done.wait({ timeoutMs: 5000 }), true);
 * worker.terminate();
 * ```
 */
export class SharedEvent {
  /**
   * The shared memory behind the event: pass it (or the event, which carries it) to another thread
   * and revive it there with {@linkcode SharedEvent.from}.
   */
  readonly buffer: SharedArrayBuffer;

  /**
   * Brands the event's cloned form, so that the value codec revives it wherever it crosses.
   */
  readonly "~troupe": "event" = "event";

  /**
   * A schema for a protocol field that carries an event: it accepts a `SharedEvent`, a
   * `{ buffer: SharedArrayBuffer }` (what structured clone makes of one) or the `SharedArrayBuffer`
   * itself, and hands the handler a usable `SharedEvent` over the same memory. As a protocol entry
   * of its own it is fully typed; nested in `z.object`, zod types the field as `unknown` (the
   * schema is typed with Troupe's own `Schema` so that the public API does not expose zod's types):
   * narrow it with `instanceof SharedEvent`, as below.
   *
   * @example An event in a message
   * ```ts
   * import { SharedEvent } from "@troupe/troupe/mailbox";
   * import { z } from "zod";
   * import { equal, ok } from "node:assert/strict";
   *
   * const job = z.object({ id: z.number(), done: SharedEvent.schema });
   * const event = new SharedEvent();
   * const received = job.parse(structuredClone({ id: 1, done: event })); // as a worker sees it
   * ok(received.done instanceof SharedEvent);
   * received.done.set();
   * equal(event.isSet(), true);
   * ```
   */
  static readonly schema: Schema<SharedEvent, SharedEvent> = z
    .custom<SharedEvent>(
      isRevivable,
      "Expected a SharedEvent, a { buffer: SharedArrayBuffer } or a SharedArrayBuffer of at least 4 bytes",
    )
    .transform((value) => SharedEvent.from(value));

  #word: Int32Array<SharedArrayBuffer>;
  /** The `wait()` calls of this object that are pending; they all started from `#watched`. */
  #waiters = new Set<Waiter>();
  #watched = 0;
  #watch: WordWatch | undefined;

  /**
   * Creates a new, clear event, or a view on an existing event's memory.
   *
   * @param buffer An event's `buffer`, to share its flag; a new 4-byte buffer when omitted. A
   * zero-filled buffer is a clear event.
   * @throws {TypeError} `buffer` is not a `SharedArrayBuffer`.
   * @throws {RangeError} `buffer` holds fewer than 4 bytes.
   *
   * @example Two views on one flag
   * ```ts
   * import { SharedEvent } from "@troupe/troupe/mailbox";
   * import { equal } from "node:assert/strict";
   *
   * const event = new SharedEvent();
   * const view = new SharedEvent(event.buffer);
   * view.set();
   * equal(event.isSet(), true);
   * ```
   */
  constructor(buffer?: SharedArrayBuffer) {
    if (buffer === undefined) buffer = new SharedArrayBuffer(4);
    else validateBuffer(buffer, "Cannot create SharedEvent: buffer");
    this.buffer = buffer;
    this.#word = new Int32Array(buffer, 0, 1);
  }

  /**
   * Revives an event that crossed a thread boundary: structured clone delivers a `SharedEvent` as a
   * plain `{ buffer }`, which this turns back into a `SharedEvent` over the same memory.
   *
   * @param value A `SharedEvent` (returned as it is), an object whose own `buffer` is an event's
   * `SharedArrayBuffer`, or that `SharedArrayBuffer`.
   * @returns A `SharedEvent` sharing the flag of the event `value` came from.
   * @throws {TypeError} `value` is none of these.
   * @throws {RangeError} The buffer holds fewer than 4 bytes.
   *
   * @example Reviving a cloned event
   * ```ts
   * import { SharedEvent } from "@troupe/troupe/mailbox";
   * import { equal, ok } from "node:assert/strict";
   *
   * const event = new SharedEvent();
   * const cloned = structuredClone(event); // what postMessage delivers
   * ok(!(cloned instanceof SharedEvent));
   * const revived = SharedEvent.from(cloned);
   * revived.set();
   * equal(event.isSet(), true);
   * ```
   */
  static from(value: unknown): SharedEvent {
    if (value instanceof SharedEvent) return value;
    if (value instanceof SharedArrayBuffer) {
      validateBuffer(value, "Cannot revive SharedEvent: buffer");
      return new SharedEvent(value);
    }
    if (
      typeof value === "object" && value !== null && Object.hasOwn(value, "buffer") &&
      (value as { buffer: unknown }).buffer instanceof SharedArrayBuffer
    ) {
      const buffer = (value as { buffer: SharedArrayBuffer }).buffer;
      validateBuffer(buffer, "Cannot revive SharedEvent: buffer");
      return new SharedEvent(buffer);
    }
    throw new TypeError(
      `Cannot revive SharedEvent: expected a SharedEvent, a { buffer: SharedArrayBuffer } or a SharedArrayBuffer, received ${
        describe(value)
      }`,
    );
  }

  /**
   * Sets the flag and wakes every waiter, on every thread. Setting a set event does nothing.
   */
  set(): void {
    let word = Atomics.load(this.#word, 0);
    while ((word & SET_BIT) === 0) {
      // `| 0` wraps the counter within Int32; only a change of the word matters to waiters.
      const next = ((word + 2) | SET_BIT) | 0;
      const seen = Atomics.compareExchange(this.#word, 0, word, next);
      if (seen === word) {
        Atomics.notify(this.#word, 0);
        this.#check();
        return;
      }
      word = seen;
    }
  }

  /** Clears the flag. It wakes nobody; waiters that have not yet seen a `set()` keep waiting. */
  clear(): void {
    Atomics.and(this.#word, 0, ~SET_BIT);
  }

  /**
   * Reads the flag.
   *
   * @returns `true` while the event is set.
   */
  isSet(): boolean {
    return (Atomics.load(this.#word, 0) & SET_BIT) !== 0;
  }

  /**
   * Waits, without blocking the thread, until the event is set. Works on the main thread and in
   * workers; a pending wait keeps the event loop alive. It wakes within about 0.1 ms of a `set()`
   * on another thread, and in any case within 16 ms (see the module documentation).
   *
   * @param options The timeout in milliseconds (a number), or a `timeoutMs` and a `signal`.
   * @returns A promise of `true` once the event is set (at once if it already is, and also when a
   * `clear()` followed the `set()` before the waiter looked), or `false` when the timeout passes
   * first. Its timers are cleared and its abort listener removed when it settles.
   * @throws {TypeError} (rejects) `options` is neither a number nor an object, `timeoutMs` is not a
   * number, or `signal` is not an `AbortSignal`.
   * @throws {RangeError} (rejects) `timeoutMs` is negative or `NaN`.
   * @throws (rejects) `signal.reason` when the signal aborts before the event is set.
   *
   * @example Waiting with a timeout
   * ```ts
   * import { SharedEvent } from "@troupe/troupe/mailbox";
   * import { equal } from "node:assert/strict";
   *
   * const event = new SharedEvent();
   * equal(await event.wait(10), false);
   * setTimeout(() => event.set(), 5);
   * equal(await event.wait({ timeoutMs: 1000 }), true);
   * ```
   *
   * @example Stopping a wait with a signal
   * ```ts
   * import { SharedEvent } from "@troupe/troupe/mailbox";
   * import { rejects } from "node:assert/strict";
   *
   * const event = new SharedEvent();
   * const controller = new AbortController();
   * const waiting = event.wait({ signal: controller.signal });
   * controller.abort(new Error("shutting down"));
   * await rejects(waiting, { message: "shutting down" });
   * ```
   */
  wait(options?: number | SharedEventWaitOptions): Promise<boolean> {
    let timeoutMs: number;
    let signal: AbortSignal | undefined;
    try {
      ({ timeoutMs, signal } = parseWaitOptions(options));
      if (signal?.aborted) throw signal.reason;
    } catch (error) {
      return Promise.reject(error);
    }
    const word = Atomics.load(this.#word, 0);
    if ((word & SET_BIT) !== 0) return Promise.resolve(true);
    if (timeoutMs === 0) return Promise.resolve(false);
    // Pending waiters started from `#watched`; if the word has moved since, wake them first.
    if (word !== this.#watched) this.#check();
    return new Promise<boolean>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, stopTimer: undefined, signal, onAbort: undefined };
      if (timeoutMs !== Infinity) {
        waiter.stopTimer = longTimeout(timeoutMs, () => {
          waiter.stopTimer = undefined;
          // A set() that the poll has not seen yet still counts.
          this.#check();
          if (!this.#waiters.has(waiter)) return;
          this.#settle(waiter);
          waiter.resolve(false);
        });
      }
      if (signal !== undefined) {
        waiter.onAbort = () => {
          if (!this.#waiters.has(waiter)) return;
          this.#settle(waiter);
          reject(signal.reason);
        };
        signal.addEventListener("abort", waiter.onAbort, { once: true });
      }
      this.#waiters.add(waiter);
      if (this.#waiters.size === 1) {
        this.#watched = word;
        (this.#watch ??= new WordWatch(this.#word, 0, () => this.#check())).watch(word);
      }
    });
  }

  /**
   * Blocks the thread until the event is set, with `Atomics.wait`. Meant for workers: on the main
   * thread use {@linkcode SharedEvent.prototype.wait}, since blocking the main thread stalls its
   * event loop (and a `set()` that would run on it can then never come).
   *
   * @param timeoutMs How long to wait, in milliseconds: a non-negative number, or `Infinity`. `0`
   * checks the flag now.
   * @returns `true` once the event is set (at once if it already is, and also when a `clear()`
   * followed the `set()` before this thread looked), or `false` when the timeout passes first.
   * @throws {TypeError} `timeoutMs` is not a number.
   * @throws {RangeError} `timeoutMs` is negative or `NaN`.
   *
   * @example Checking without blocking
   * ```ts
   * import { SharedEvent } from "@troupe/troupe/mailbox";
   * import { equal } from "node:assert/strict";
   *
   * const event = new SharedEvent();
   * equal(event.waitSync(0), false);
   * event.set();
   * equal(event.waitSync(), true);
   * ```
   */
  waitSync(timeoutMs: number = Infinity): boolean {
    checkTimeoutMs(timeoutMs, "Cannot waitSync on SharedEvent");
    const start = Atomics.load(this.#word, 0);
    if ((start & SET_BIT) !== 0) return true;
    if (timeoutMs === 0) return false;
    const deadline = performance.now() + timeoutMs;
    let remaining = timeoutMs;
    for (;;) {
      Atomics.wait(this.#word, 0, start, remaining);
      if (Atomics.load(this.#word, 0) !== start) return true;
      // A notify without a change (someone else's) or the timeout: look at the clock.
      remaining = deadline - performance.now();
      if (remaining <= 0) return false;
    }
  }

  /** Wakes every pending waiter with `true` if the word has moved since they started. */
  #check(): void {
    if (this.#waiters.size === 0) return;
    if (Atomics.load(this.#word, 0) === this.#watched) return;
    const waiters = [...this.#waiters];
    for (const waiter of waiters) this.#settle(waiter);
    for (const waiter of waiters) waiter.resolve(true);
  }

  /** Forgets a waiter: clears its timer, removes its abort listener, stops the poll if it was last. */
  #settle(waiter: Waiter): void {
    this.#waiters.delete(waiter);
    waiter.stopTimer?.();
    waiter.stopTimer = undefined;
    if (waiter.onAbort !== undefined) {
      waiter.signal?.removeEventListener("abort", waiter.onAbort);
      waiter.onAbort = undefined;
    }
    if (this.#waiters.size === 0) this.#watch?.stop();
  }
}

/** Whether {@linkcode SharedEvent.from} accepts a value without throwing. */
function isRevivable(value: unknown): boolean {
  if (value instanceof SharedEvent) return true;
  if (value instanceof SharedArrayBuffer) return value.byteLength >= 4;
  return typeof value === "object" && value !== null && Object.hasOwn(value, "buffer") &&
    (value as { buffer: unknown }).buffer instanceof SharedArrayBuffer &&
    (value as { buffer: SharedArrayBuffer }).buffer.byteLength >= 4;
}

function validateBuffer(buffer: unknown, what: string): asserts buffer is SharedArrayBuffer {
  if (!(buffer instanceof SharedArrayBuffer)) {
    throw new TypeError(`${what} must be a SharedArrayBuffer, received ${describe(buffer)}`);
  }
  if (buffer.byteLength < 4) {
    throw new RangeError(
      `${what} must hold at least 4 bytes, received ${buffer.byteLength} byte${
        buffer.byteLength === 1 ? "" : "s"
      }`,
    );
  }
}

/** Options of `wait` given as an object. */
const waitOptionsSchema = z.object({
  timeoutMs: timeoutMs.optional(),
  signal: signal.optional(),
}, { error: "must be a number of milliseconds or an object" });

function parseWaitOptions(
  options: unknown,
): { timeoutMs: number; signal: AbortSignal | undefined } {
  const what = "Cannot wait on SharedEvent";
  if (options === undefined) return { timeoutMs: Infinity, signal: undefined };
  if (typeof options === "number") {
    return { timeoutMs: checkTimeoutMs(options, what), signal: undefined };
  }
  const { timeoutMs = Infinity, signal } = parseOptions(waitOptionsSchema, options, what);
  return { timeoutMs, signal };
}

/**
 * Revives the `SharedEvent`s and `SharedQueue`s inside a value that went through structured clone
 * (which keeps only their own fields). The name Troupe's first versions exported for the value
 * codec's `revive` (see `mailbox/codec.ts`), which it calls: plain objects and arrays are walked, to
 * any depth, and every branded shared object becomes usable again over the same memory.
 *
 * @typeParam T The value's type.
 * @param value Any cloned value.
 * @returns The same value, with shared objects revived in place.
 *
 * @example
 * ```ts
 * import { reviveShared, SharedEvent } from "@troupe/troupe/mailbox";
 * import { ok } from "node:assert/strict";
 *
 * const cloned = structuredClone({ stop: new SharedEvent() });
 * ok(reviveShared(cloned).stop instanceof SharedEvent);
 * ```
 */
export function reviveShared<T>(value: T): T {
  return revive(value);
}

registerRevivable("event", (cloned) => SharedEvent.from(cloned));
