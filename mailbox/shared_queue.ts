/**
 * `SharedQueue<T>`: a bounded FIFO over a `SharedArrayBuffer` that any number of threads put into
 * and get from, like Python's `multiprocessing.Queue`.
 *
 * ```
 *   on any thread                          SharedArrayBuffer
 *   put / putSync / tryPut ── encode ───►  ┌──────────────────────────────────────────────┐
 *     JSON text, then under the lock:      │ header: lock · closed · count · head · tail  │
 *     copy into the ring, count + 1,       │         used · items seq · space seq · …     │
 *     items seq + 1, Atomics.notify        ├──────────────────────────────────────────────┤
 *   get / getSync / tryGet ◄── decode ───  │ byte ring: [len|JSON][len|JSON]…  (maxBytes) │
 *     under the lock: copy out, count − 1, └──────────────────────────────────────────────┘
 *     space seq + 1, Atomics.notify
 * ```
 *
 * **Synchronization.** One lock word guards the header and the ring (a futex-style mutex: a
 * compare-and-swap, a short spin, then `Atomics.wait`). The lock is held only to copy an item's
 * bytes in or out; encoding and decoding happen outside it. Two more words count the changes that
 * waiters care about: every put (and `close()`) adds 1 to the items sequence, every get (and
 * `close()`) adds 1 to the space sequence, and each is followed by an `Atomics.notify` of every
 * waiter on that word. A waiter reads the sequence before it tries, so a change between its try and
 * its wait is never missed. A thread terminated while it holds the lock (a few microseconds per
 * operation) leaves the queue locked, as a process killed inside `multiprocessing.Queue` can corrupt
 * it: stop workers with a `SharedEvent` or `close()`, not by terminating them mid-operation.
 *
 * **Waiting.** `getSync`/`putSync` block in `Atomics.wait` (meant for workers). `get`/`put` wait
 * without blocking, as `SharedEvent.wait` does: `Atomics.waitAsync` on the sequence word and, beside
 * it, a poll that backs off from 1 ms to 16 ms, since a pending `Atomics.waitAsync` neither keeps
 * Deno's event loop alive nor reliably wakes it. A put or get through the same `SharedQueue` object
 * serves its own waiters at once. Measured on Deno 2.9.6 (2 cores), from a worker's `putSync` to a
 * waiting `get` resolving on the main thread, over 200 tries: p50 0.09 ms, p99 0.26–0.37 ms. One
 * worker `putSync` → main thread `await get()`: 370,000–680,000 short strings/s and about 310,000
 * four-field objects/s (a worker's `postMessage` of the same object: 270,000/s); main thread `put`
 * → two workers' `getSync`: 370,000 strings/s and 270,000 objects/s.
 *
 * **Codec.** Items travel as JSON text (`JSON.stringify`, then `TextEncoder.encodeInto`; on the
 * other side `TextDecoder` and `JSON.parse`). Measured on Deno 2.9.6 against `node:v8`'s
 * `serialize`/`deserialize`, per item: `[3, 5]` 0.2 + 0.6 µs against 7.8 + 2.1 µs; a four-field
 * task object 0.6 + 1.1 µs against 43 + 78 µs; a 200-byte nested object 3.5 + 3.2 µs against 91 +
 * 18 µs. So a queue item is JSON data: plain objects, arrays, strings, finite numbers, booleans and
 * `null`. Anything else (`undefined`, `NaN`, `Infinity`, `bigint`, symbols, functions, `Date`,
 * `Map`, typed arrays, class instances, holes in arrays, nesting deeper than 64 levels) is refused
 * by the put with a `TypeError` that names it and where it is (`item.tags[2] is a Map`). Two
 * exceptions follow JSON: an object property whose value is `undefined` is left out, and `-0`
 * arrives as `0`.
 *
 * @module
 */

import { describe, formatIssues, longTimeout, parseOptions } from "../_util.ts";
import { checkTimeoutMs, integerFrom, OBJECT, waitOptionsSchema } from "./_options.ts";
import { WordWatch } from "./_word_watch.ts";
import { isJsonData, type JsonWalk } from "./_json.ts";
import { z } from "npm:zod@4.6.7";
import { InvalidMessageError, MailboxClosedError, TimeoutError } from "../errors.ts";
import type { Schema } from "./schema.ts";
import { registerRevivable } from "./codec.ts";

// ---------------------------------------------------------------------------------------------
// Layout: a header of Int32 words, then the byte ring.
// ---------------------------------------------------------------------------------------------

/** Marks a buffer as a queue's, so that `from` refuses any other `SharedArrayBuffer`. */
const MAGIC = 0x5451_5545; // "TQUE"
const W_MAGIC = 0;
/** 0 free, 1 locked, 2 locked with threads waiting. */
const W_LOCK = 1;
/** Bit 0: closed. */
const W_STATE = 2;
const W_COUNT = 3;
/** Byte offset in the ring of the oldest item's length. */
const W_HEAD = 4;
/** Byte offset in the ring where the next item goes. */
const W_TAIL = 5;
/** Bytes the items take in the ring, lengths included. */
const W_USED = 6;
/** Changes by 1 at every put and at `close()`: getters wait on it. */
const W_ITEMS_SEQ = 7;
/** Changes by 1 at every get and at `close()`: putters wait on it. */
const W_SPACE_SEQ = 8;
const W_CAPACITY = 9;
const W_MAX_BYTES = 10;
const HEADER_WORDS = 16;
const HEADER_BYTES = HEADER_WORDS * 4;
const CLOSED_BIT = 1;
/** Each item is its JSON text's byte length (4 bytes) and the text. */
const LENGTH_BYTES = 4;

/** The default, merged before validation. */
const DEFAULTS = { maxBytes: 1024 * 1024 } as const;
const MAX_CAPACITY = 2 ** 31 - 1;
const MIN_MAX_BYTES = 8;
const MAX_MAX_BYTES = 2 ** 30;
/** Deeper than this, an item is refused (it is probably cyclic). */
const MAX_DEPTH = 64;
/** What a queue item may hold: JSON data, `undefined` fields (dropped), up to `MAX_DEPTH` deep. */
const ITEM: JsonWalk = { maxDepth: MAX_DEPTH, negativeZero: true, undefinedFields: true };

/** Compare-and-swap attempts on a busy lock before sleeping on it. */
const LOCK_SPINS = 64;
/** Tries a pump makes in a row while the sequence keeps moving, before it waits. */
const PUMP_RETRIES = 8;
/** A scratch buffer larger than this is not kept between operations. */
const KEEP_SCRATCH_BYTES = 64 * 1024;

