/**
 * The actor's authoritative, host-side mailbox: a bounded user lane with an overflow policy, an
 * unbounded system lane that is always served first, and FIFO queues of waiting takers and putters.
 *
 * ```
 *   pushSystem ──► [ system lane (unbounded) ] ──┐
 *                                                ├──► tryTake / take / drain
 *   offer, put ──► [ user lane (capacity)    ] ──┘
 *   pushFront  ──►   ▲ front of the user lane
 * ```
 *
 * `offer`, `put`, `pushSystem`, `tryTake` and `take` are O(1) and, unless they wait, allocate nothing
 * per message beyond what the ring buffer does; `pushFront` and `drain` are linear in their messages.
 *
 * @module
 */

import { MailboxClosedError, MailboxFullError } from "../errors.ts";
import { z } from "npm:zod@4.6.7";
import { Deque, describe, parseOptions } from "../_util.ts";
import { fn, OBJECT, signal } from "./_options.ts";

/**
 * What a full mailbox does with a new message.
 *
 * - `"backpressure"`: `put` waits for space, in FIFO order; `offer` throws {@linkcode MailboxFullError}.
 * - `"drop_newest"`: the new message is dropped and reported to `onDrop`.
 * - `"drop_oldest"`: the oldest queued user message is dropped and reported, the new one is queued.
 * - `"reject"`: `offer` throws and `put` rejects with {@linkcode MailboxFullError}.
 *
 * An actor's mailbox reports what it drops as dead letters (reason `"overflow"`), except what its
 * caller is told of. Under `"drop_newest"`, a `tell` that finds the mailbox full is a dead letter,
 * while `send` and `ask` reject with `MailboxFullError` and leave no dead letter, as under
 * `"reject"`. Under `"drop_oldest"`, `tell`, `send` and `ask` are queued (`send` resolves) and the
 * message pushed out is a dead letter; an ask pushed out also rejects with `MailboxFullError`.
 */
export type OverflowPolicy = "backpressure" | "drop_newest" | "drop_oldest" | "reject";

/** Why a mailbox dropped a message: `"overflow"`, its overflow policy made room or refused it. */
export type DropReason = "overflow";

/**
 * Options for {@linkcode Mailbox}.
 *
 * @typeParam T The message type; it must not include `undefined`.
 */
export interface MailboxOptions<T> {
  /**
   * How many user messages the mailbox holds: an integer of at least 1, or `Infinity`. System
   * messages and messages put back with `pushFront` are not refused by it.
   *
   * @default {1000}
   */
  capacity?: number;
  /**
   * What a full mailbox does with a new message.
   *
   * @default {"backpressure"}
   */
  overflow?: OverflowPolicy;
  /**
   * Whose mailbox it is, usually an actor's path; it appears in error messages.
   *
   * @default {"mailbox"}
   */
  owner?: string;
  /**
   * Told, synchronously and exactly once, of every message the overflow policy drops. It runs after
   * the mailbox has updated its state, so it may call the mailbox; an error it throws propagates to
   * the `offer` or `put` that caused the drop, the drop itself stands.
   *
   * @param item The dropped message.
   * @param reason Why it was dropped.
   */
  onDrop?: (item: T, reason: DropReason) => void;
}

const OVERFLOW_POLICIES = [
  "backpressure",
  "drop_newest",
  "drop_oldest",
  "reject",
] as const satisfies readonly OverflowPolicy[];

const DEFAULTS = {
  capacity: 1000,
  overflow: "backpressure",
  owner: "mailbox",
} as const satisfies MailboxOptions<unknown>;

/** Above this many abandoned waiters, and more of them than live ones, a waiter queue is compacted. */
const COMPACT_THRESHOLD = 32;

interface Waiter {
  settled: boolean;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

interface Taker<T> extends Waiter {
  resolve(item: T): void;
  reject(error: unknown): void;
}

interface Putter<T> extends Waiter {
  item: T;
  resolve(accepted: boolean): void;
  reject(error: unknown): void;
}

/**
 * The mailbox of one actor: a bounded user lane governed by an {@linkcode OverflowPolicy} and an
 * unbounded system lane for control messages (stop, ping) that is always served first. Waiting
 * takers and (under `"backpressure"`) waiting putters are served in FIFO order; a freed slot goes to
 * the longest-waiting putter at once, so no later `offer` can take it.
 *
 * Every message that is accepted (`offer` returned `true`, `put` resolved `true`, `pushSystem`,
 * `pushFront`) leaves the mailbox exactly once: returned by `tryTake`, `take` or `drain`, or
 * reported to `onDrop`. Nothing is duplicated, and each lane is FIFO apart from the `"drop_oldest"`
 * removals and `pushFront`.
 *
 * @typeParam T The message type. It must not include `undefined`, which `tryTake` returns for an
 * empty mailbox; passing `undefined` as a message is a `TypeError`.
 *
 * @example Serving system messages first
 * ```ts
 * import { Mailbox } from "@troupe/troupe/mailbox";
 * import { deepEqual, equal } from "node:assert/strict";
 *
 * const mailbox = new Mailbox<string>({ capacity: 2, owner: "/jobs" });
 * mailbox.offer("a");
 * mailbox.offer("b");
 * mailbox.pushSystem("stop");
 * equal(mailbox.size, 3);
 * equal(mailbox.userSize, 2);
 * deepEqual(mailbox.drain(), ["stop", "a", "b"]);
 * ```
 *
 * @example Waiting for space under backpressure
 * ```ts
 * import { Mailbox } from "@troupe/troupe/mailbox";
 * import { equal } from "node:assert/strict";
 *
 * const mailbox = new Mailbox<number>({ capacity: 1 });
 * mailbox.offer(1);
 * const sent = mailbox.put(2); // waits: the mailbox is full
 * equal(mailbox.waitingPutters, 1);
 * equal(mailbox.tryTake(), 1); // frees the slot; 2 moves in at once
 * equal(await sent, true);
 * equal(await mailbox.take(), 2);
 * ```
 *
 * @example Dropping the oldest message
 * ```ts
 * import { Mailbox } from "@troupe/troupe/mailbox";
 * import { deepEqual } from "node:assert/strict";
 *
 * const dropped: string[] = [];
 * const mailbox = new Mailbox<string>({
 *   capacity: 2,
 *   overflow: "drop_oldest",
 *   onDrop: (item) => dropped.push(item),
 * });
 * for (const item of ["a", "b", "c"]) mailbox.offer(item);
 * deepEqual(dropped, ["a"]);
 * deepEqual(mailbox.drain(), ["b", "c"]);
 * ```
 */
export class Mailbox<T> {
  /** How many user messages the mailbox holds before its overflow policy applies. */
  readonly capacity: number;
  /** What a full mailbox does with a new message. */
  readonly overflow: OverflowPolicy;

  #owner: string;
  #onDrop: ((item: T, reason: DropReason) => void) | undefined;
  #system = new Deque<T>();
  #user = new Deque<T>();
  #takers = new Deque<Taker<T>>();
  #putters = new Deque<Putter<T>>();
  #liveTakers = 0;
  #livePutters = 0;
  #closed = false;

  /**
   * Creates an open, empty mailbox.
   *
   * @param options How big the mailbox is, what it does when full, and whose it is.
   * @throws {RangeError} `capacity` is not an integer of at least 1 nor `Infinity`.
   * @throws {TypeError} `overflow` is not an {@linkcode OverflowPolicy}, `owner` is not a non-empty
   * string, or `onDrop` is not a function.
   */
  constructor(options: MailboxOptions<T> = {}) {
    const parsed = parseOptions(mailboxOptionsSchema, options, "Cannot create mailbox");
    this.capacity = parsed.capacity ?? DEFAULTS.capacity;
    this.overflow = parsed.overflow ?? DEFAULTS.overflow;
    this.#owner = parsed.owner ?? DEFAULTS.owner;
    this.#onDrop = options.onDrop;
  }

  /** How many messages are queued, in both lanes. */
  get size(): number {
    return this.#system.length + this.#user.length;
  }

  /** How many user messages are queued: what `capacity` bounds. */
  get userSize(): number {
    return this.#user.length;
  }

  /** Whether {@linkcode Mailbox.prototype.close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** How many `put` calls are waiting for space under `"backpressure"`. */
  get waitingPutters(): number {
    return this.#livePutters;
  }