const EMPTY = 0;
const FULL = 1;
const CLOSED = 2;
const WRITTEN = 3;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

// ---------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------

/**
 * Options for {@linkcode SharedQueue}'s constructor.
 *
 * @typeParam T The type of the items.
 *
 * @example
 * ```ts
 * import { SharedQueue, type SharedQueueOptions } from "@troupe/troupe/mailbox";
 * import { equal } from "node:assert/strict";
 *
 * const options: SharedQueueOptions<number> = { capacity: 100, maxBytes: 4096 };
 * equal(new SharedQueue(options).maxBytes, 4096);
 * ```
 */
export interface SharedQueueOptions<T> {
  /** How many items the queue holds at most: an integer from 1 to 2³¹ − 1. */
  capacity: number;
  /**
   * How many bytes the items take at most: an integer from 8 to 2³⁰. Each item takes its JSON
   * text's UTF-8 length plus 4; an item that could never fit is refused with a `RangeError`.
   *
   * @default {1048576}
   */
  maxBytes?: number;
  /**
   * Validates every item as it is taken (the trust boundary: any thread can put anything); a bad
   * item is taken off the queue and that get fails with `InvalidMessageError`. Items are not
   * validated when they are put. A schema does not cross threads: pass it to
   * {@linkcode SharedQueue.from} on the other side.
   *
   * @default {undefined}
   */
  schema?: Schema<T>;
}

/**
 * Options for {@linkcode SharedQueue.from}.
 *
 * @typeParam T The type of the items.
 *
 * @example
 * ```ts
 * import { SharedQueue, type SharedQueueFromOptions } from "@troupe/troupe/mailbox";
 * import { z } from "zod";
 * import { equal } from "node:assert/strict";
 *
 * const queue = new SharedQueue<number>({ capacity: 4 });
 * const options: SharedQueueFromOptions<number> = { schema: z.number() };
 * const revived = SharedQueue.from(structuredClone(queue), options);
 * revived.tryPut(7);
 * equal(queue.size, 1);
 * ```
 */
export interface SharedQueueFromOptions<T> {
  /**
   * Validates every item the revived view takes; see {@linkcode SharedQueueOptions.schema}.
   *
   * @default {undefined}
   */
  schema?: Schema<T>;
}

/**
 * Options for {@linkcode SharedQueue.prototype.put} and {@linkcode SharedQueue.prototype.get}.
 *
 * @example
 * ```ts
 * import { SharedQueue, type SharedQueueWaitOptions } from "@troupe/troupe/mailbox";
 * import { rejects } from "node:assert/strict";
 *
 * const queue = new SharedQueue<string>({ capacity: 1 });
 * const options: SharedQueueWaitOptions = { timeoutMs: 10 };
 * await rejects(queue.get(options), { name: "TimeoutError" });
 * ```
 */
export interface SharedQueueWaitOptions {
  /**
   * How long to wait, in milliseconds: a non-negative number, or `Infinity`. `0` tries now and does
   * not wait. When it passes the promise rejects with `TimeoutError`.
   *
   * @default {Infinity}
   */
  timeoutMs?: number;
  /**
   * Stops waiting: the promise rejects with `signal.reason`, and nothing was put or taken.
   *
   * @default {undefined}
   */
  signal?: AbortSignal;
}

/**
 * What {@linkcode SharedQueue.prototype.tryGet} returns: the item, or `ok: false` when there is
 * none.
 *
 * @typeParam T The type of the items.
 *
 * @example
 * ```ts
 * import { SharedQueue, type SharedQueueTryGet } from "@troupe/troupe/mailbox";
 * import { deepEqual } from "node:assert/strict";
 *
 * const queue = new SharedQueue<string>({ capacity: 1 });
 * const none: SharedQueueTryGet<string> = queue.tryGet();
 * deepEqual(none, { ok: false });
 * ```
 */
export type SharedQueueTryGet<T> = { readonly ok: true; readonly value: T } | {
  readonly ok: false;
};

// ---------------------------------------------------------------------------------------------
// Internals
// ---------------------------------------------------------------------------------------------

interface Waiter<V> {
  resolve(value: V): void;
  reject(reason: unknown): void;
  /** Cancels the waiter's timeout. */
  stopTimer: (() => void) | undefined;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  /** A putter's encoded item. */
  bytes: Uint8Array | undefined;
}

/** A queue item's JSON text, encoded: `bytes[0, length)` of a buffer that may be reused. */
type Encoded = Uint8Array;

/** Passed in the options by {@linkcode SharedQueue.from} to attach to an existing buffer. */
const ATTACH: unique symbol = Symbol("attach");

// ---------------------------------------------------------------------------------------------
// SharedQueue
// ---------------------------------------------------------------------------------------------

/**
 * A bounded FIFO queue over shared memory, for many producers and many consumers on any threads:
 * Python's `multiprocessing.Queue`. It holds at most `capacity` items taking at most `maxBytes`
 * bytes; a put waits while it is full and a get while it is empty, each with an optional timeout
 * and abort signal. `close()` refuses further puts and wakes every waiter on every thread; gets
 * then drain what is left and fail with `MailboxClosedError`.
 *
 * Items are JSON data (see the module documentation for the codec and what it refuses). Create the
 * queue on one thread and pass it to others in a `postMessage`, in actor arguments or in a message
 * field declared with {@linkcode SharedQueue.schema}: structured clone delivers it as a plain
 * `{ buffer, "~troupe": "queue" }`, which {@linkcode SharedQueue.from} turns back into a queue over
 * the same memory.
 *
 * Each thread's waiters on one `SharedQueue` object are served in the order they came; across
 * threads, whichever thread takes the lock first wins. `tryGet`, `getSync`, `tryPut` and `putSync`
 * do not queue behind the object's pending `get`s and `put`s.
 *
 * @typeParam T The type of the items.
 *
 * @example Putting and getting
 * ```ts
 * import { SharedQueue } from "@troupe/troupe/mailbox";
 * import { deepEqual, equal } from "node:assert/strict";
 *
 * const queue = new SharedQueue<[number, number]>({ capacity: 10 });
 * await queue.put([0, 5]);
 * queue.tryPut([1, 2]);
 * equal(queue.size, 2);
 * deepEqual(await queue.get(), [0, 5]);
 * deepEqual(queue.tryGet(), { ok: true, value: [1, 2] });
 * deepEqual(queue.tryGet(), { ok: false });
 * ```
 *
 * @example Workers serving a queue of tasks (seed 004)
 * ```ts
 * import { SharedQueue } from "@troupe/troupe/mailbox";
 * import { deepEqual } from "node:assert/strict";
 *
 * const code = `
 *   import { SharedQueue } from "${import.meta.resolve("@troupe/troupe/mailbox")}";
 *   self.onmessage = (e) => {
 *     const tasks = SharedQueue.from(e.data.tasks);
 *     const results = SharedQueue.from(e.data.results);
 *     for (;;) {
 *       let n;
 *       try { n = tasks.getSync(); } catch { break; } // MailboxClosedError once drained
 *       results.putSync(n * n);
 *     }
 *     self.postMessage("done");
 *   };
 * `;
 * const url = `data:text/javascript,${encodeURIComponent(code)}`;
 * const tasks = new SharedQueue<number>({ capacity: 4 });
 * const results = new SharedQueue<number>({ capacity: 4 });
 * const workers = [0, 1].map(() => new Worker(url, { type: "module" }));
 * for (const worker of workers) worker.postMessage({ tasks, results });
 * const squares: number[] = [];
 * const producing = (async () => {
 *   for (let n = 0; n < 6; n++) await tasks.put(n);
 *   tasks.close();
 * })();
 * for (let i = 0; i < 6; i++) squares.push(await results.get({ timeoutMs: 30_000 }));
 * await producing;
 * deepEqual(squares.sort((a, b) => a - b), [0, 1, 4, 9, 16, 25]);
 * for (const worker of workers) worker.terminate();
 * ```
 */
export class SharedQueue<T = unknown> {
  /**
   * The shared memory behind the queue: pass it (or the queue, which carries it) to another thread
   * and revive it there with {@linkcode SharedQueue.from}.
   */
  readonly buffer: SharedArrayBuffer;

  /** Brands the queue's cloned form, so that the value codec revives it wherever it crosses. */
  readonly "~troupe": "queue" = "queue";

  /**
   * A schema for a protocol field that carries a queue: it accepts a `SharedQueue`, a
   * `{ buffer: SharedArrayBuffer }` (what structured clone makes of one) or the queue's
   * `SharedArrayBuffer`, and hands the handler a usable `SharedQueue<unknown>` over the same memory,
   * without an item schema (use {@linkcode SharedQueue.from} with `schema` for one). Nested in
   * `z.object`, zod types the field as `unknown`: narrow it with `instanceof SharedQueue`.
   *
   * @example A queue in a message
   * ```ts
   * import { SharedQueue } from "@troupe/troupe/mailbox";
   * import { z } from "zod";
   * import { equal, ok } from "node:assert/strict";
   *
   * const job = z.object({ id: z.number(), results: SharedQueue.schema });
   * const queue = new SharedQueue<number>({ capacity: 8 });
   * const received = job.parse(structuredClone({ id: 1, results: queue })); // as a worker sees it
   * ok(received.results instanceof SharedQueue);
   * received.results.tryPut(42);
   * equal(queue.tryGet().ok, true);
   * ```
   */
  static readonly schema: Schema<SharedQueue<unknown>, SharedQueue<unknown>> = z
    .custom<SharedQueue<unknown>>(
      isRevivable,
      "Expected a SharedQueue, a { buffer: SharedArrayBuffer } or a SharedArrayBuffer holding a queue",
    )
    .transform((value) => SharedQueue.from(value));

  readonly #word: Int32Array<SharedArrayBuffer>;
  readonly #ring: Uint8Array<SharedArrayBuffer>;
  readonly #ringBytes: number;
  readonly #capacity: number;
  readonly #schema: Schema<T> | undefined;
  readonly #getters = new Set<Waiter<T>>();
  readonly #putters = new Set<Waiter<void>>();
  readonly #itemWatch: WordWatch;
  readonly #spaceWatch: WordWatch;
  #pumpingGets = false;
  #againGets = false;
  #pumpingPuts = false;
  #againPuts = false;
  #encodeScratch = new Uint8Array(256);
  #decodeScratch = new Uint8Array(256);

  /**
   * Creates an empty, open queue in a new `SharedArrayBuffer` of `maxBytes` plus 64 bytes.
   *
   * @param options The capacity, the byte budget and the item schema.
   * @throws {TypeError} `options` is not an object, `capacity` or `maxBytes` is not a number, or
   * `schema` has no `safeParse` method.
   * @throws {RangeError} `capacity` is not an integer from 1 to 2³¹ − 1, or `maxBytes` not an
   * integer from 8 to 2³⁰.
   *
   * @example
   * ```ts
   * import { SharedQueue } from "@troupe/troupe/mailbox";
   * import { z } from "zod";
   * import { equal } from "node:assert/strict";
   *
   * const queue = new SharedQueue({ capacity: 100, maxBytes: 64 * 1024, schema: z.string() });
   * equal(queue.capacity, 100);
   * equal(queue.closed, false);
   * ```
   */
  constructor(options: SharedQueueOptions<T>) {
    const attach = (options as { [ATTACH]?: SharedArrayBuffer })?.[ATTACH];
    if (attach !== undefined) {
      this.buffer = attach;
      this.#schema = options.schema;
    } else {
      const { capacity, maxBytes, schema } = parseQueueOptions<T>(options);
      this.buffer = new SharedArrayBuffer(HEADER_BYTES + maxBytes);
      const word = new Int32Array(this.buffer, 0, HEADER_WORDS);
      word[W_CAPACITY] = capacity;
      word[W_MAX_BYTES] = maxBytes;
      // Last: the magic publishes the header to anyone who checks it.
      Atomics.store(word, W_MAGIC, MAGIC);
      this.#schema = schema;
    }
    this.#word = new Int32Array(this.buffer, 0, HEADER_WORDS);
    this.#capacity = Atomics.load(this.#word, W_CAPACITY);
    this.#ringBytes = Atomics.load(this.#word, W_MAX_BYTES);
    this.#ring = new Uint8Array(this.buffer, HEADER_BYTES, this.#ringBytes);
    this.#itemWatch = new WordWatch(this.#word, W_ITEMS_SEQ, () => this.#pumpGets());
    this.#spaceWatch = new WordWatch(this.#word, W_SPACE_SEQ, () => this.#pumpPuts());
  }