  /**
   * Queues a user message now, or applies the overflow policy when the mailbox is full. A taker
   * that is waiting receives the message directly.
   *
   * @param item The message.
   * @returns `true` when the message was queued; `false` when `"drop_newest"` dropped it.
   * @throws {MailboxFullError} The mailbox is full and the policy is `"reject"` or `"backpressure"`
   * (an `offer` cannot wait, and does not overtake waiting putters).
   * @throws {MailboxClosedError} The mailbox is closed.
   * @throws {TypeError} `item` is `undefined`.
   */
  offer(item: T): boolean {
    if (item === undefined) throw undefinedItemError("offer", this.#owner);
    if (this.#closed) throw new MailboxClosedError(this.#owner);
    if (this.#user.length < this.capacity && this.#livePutters === 0) {
      this.#acceptUser(item);
      return true;
    }
    return this.#overflow(item);
  }

  /**
   * Queues a user message, waiting for space when the mailbox is full and the policy is
   * `"backpressure"` (in FIFO order with other waiting putters). Under the other policies it settles
   * at once, like {@linkcode Mailbox.prototype.offer}.
   *
   * @param item The message.
   * @param options A `signal` to stop waiting; the message is then not queued.
   * @returns A promise of `true` once the message is queued, or `false` when `"drop_newest"` dropped
   * it.
   * @throws {MailboxFullError} (rejects) The mailbox is full and the policy is `"reject"`.
   * @throws {MailboxClosedError} (rejects) The mailbox is closed, or closes while the call waits.
   * @throws {TypeError} (rejects) `item` is `undefined`, or `signal` is not an `AbortSignal`.
   * @throws (rejects) `signal.reason` when the signal aborts before the message is queued.
   */
  put(item: T, options: { signal?: AbortSignal } = {}): Promise<boolean> {
    const signal = options.signal;
    try {
      if (item === undefined) throw undefinedItemError("put", this.#owner);
      checkSignal(options, "put", this.#owner);
      if (signal?.aborted) throw signal.reason;
      if (this.#closed) throw new MailboxClosedError(this.#owner);
      if (this.#user.length < this.capacity && this.#livePutters === 0) {
        this.#acceptUser(item);
        return Promise.resolve(true);
      }
      if (this.overflow !== "backpressure") return Promise.resolve(this.#overflow(item));
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise<boolean>((resolve, reject) => {
      const putter: Putter<T> = {
        item,
        resolve,
        reject,
        settled: false,
        signal,
        onAbort: undefined,
      };
      if (signal !== undefined) {
        putter.onAbort = () => {
          if (putter.settled) return;
          this.#settle(putter);
          this.#livePutters--;
          this.#putters = compact(this.#putters, this.#livePutters);
          reject(signal.reason);
        };
        signal.addEventListener("abort", putter.onAbort, { once: true });
      }
      this.#putters.push(putter);
      this.#livePutters++;
    });
  }

  /**
   * Queues a system message on the priority lane: unbounded, and served before any user message,
   * FIFO among system messages. A taker that is waiting receives the message directly.
   *
   * @param item The message.
   * @throws {MailboxClosedError} The mailbox is closed.
   * @throws {TypeError} `item` is `undefined`.
   */
  pushSystem(item: T): void {
    if (item === undefined) throw undefinedItemError("pushSystem", this.#owner);
    if (this.#closed) throw new MailboxClosedError(this.#owner);
    const taker = this.#nextTaker();
    if (taker === undefined) this.#system.push(item);
    else taker.resolve(item);
  }

  /**
   * Puts messages back at the front of the user lane, in their given order (`[a, b]` makes `a` the
   * next user message, then `b`, then what was queued before), to redeliver them after a crash. It
   * ignores capacity, so `userSize` may exceed it until the messages are taken, and it works on a
   * closed mailbox too, so nothing is lost during a stop.
   *
   * @param items The messages, first to be taken first.
   * @throws {TypeError} `items` is not iterable, or one of them is `undefined`; nothing is queued then.
   */
  pushFront(items: Iterable<T>): void {
    if (typeof (items as Partial<Iterable<T>> | null)?.[Symbol.iterator] !== "function") {
      throw new TypeError(
        `Cannot push to the front of the mailbox of ${this.#owner}: items must be iterable, received ${
          describe(items)
        }`,
      );
    }
    const batch = Array.from(items);
    for (let i = 0; i < batch.length; i++) {
      if (batch[i] === undefined) {
        throw new TypeError(
          `Cannot push to the front of the mailbox of ${this.#owner}: items must not be undefined, received undefined at index ${i}`,
        );
      }
    }
    let first = 0;
    // Takers wait only while the mailbox is empty, so these items are the next ones in line.
    while (first < batch.length && this.#liveTakers > 0) {
      (this.#nextTaker() as Taker<T>).resolve(batch[first++]);
    }
    for (let i = batch.length - 1; i >= first; i--) this.#user.unshift(batch[i]);
  }

  /**
   * Takes the next message without waiting: the system lane first, then the user lane. A slot freed
   * in the user lane goes to the longest-waiting putter at once.
   *
   * @returns The next message, or `undefined` when the mailbox is empty.
   */
  tryTake(): T | undefined {
    if (this.#system.length > 0) return this.#system.shift();
    if (this.#user.length === 0) return undefined;
    const item = this.#user.shift();
    if (this.#livePutters > 0) this.#admitPutters();
    return item;
  }

  /**
   * Takes the next message, waiting while the mailbox is empty (FIFO among waiting takers). Messages
   * queued before {@linkcode Mailbox.prototype.close} stay takeable until drained.
   *
   * @param options A `signal` to stop waiting.
   * @returns A promise of the next message: the system lane first, then the user lane.
   * @throws {MailboxClosedError} (rejects) The mailbox is closed and empty, or closes while the call
   * waits.
   * @throws {TypeError} (rejects) `signal` is not an `AbortSignal`.
   * @throws (rejects) `signal.reason` when the signal aborts before a message arrives.
   */
  take(options: { signal?: AbortSignal } = {}): Promise<T> {
    const signal = options.signal;
    try {
      checkSignal(options, "take", this.#owner);
      if (signal?.aborted) throw signal.reason;
      const item = this.tryTake();
      if (item !== undefined) return Promise.resolve(item);
      if (this.#closed) throw new MailboxClosedError(this.#owner);
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise<T>((resolve, reject) => {
      const taker: Taker<T> = {
        resolve,
        reject,
        settled: false,
        signal,
        onAbort: undefined,
      };
      if (signal !== undefined) {
        taker.onAbort = () => {
          if (taker.settled) return;
          this.#settle(taker);
          this.#liveTakers--;
          this.#takers = compact(this.#takers, this.#liveTakers);
          reject(signal.reason);
        };
        signal.addEventListener("abort", taker.onAbort, { once: true });
      }
      this.#takers.push(taker);
      this.#liveTakers++;
    });
  }

  /**
   * Closes the mailbox; calling it again does nothing. No further `offer`, `put` or `pushSystem`
   * is accepted. Waiting putters reject with {@linkcode MailboxClosedError} (their messages were
   * never accepted). Queued messages stay takeable; waiting takers reject only because nothing is
   * left.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const error = () => new MailboxClosedError(this.#owner);
    for (let putter = this.#nextPutter(); putter !== undefined; putter = this.#nextPutter()) {
      putter.reject(error());
    }
    // Takers wait only while the mailbox is empty, and a closed mailbox receives nothing new.
    for (let taker = this.#nextTaker(); taker !== undefined; taker = this.#nextTaker()) {
      taker.reject(error());
    }
  }

  /**
   * Removes and returns every queued message: the system lane first, then the user lane, each in
   * order. Under `"backpressure"`, waiting putters then move their messages into the freed space, in
   * order; those are not part of the result.
   *
   * @returns The messages that were queued.
   */
  drain(): T[] {
    const out = new Array<T>(this.size);
    let index = 0;
    for (let item = this.#system.shift(); item !== undefined; item = this.#system.shift()) {
      out[index++] = item;
    }
    for (let item = this.#user.shift(); item !== undefined; item = this.#user.shift()) {
      out[index++] = item;
    }
    if (this.#livePutters > 0) this.#admitPutters();
    return out;
  }

  /** Queues an accepted user message, or hands it to the longest-waiting taker. */
  #acceptUser(item: T): void {
    const taker = this.#nextTaker();
    if (taker === undefined) this.#user.push(item);
    else taker.resolve(item);
  }

  /** Applies the overflow policy to a message that found the mailbox full. */
  #overflow(item: T): boolean {
    switch (this.overflow) {
      case "drop_newest":
        this.#onDrop?.(item, "overflow");
        return false;
      case "drop_oldest": {
        // Full means at least `capacity` (>= 1) user messages are queued, so there is an oldest.
        const oldest = this.#user.shift() as T;
        this.#user.push(item);
        this.#onDrop?.(oldest, "overflow");
        return true;
      }
      default:
        throw new MailboxFullError(this.capacity, this.#owner);
    }
  }

  /** Moves waiting putters' messages into free user slots, longest-waiting first. */
  #admitPutters(): void {
    while (this.#user.length < this.capacity) {
      const putter = this.#nextPutter();
      if (putter === undefined) return;
      this.#acceptUser(putter.item);
      putter.resolve(true);
    }
  }

  /**
   * Removes the longest-waiting live taker, skipping aborted ones, and marks it settled (the caller
   * resolves or rejects it next).
   */
  #nextTaker(): Taker<T> | undefined {
    if (this.#liveTakers === 0) return undefined;
    let taker = this.#takers.shift();
    while (taker !== undefined && taker.settled) taker = this.#takers.shift();
    if (taker !== undefined) {
      this.#liveTakers--;
      this.#settle(taker);
    }
    return taker;
  }

  /**
   * Removes the longest-waiting live putter, skipping aborted ones, and marks it settled (the caller
   * resolves or rejects it next).
   */
  #nextPutter(): Putter<T> | undefined {
    if (this.#livePutters === 0) return undefined;
    let putter = this.#putters.shift();
    while (putter !== undefined && putter.settled) putter = this.#putters.shift();
    if (putter !== undefined) {
      this.#livePutters--;
      this.#settle(putter);
    }
    return putter;
  }

  /** Marks a waiter settled and removes its abort listener. */
  #settle(waiter: Waiter): void {
    waiter.settled = true;
    if (waiter.onAbort !== undefined) {
      waiter.signal?.removeEventListener("abort", waiter.onAbort);
      waiter.onAbort = undefined;
    }
  }
}

/**
 * Aborted waiters stay in their queue, marked settled, until they reach the front. When they
 * outnumber the live ones (and there are enough to matter), rebuilds the queue without them, so
 * repeated aborts cost O(1) amortized and cannot grow the queue without bound.
 */
function compact<W extends Waiter>(queue: Deque<W>, live: number): Deque<W> {
  const abandoned = queue.length - live;
  if (abandoned <= COMPACT_THRESHOLD || abandoned <= live) return queue;
  const next = new Deque<W>();
  for (const waiter of queue) if (!waiter.settled) next.push(waiter);
  return next;
}

/** Options of `new Mailbox`; unknown keys are ignored. */
const mailboxOptionsSchema = z.object({
  capacity: z.custom<number>(
    (value) =>
      typeof value === "number" &&
      (value === Infinity || (Number.isInteger(value) && value >= 1)),
    { error: "must be a positive integer or Infinity", params: { range: true } },
  ).optional(),
  overflow: z.enum(OVERFLOW_POLICIES, {
    error: 'must be "backpressure", "drop_newest", "drop_oldest" or "reject"',
  }).optional(),
  owner: z.custom<string>(
    (value) => typeof value === "string" && value !== "",
    "must be a non-empty string",
  ).optional(),
  onDrop: fn<(item: unknown, reason: string) => void>().optional(),
}, OBJECT);

/** Options of `put` and `take`. */
const signalOptionsSchema = z.object({ signal: signal.optional() }, OBJECT);

/**
 * Checks the `signal` of `put` and `take`. These calls are on every message's path, so a valid
 * signal (or none) is let through without a schema parse; the schema words the error.
 */
function checkSignal(options: { signal?: unknown }, operation: string, owner: string): void {
  const value = options.signal;
  if (value !== undefined && !(value instanceof AbortSignal)) {
    parseOptions(signalOptionsSchema, options, `Cannot ${operation} on the mailbox of ${owner}`);
  }
}

function undefinedItemError(operation: string, owner: string): TypeError {
  return new TypeError(
    `Cannot ${operation} on the mailbox of ${owner}: item must not be undefined, received undefined`,
  );
}