  /**
   * Revives a queue that crossed a thread boundary: structured clone delivers a `SharedQueue` as a
   * plain `{ buffer, "~troupe": "queue" }`, which this turns back into a `SharedQueue` over the same
   * memory. Actor args are revived this way when they reach a guest.
   *
   * @typeParam T The type of the items.
   * @param value A `SharedQueue`, an object whose own `buffer` is a queue's `SharedArrayBuffer`, or
   * that `SharedArrayBuffer`.
   * @param options An item schema for the revived view (a schema does not cross threads).
   * @returns `value` itself when it is a `SharedQueue` and no schema is given; otherwise a new view
   * on the same queue.
   * @throws {TypeError} `value` is none of these, or its buffer does not hold a queue; or
   * `options.schema` has no `safeParse` method.
   *
   * @example Reviving a cloned queue
   * ```ts
   * import { SharedQueue } from "@troupe/troupe/mailbox";
   * import { deepEqual, ok } from "node:assert/strict";
   *
   * const queue = new SharedQueue<string>({ capacity: 4 });
   * const cloned = structuredClone(queue); // what postMessage delivers
   * ok(!(cloned instanceof SharedQueue));
   * const revived = SharedQueue.from<string>(cloned);
   * revived.tryPut("hello");
   * deepEqual(queue.tryGet(), { ok: true, value: "hello" });
   * ```
   */
  static from<T = unknown>(value: unknown, options?: SharedQueueFromOptions<T>): SharedQueue<T> {
    const schema = options === undefined
      ? undefined
      : parseOptions(fromOptionsSchema, options, "Cannot revive SharedQueue").schema as
        | Schema<T>
        | undefined;
    if (value instanceof SharedQueue) {
      if (schema === undefined) return value as SharedQueue<T>;
      value = value.buffer;
    }
    let buffer: unknown = value;
    if (!(value instanceof SharedArrayBuffer)) {
      if (
        typeof value !== "object" || value === null || !Object.hasOwn(value, "buffer") ||
        !((value as { buffer: unknown }).buffer instanceof SharedArrayBuffer)
      ) {
        throw new TypeError(
          `Cannot revive SharedQueue: expected a SharedQueue, a { buffer: SharedArrayBuffer } or a SharedArrayBuffer, received ${
            describe(value)
          }`,
        );
      }
      buffer = (value as { buffer: SharedArrayBuffer }).buffer;
    }
    const problem = bufferProblem(buffer as SharedArrayBuffer);
    if (problem !== undefined) throw new TypeError(`Cannot revive SharedQueue: ${problem}`);
    return new SharedQueue<T>({ capacity: 1, schema, [ATTACH]: buffer } as SharedQueueOptions<T>);
  }

  /**
   * How many items the queue holds at most.
   *
   * @example
   * ```ts
   * import { SharedQueue } from "@troupe/troupe/mailbox";
   * import { equal } from "node:assert/strict";
   *
   * equal(new SharedQueue({ capacity: 3 }).capacity, 3);
   * ```
   */
  get capacity(): number {
    return this.#capacity;
  }

  /**
   * How many bytes the items take at most, their 4-byte lengths included.
   *
   * @example
   * ```ts
   * import { SharedQueue } from "@troupe/troupe/mailbox";
   * import { equal } from "node:assert/strict";
   *
   * equal(new SharedQueue({ capacity: 3 }).maxBytes, 1024 * 1024);
   * ```
   */
  get maxBytes(): number {
    return this.#ringBytes;
  }

  /**
   * How many items the queue holds now. Other threads may put or take at any moment, so across
   * threads this is a snapshot, out of date as soon as it is read.
   *
   * @example
   * ```ts
   * import { SharedQueue } from "@troupe/troupe/mailbox";
   * import { equal } from "node:assert/strict";
   *
   * const queue = new SharedQueue<number>({ capacity: 3 });
   * queue.tryPut(1);
   * equal(queue.size, 1);
   * ```
   */
  get size(): number {
    return Atomics.load(this.#word, W_COUNT);
  }

  /**
   * Whether {@linkcode SharedQueue.prototype.close} was called, on any thread.
   *
   * @example
   * ```ts
   * import { SharedQueue } from "@troupe/troupe/mailbox";
   * import { equal } from "node:assert/strict";
   *
   * const queue = new SharedQueue({ capacity: 3 });
   * queue.close();
   * equal(queue.closed, true);
   * ```
   */
  get closed(): boolean {
    return (Atomics.load(this.#word, W_STATE) & CLOSED_BIT) !== 0;
  }

  /**
   * Puts an item at the end of the queue, waiting without blocking the thread while the queue is
   * full. Works on the main thread and in workers; a pending put keeps the event loop alive.
   *
   * @param item The item: JSON data (see the module documentation).
   * @param options The timeout and the abort signal.
   * @returns A promise that resolves once the item is in the queue. Its timer is cleared and its
   * abort listener removed when it settles.
   * @throws {TypeError} (rejects) `item` holds a value the queue cannot carry (named in the
   * message), or the options are malformed.
   * @throws {RangeError} (rejects) The item is larger than `maxBytes` allows, or `timeoutMs` is
   * negative or `NaN`.
   * @throws {MailboxClosedError} (rejects) The queue is closed, or closes while the put waits.
   * @throws {TimeoutError} (rejects) No space came within `timeoutMs`: `"queue space"`.
   * @throws (rejects) `signal.reason` when the signal aborts first; the item was not put.
   *
   * @example Waiting for space
   * ```ts
   * import { SharedQueue } from "@troupe/troupe/mailbox";
   * import { equal, rejects } from "node:assert/strict";
   *
   * const queue = new SharedQueue<string>({ capacity: 1 });
   * await queue.put("a");
   * await rejects(queue.put("b", { timeoutMs: 10 }), {
   *   name: "TimeoutError",
   *   message: "Timed out after 10 ms waiting for queue space",
   * });
   * const waiting = queue.put("c");
   * equal(await queue.get(), "a"); // makes room: "c" goes in
   * await waiting;
   * equal(await queue.get(), "c");
   * ```
   */
  put(item: T, options?: SharedQueueWaitOptions): Promise<void> {
    let timeoutMs: number;
    let signal: AbortSignal | undefined;
    let bytes: Encoded;
    try {
      ({ timeoutMs, signal } = parseWaitOptions(options, "put on"));
      bytes = this.#encode(item, "put on");
      if (signal?.aborted) throw signal.reason;
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.#putters.size === 0) {
      const result = this.#write(bytes);
      if (result === WRITTEN) {
        this.#wakeGetters();
        return Promise.resolve();
      }
      if (result === CLOSED) return Promise.reject(new MailboxClosedError("queue"));
    }
    if (timeoutMs === 0) return Promise.reject(new TimeoutError("queue space", 0));
    // The scratch buffer is reused by the next encode: a waiting put keeps its own copy.
    const own = bytes.slice();
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter<void> = {
        resolve,
        reject,
        stopTimer: undefined,
        signal,
        onAbort: undefined,
        bytes: own,
      };
      this.#enqueue(this.#putters, waiter, timeoutMs, "queue space", this.#spaceWatch);
      this.#pumpPuts();
    });
  }

  /**
   * Puts an item at the end of the queue, blocking the thread with `Atomics.wait` while the queue
   * is full. Meant for workers: on the main thread use {@linkcode SharedQueue.prototype.put}, since
   * blocking the main thread stalls its event loop.
   *
   * @param item The item: JSON data (see the module documentation).
   * @param timeoutMs How long to wait, in milliseconds: a non-negative number, or `Infinity`. `0`
   * tries now.
   * @throws {TypeError} `item` holds a value the queue cannot carry, or `timeoutMs` is not a number.
   * @throws {RangeError} The item is larger than `maxBytes` allows, or `timeoutMs` is negative or
   * `NaN`.
   * @throws {MailboxClosedError} The queue is closed, or closes while the put waits.
   * @throws {TimeoutError} No space came within `timeoutMs`: `"queue space"`.
   *
   * @example
   * ```ts
   * import { SharedQueue } from "@troupe/troupe/mailbox";
   * import { equal, throws } from "node:assert/strict";
   *
   * const queue = new SharedQueue<number>({ capacity: 1 });
   * queue.putSync(1);
   * throws(() => queue.putSync(2, 0), { name: "TimeoutError" });
   * equal(queue.size, 1);
   * ```
   */
  putSync(item: T, timeoutMs: number = Infinity): void {
    checkTimeoutMs(timeoutMs, "Cannot put on SharedQueue");
    const bytes = this.#encode(item, "put on");
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const seq = Atomics.load(this.#word, W_SPACE_SEQ);
      const result = this.#write(bytes);
      if (result === WRITTEN) {
        this.#wakeGetters();
        return;
      }
      if (result === CLOSED) throw new MailboxClosedError("queue");
      const remaining = deadline - performance.now();
      if (remaining <= 0) throw new TimeoutError("queue space", timeoutMs);
      Atomics.wait(this.#word, W_SPACE_SEQ, seq, remaining);
    }
  }

  /**
   * Puts an item if there is room now.
   *
   * @param item The item: JSON data (see the module documentation).
   * @returns `true` if the item is in the queue, `false` if the queue is full.
   * @throws {TypeError} `item` holds a value the queue cannot carry.
   * @throws {RangeError} The item is larger than `maxBytes` allows.
   * @throws {MailboxClosedError} The queue is closed.
   *
   * @example
   * ```ts
   * import { SharedQueue } from "@troupe/troupe/mailbox";
   * import { equal, throws } from "node:assert/strict";
   *
   * const queue = new SharedQueue<{ id: number }>({ capacity: 1 });
   * equal(queue.tryPut({ id: 1 }), true);
   * equal(queue.tryPut({ id: 2 }), false);
   * throws(() => queue.tryPut({ id: new Date() as unknown as number }), {
   *   name: "TypeError",
   *   message: "Cannot put on SharedQueue: item.id is a Date; a queue item holds only plain " +
   *     "objects, arrays, strings, finite numbers, booleans and null",
   * });
   * ```
   */
  tryPut(item: T): boolean {
    const result = this.#write(this.#encode(item, "put on"));
    if (result === CLOSED) throw new MailboxClosedError("queue");
    if (result === FULL) return false;
    this.#wakeGetters();
    return true;
  }

  /**
   * Takes the item at the front of the queue, waiting without blocking the thread while it is
   * empty. Works on the main thread and in workers; a pending get keeps the event loop alive. It
   * wakes within about 0.1 ms of a put on another thread, and in any case within 16 ms.
   *
   * @param options The timeout and the abort signal.
   * @returns A promise of the item (parsed by the schema, if the queue has one). Its timer is
   * cleared and its abort listener removed when it settles.
   * @throws {InvalidMessageError} (rejects) The item did not match the schema (`path` `"queue"`,
   * `kind` `"item"`); it was taken off the queue.
   * @throws {MailboxClosedError} (rejects) The queue is closed and empty.
   * @throws {TimeoutError} (rejects) No item came within `timeoutMs`: `"queue item"`.
   * @throws {TypeError} (rejects) The options are malformed.
   * @throws {RangeError} (rejects) `timeoutMs` is negative or `NaN`.
   * @throws (rejects) `signal.reason` when the signal aborts first; nothing was taken.
   *
   * @example Draining a closed queue
   * ```ts
   * import { SharedQueue } from "@troupe/troupe/mailbox";
   * import { equal, rejects } from "node:assert/strict";
   *
   * const queue = new SharedQueue<string>({ capacity: 2 });
   * await queue.put("last");
   * queue.close();
   * equal(await queue.get(), "last");
   * await rejects(queue.get(), { name: "MailboxClosedError" });
   * ```
   */
  get(options?: SharedQueueWaitOptions): Promise<T> {
    let timeoutMs: number;
    let signal: AbortSignal | undefined;
    try {
      ({ timeoutMs, signal } = parseWaitOptions(options, "get from"));
      if (signal?.aborted) throw signal.reason;
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.#getters.size === 0) {
      const taken = this.#take();
      if (taken === CLOSED) return Promise.reject(new MailboxClosedError("queue"));
      if (taken !== EMPTY) {
        try {
          return Promise.resolve(this.#decode(taken));
        } catch (error) {
          return Promise.reject(error);
        } finally {
          this.#wakePutters();
        }
      }
    }
    if (timeoutMs === 0) return Promise.reject(new TimeoutError("queue item", 0));
    return new Promise<T>((resolve, reject) => {
      const waiter: Waiter<T> = {
        resolve,
        reject,
        stopTimer: undefined,
        signal,
        onAbort: undefined,
        bytes: undefined,
      };
      this.#enqueue(this.#getters, waiter, timeoutMs, "queue item", this.#itemWatch);
      this.#pumpGets();
    });
  }

  /**
   * Takes the item at the front of the queue, blocking the thread with `Atomics.wait` while it is
   * empty. Meant for workers: on the main thread use {@linkcode SharedQueue.prototype.get}.
   *
   * @param timeoutMs How long to wait, in milliseconds: a non-negative number, or `Infinity`. `0`
   * tries now.
   * @returns The item (parsed by the schema, if the queue has one).
   * @throws {InvalidMessageError} The item did not match the schema; it was taken off the queue.
   * @throws {MailboxClosedError} The queue is closed and empty.
   * @throws {TimeoutError} No item came within `timeoutMs`: `"queue item"`.
   * @throws {TypeError} `timeoutMs` is not a number.
   * @throws {RangeError} `timeoutMs` is negative or `NaN`.
   *
   * @example
   * ```ts
   * import { SharedQueue } from "@troupe/troupe/mailbox";
   * import { equal, throws } from "node:assert/strict";
   *
   * const queue = new SharedQueue<number>({ capacity: 1 });
   * throws(() => queue.getSync(0), {
   *   name: "TimeoutError",
   *   message: "Timed out after 0 ms waiting for queue item",
   * });
   * queue.tryPut(9);
   * equal(queue.getSync(), 9);
   * ```
   */
  getSync(timeoutMs: number = Infinity): T {
    checkTimeoutMs(timeoutMs, "Cannot get from SharedQueue");
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const seq = Atomics.load(this.#word, W_ITEMS_SEQ);
      const taken = this.#take();
      if (taken === CLOSED) throw new MailboxClosedError("queue");
      if (taken !== EMPTY) {
        try {
          return this.#decode(taken);
        } finally {
          this.#wakePutters();
        }
      }
      const remaining = deadline - performance.now();
      if (remaining <= 0) throw new TimeoutError("queue item", timeoutMs);
      Atomics.wait(this.#word, W_ITEMS_SEQ, seq, remaining);
    }
  }

  /**
   * Takes the item at the front of the queue if there is one.
   *
   * @returns `{ ok: true, value }`, or `{ ok: false }` when the queue is empty (and open).
   * @throws {InvalidMessageError} The item did not match the schema; it was taken off the queue.
   * @throws {MailboxClosedError} The queue is closed and empty.
   *
   * @example
   * ```ts
   * import { SharedQueue } from "@troupe/troupe/mailbox";
   * import { z } from "zod";
   * import { deepEqual, throws } from "node:assert/strict";
   *
   * const queue = new SharedQueue({ capacity: 4, schema: z.number() });
   * queue.tryPut(1);
   * (queue as SharedQueue<unknown>).tryPut("two"); // another thread can put anything
   * deepEqual(queue.tryGet(), { ok: true, value: 1 });
   * throws(() => queue.tryGet(), { name: "InvalidMessageError" });
   * deepEqual(queue.tryGet(), { ok: false });
   * ```
   */
  tryGet(): SharedQueueTryGet<T> {
    const taken = this.#take();
    if (taken === EMPTY) return { ok: false };
    if (taken === CLOSED) throw new MailboxClosedError("queue");
    try {
      return { ok: true, value: this.#decode(taken) };
    } finally {
      this.#wakePutters();
    }
  }

  /**
   * Closes the queue, for every thread: puts fail with `MailboxClosedError` from now on, and so do
   * waiting puts; gets take what is left, then fail with `MailboxClosedError`. It wakes every
   * waiter on every thread. Closing a closed queue does nothing.
   *
   * @example
   * ```ts
   * import { SharedQueue } from "@troupe/troupe/mailbox";
   * import { rejects } from "node:assert/strict";
   *
   * const queue = new SharedQueue<number>({ capacity: 1 });
   * const waiting = queue.get();
   * queue.close();
   * await rejects(waiting, { name: "MailboxClosedError", message: "Mailbox of queue is closed" });
   * await rejects(queue.put(1), { name: "MailboxClosedError" });
   * ```
   */
  close(): void {
    this.#lock();
    let changed = false;
    try {
      const state = Atomics.load(this.#word, W_STATE);
      if ((state & CLOSED_BIT) === 0) {
        Atomics.store(this.#word, W_STATE, state | CLOSED_BIT);
        Atomics.add(this.#word, W_ITEMS_SEQ, 1);
        Atomics.add(this.#word, W_SPACE_SEQ, 1);
        changed = true;
      }
    } finally {
      this.#unlock();
    }
    if (changed) {
      Atomics.notify(this.#word, W_ITEMS_SEQ);
      Atomics.notify(this.#word, W_SPACE_SEQ);
    }
    this.#pumpGets();
    this.#pumpPuts();
  }

  // -------------------------------------------------------------------------------------------
  // The lock and the ring
  // -------------------------------------------------------------------------------------------

  #lock(): void {
    const word = this.#word;
    if (Atomics.compareExchange(word, W_LOCK, 0, 1) === 0) return;
    for (let i = 0; i < LOCK_SPINS; i++) {
      if (Atomics.load(word, W_LOCK) === 0 && Atomics.compareExchange(word, W_LOCK, 0, 1) === 0) {
        return;
      }
    }
    // Contended: mark the lock as having sleepers and sleep until the holder hands it over.
    while (Atomics.exchange(word, W_LOCK, 2) !== 0) Atomics.wait(word, W_LOCK, 2);
  }

  #unlock(): void {
    if (Atomics.sub(this.#word, W_LOCK, 1) !== 1) {
      Atomics.store(this.#word, W_LOCK, 0);
      Atomics.notify(this.#word, W_LOCK, 1);
    }
  }

  /** Writes an encoded item at the tail if it fits: `WRITTEN`, `FULL` or `CLOSED`. */
  #write(bytes: Encoded): typeof WRITTEN | typeof FULL | typeof CLOSED {
    const word = this.#word;
    const length = bytes.byteLength;
    this.#lock();
    try {
      if ((Atomics.load(word, W_STATE) & CLOSED_BIT) !== 0) return CLOSED;
      const count = Atomics.load(word, W_COUNT);
      const used = Atomics.load(word, W_USED);
      if (count >= this.#capacity || used + LENGTH_BYTES + length > this.#ringBytes) return FULL;
      const tail = Atomics.load(word, W_TAIL);
      const ring = this.#ring;
      const size = this.#ringBytes;
      let at = tail;
      for (let i = 0; i < LENGTH_BYTES; i++) {
        ring[at] = (length >>> (8 * i)) & 0xff;
        at = at + 1 === size ? 0 : at + 1;
      }
      const first = Math.min(length, size - at);
      ring.set(first === length ? bytes : bytes.subarray(0, first), at);
      if (first < length) ring.set(bytes.subarray(first), 0);
      Atomics.store(word, W_TAIL, (at + length) % size);
      Atomics.store(word, W_USED, used + LENGTH_BYTES + length);
      Atomics.store(word, W_COUNT, count + 1);
      Atomics.add(word, W_ITEMS_SEQ, 1);
    } finally {
      this.#unlock();
    }
    Atomics.notify(word, W_ITEMS_SEQ);
    return WRITTEN;
  }

  /** Takes the item at the head: its bytes (in a scratch buffer), `EMPTY` or `CLOSED`. */
  #take(): Uint8Array | typeof EMPTY | typeof CLOSED {
    const word = this.#word;
    let out: Uint8Array;
    this.#lock();
    try {
      const count = Atomics.load(word, W_COUNT);
      if (count === 0) {
        return (Atomics.load(word, W_STATE) & CLOSED_BIT) !== 0 ? CLOSED : EMPTY;
      }
      const ring = this.#ring;
      const size = this.#ringBytes;
      let at = Atomics.load(word, W_HEAD);
      let length = 0;
      for (let i = 0; i < LENGTH_BYTES; i++) {
        length |= ring[at] << (8 * i);
        at = at + 1 === size ? 0 : at + 1;
      }
      if (this.#decodeScratch.byteLength < length) this.#decodeScratch = new Uint8Array(length);
      out = this.#decodeScratch.subarray(0, length);
      const first = Math.min(length, size - at);
      out.set(ring.subarray(at, at + first));
      if (first < length) out.set(ring.subarray(0, length - first), first);
      Atomics.store(word, W_HEAD, (at + length) % size);
      Atomics.store(word, W_USED, Atomics.load(word, W_USED) - LENGTH_BYTES - length);
      Atomics.store(word, W_COUNT, count - 1);
      Atomics.add(word, W_SPACE_SEQ, 1);
    } finally {
      this.#unlock();
    }
    Atomics.notify(word, W_SPACE_SEQ);
    return out;
  }

  /** Encodes an item as JSON text into the scratch buffer, refusing what JSON cannot carry. */
  #encode(item: unknown, operation: string): Encoded {
    if (!isJsonData(item, ITEM)) {
      throw new TypeError(`Cannot ${operation} SharedQueue: ${unsupported(item)}`);
    }
    const text = JSON.stringify(item);
    let bytes: Uint8Array;
    if (text.length * 3 <= KEEP_SCRATCH_BYTES) {
      if (this.#encodeScratch.byteLength < text.length * 3) {
        this.#encodeScratch = new Uint8Array(Math.min(KEEP_SCRATCH_BYTES, text.length * 6));
      }
      const { written } = encoder.encodeInto(text, this.#encodeScratch);
      bytes = this.#encodeScratch.subarray(0, written);
    } else {
      bytes = encoder.encode(text);
    }
    if (LENGTH_BYTES + bytes.byteLength > this.#ringBytes) {
      throw new RangeError(
        `Cannot ${operation} SharedQueue: the item takes ${bytes.byteLength} bytes as JSON, more than maxBytes ${this.#ringBytes} allows (${
          this.#ringBytes - LENGTH_BYTES
        } bytes)`,
      );
    }
    return bytes;
  }

  /** Decodes a taken item and validates it with the schema, if any. */
  #decode(bytes: Uint8Array): T {
    const value: unknown = JSON.parse(decoder.decode(bytes));
    if (this.#decodeScratch.byteLength > KEEP_SCRATCH_BYTES) {
      this.#decodeScratch = new Uint8Array(256);
    }
    const schema = this.#schema;
    if (schema === undefined) return value as T;
    let result: ReturnType<Schema<T>["safeParse"]>;
    try {
      result = schema.safeParse(value);
    } catch (cause) {
      const reason = cause instanceof Error ? cause.message : String(cause);
      throw new InvalidMessageError(
        "queue",
        "item",
        `(root): could not be validated (${reason})`,
        { cause },
      );
    }
    if (result.success) return result.data;
    throw new InvalidMessageError("queue", "item", formatIssues(result.error), {
      cause: result.error,
    });
  }

  // -------------------------------------------------------------------------------------------
  // Async waiters
  // -------------------------------------------------------------------------------------------

  /** Adds a waiter with its timeout and abort listener. */
  #enqueue<V>(
    waiters: Set<Waiter<V>>,
    waiter: Waiter<V>,
    timeoutMs: number,
    what: string,
    watch: WordWatch,
  ): void {
    waiters.add(waiter);
    if (timeoutMs !== Infinity) {
      waiter.stopTimer = longTimeout(timeoutMs, () => {
        waiter.stopTimer = undefined;
        // An item or space that the poll has not seen yet still counts.
        watch.look();
        if (!waiters.has(waiter)) return;
        this.#settle(waiters, waiter);
        if (waiters.size === 0) watch.stop();
        waiter.reject(new TimeoutError(what, timeoutMs));
      });
    }
    const signal = waiter.signal;
    if (signal !== undefined) {
      waiter.onAbort = () => {
        if (!waiters.has(waiter)) return;
        this.#settle(waiters, waiter);
        if (waiters.size === 0) watch.stop();
        waiter.reject(signal.reason);
      };
      signal.addEventListener("abort", waiter.onAbort, { once: true });
    }
  }

  /** Forgets a waiter: clears its timer and removes its abort listener. */
  #settle<V>(waiters: Set<Waiter<V>>, waiter: Waiter<V>): void {
    waiters.delete(waiter);
    waiter.stopTimer?.();
    waiter.stopTimer = undefined;
    if (waiter.onAbort !== undefined) {
      waiter.signal?.removeEventListener("abort", waiter.onAbort);
      waiter.onAbort = undefined;
    }
  }

  /** After a put through this object: its own pending gets need not wait for a notify. */
  #wakeGetters(): void {
    if (this.#getters.size > 0) this.#pumpGets();
  }

  /** After a get through this object: its own pending puts need not wait for a notify. */
  #wakePutters(): void {
    if (this.#putters.size > 0) this.#pumpPuts();
  }

  /** Serves this object's pending gets in order, then watches for items if any are left. */
  #pumpGets(): void {
    if (this.#pumpingGets) {
      this.#againGets = true;
      return;
    }
    this.#pumpingGets = true;
    try {
      let tries = 0;
      do {
        this.#againGets = false;
        const seq = Atomics.load(this.#word, W_ITEMS_SEQ);
        while (this.#getters.size > 0) {
          const taken = this.#take();
          if (taken === EMPTY) break;
          if (taken === CLOSED) {
            for (const waiter of [...this.#getters]) {
              this.#settle(this.#getters, waiter);
              waiter.reject(new MailboxClosedError("queue"));
            }
            break;
          }
          const waiter: Waiter<T> = this.#getters.values().next().value!;
          this.#settle(this.#getters, waiter);
          try {
            waiter.resolve(this.#decode(taken));
          } catch (error) {
            waiter.reject(error);
          }
          this.#wakePutters();
        }
        if (this.#getters.size === 0) {
          this.#itemWatch.stop();
          return;
        }
        if (Atomics.load(this.#word, W_ITEMS_SEQ) === seq || ++tries >= PUMP_RETRIES) {
          this.#itemWatch.watch(seq);
        } else {
          this.#againGets = true;
        }
      } while (this.#againGets);
    } finally {
      this.#pumpingGets = false;
    }
  }

  /** Serves this object's pending puts in order, then watches for space if any are left. */
  #pumpPuts(): void {
    if (this.#pumpingPuts) {
      this.#againPuts = true;
      return;
    }
    this.#pumpingPuts = true;
    try {
      let tries = 0;
      do {
        this.#againPuts = false;
        const seq = Atomics.load(this.#word, W_SPACE_SEQ);
        while (this.#putters.size > 0) {
          const waiter: Waiter<void> = this.#putters.values().next().value!;
          const result = this.#write(waiter.bytes!);
          if (result === FULL) break;
          if (result === CLOSED) {
            for (const waiter of [...this.#putters]) {
              this.#settle(this.#putters, waiter);
              waiter.reject(new MailboxClosedError("queue"));
            }
            break;
          }
          this.#settle(this.#putters, waiter);
          waiter.resolve();
          this.#wakeGetters();
        }
        if (this.#putters.size === 0) {
          this.#spaceWatch.stop();
          return;
        }
        if (Atomics.load(this.#word, W_SPACE_SEQ) === seq || ++tries >= PUMP_RETRIES) {
          this.#spaceWatch.watch(seq);
        } else {
          this.#againPuts = true;
        }
      } while (this.#againPuts);
    } finally {
      this.#pumpingPuts = false;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Validation and messages
// ---------------------------------------------------------------------------------------------

/** A schema for the items: anything with a `safeParse` method. */
const schemaOption = z.custom<Schema<unknown>>(
  (value) =>
    typeof value === "object" && value !== null &&
    typeof (value as { safeParse?: unknown }).safeParse === "function",
  "must have a safeParse method",
);

/** Options of `SharedQueue.from`. */
const fromOptionsSchema = z.object({ schema: schemaOption.optional() }, OBJECT);

/** Options of `new SharedQueue`. */
const queueOptionsSchema = z.object({
  capacity: integerFrom(1, MAX_CAPACITY),
  maxBytes: integerFrom(MIN_MAX_BYTES, MAX_MAX_BYTES).optional(),
  schema: schemaOption.optional(),
}, OBJECT);

function parseQueueOptions<T>(
  options: unknown,
): { capacity: number; maxBytes: number; schema: Schema<T> | undefined } {
  const parsed = parseOptions(queueOptionsSchema, options, "Cannot create SharedQueue");
  return {
    capacity: parsed.capacity,
    maxBytes: parsed.maxBytes ?? DEFAULTS.maxBytes,
    schema: parsed.schema as Schema<T> | undefined,
  };
}

function parseWaitOptions(
  options: unknown,
  operation: string,
): { timeoutMs: number; signal: AbortSignal | undefined } {
  if (options === undefined) return { timeoutMs: Infinity, signal: undefined };
  const { timeoutMs = Infinity, signal } = parseOptions(
    waitOptionsSchema,
    options,
    `Cannot ${operation} SharedQueue`,
  );
  return { timeoutMs, signal };
}

/** Why a buffer does not hold a queue, or `undefined` if it does. */
function bufferProblem(buffer: SharedArrayBuffer): string | undefined {
  const notQueue = `the buffer does not hold a queue (${buffer.byteLength} bytes)`;
  if (buffer.byteLength < HEADER_BYTES + MIN_MAX_BYTES) return notQueue;
  const word = new Int32Array(buffer, 0, HEADER_WORDS);
  if (Atomics.load(word, W_MAGIC) !== MAGIC) return notQueue;
  const capacity = Atomics.load(word, W_CAPACITY);
  const maxBytes = Atomics.load(word, W_MAX_BYTES);
  if (
    capacity < 1 || maxBytes < MIN_MAX_BYTES || maxBytes > MAX_MAX_BYTES ||
    HEADER_BYTES + maxBytes > buffer.byteLength
  ) {
    return notQueue;
  }
  return undefined;
}

/** Whether {@linkcode SharedQueue.from} accepts a value without throwing. */
function isRevivable(value: unknown): boolean {
  if (value instanceof SharedQueue) return true;
  let buffer: unknown = value;
  if (!(value instanceof SharedArrayBuffer)) {
    if (typeof value !== "object" || value === null || !Object.hasOwn(value, "buffer")) {
      return false;
    }
    buffer = (value as { buffer: unknown }).buffer;
  }
  return buffer instanceof SharedArrayBuffer && bufferProblem(buffer) === undefined;
}

const SUPPORTED =
  "a queue item holds only plain objects, arrays, strings, finite numbers, booleans and null";

/** Names the first value in an item that {@linkcode isJsonData} refuses, with its path. */
function unsupported(item: unknown): string {
  const found = findUnsupported(item, "item", 0);
  return `${found ?? "item is not JSON data"}; ${SUPPORTED}`;
}

function findUnsupported(value: unknown, path: string, depth: number): string | undefined {
  switch (typeof value) {
    case "string":
    case "boolean":
      return undefined;
    case "number":
      return Number.isFinite(value) ? undefined : `${path} is ${value}`;
    case "object": {
      if (value === null) return undefined;
      if (depth >= MAX_DEPTH) {
        return `${path} nests deeper than ${MAX_DEPTH} levels (is it cyclic?)`;
      }
      if (Array.isArray(value)) {
        if (Object.getPrototypeOf(value) !== Array.prototype) {
          return `${path} is ${describe(value)}`;
        }
        for (let i = 0; i < value.length; i++) {
          if (!(i in value)) return `${path}[${i}] is a hole in the array`;
          const found = findUnsupported(value[i], `${path}[${i}]`, depth + 1);
          if (found !== undefined) return found;
        }
        return undefined;
      }
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) return `${path} is ${describe(value)}`;
      const record = value as Record<string, unknown>;
      for (const key in record) {
        const field = record[key];
        if (field === undefined) continue;
        const found = findUnsupported(field, `${path}${propertyPath(key)}`, depth + 1);
        if (found !== undefined) return found;
      }
      return undefined;
    }
    default:
      return `${path} is ${describe(value)}`;
  }
}

function propertyPath(key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

registerRevivable("queue", (cloned) => SharedQueue.from(cloned));
