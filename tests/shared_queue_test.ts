import { deepEqual, equal, notEqual, ok, rejects, throws } from "node:assert/strict";
import fc from "fast-check";
import { z } from "zod";
import { InvalidMessageError, MailboxClosedError, TimeoutError } from "../errors.ts";
import { SharedEvent } from "../mailbox/shared_event.ts";
import { SharedQueue } from "../mailbox/shared_queue.ts";
import type { QueueReply, QueueRequest } from "./fixtures/queue_worker.ts";
import {
  countingController,
  FixtureWorker,
  flush,
  type State,
  test,
  track,
  withClock,
} from "./_helpers.ts";

// ---------------------------------------------------------------------------------------------
// Helpers: fake clocks, a worker handle, expected errors.
// ---------------------------------------------------------------------------------------------

/** A bare worker running `fixtures/queue_worker.ts`; `using` terminates it. */
class QueueWorker extends FixtureWorker<QueueRequest, QueueReply> {
  constructor() {
    super(new URL("./fixtures/queue_worker.ts", import.meta.url), "queue worker");
  }
}

/** Long enough never to pass in a passing test; only there so that a broken wake fails, not hangs. */
const GUARD_MS = 5000;

/** Real time, so that another thread is blocked in its wait before we act. */
function settleDown(ms = 20): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

const closedError = new MailboxClosedError("queue");
const SUPPORTED =
  "a queue item holds only plain objects, arrays, strings, finite numbers, booleans and null";

function unsupported(what: string): TypeError {
  return new TypeError(`Cannot put on SharedQueue: ${what}; ${SUPPORTED}`);
}

function isClosed(error: unknown): boolean {
  return error instanceof MailboxClosedError && error.message === "Mailbox of queue is closed";
}

// ---------------------------------------------------------------------------------------------
// Construction
// ---------------------------------------------------------------------------------------------

Deno.test("SharedQueue construction", async (t) => {
  await t.step("a new queue is empty and open, with its capacity and a 1 MiB default", () => {
    const queue = new SharedQueue<number>({ capacity: 3 });
    equal(queue.capacity, 3);
    equal(queue.maxBytes, 1024 * 1024);
    equal(queue.size, 0);
    equal(queue.closed, false);
    equal(queue.buffer.byteLength, 64 + 1024 * 1024);
    equal(new SharedQueue({ capacity: 1, maxBytes: undefined }).maxBytes, 1024 * 1024);
    equal(new SharedQueue({ capacity: 2 ** 31 - 1, maxBytes: 8 }).maxBytes, 8);
  });

  await t.step("the own fields are the buffer and the brand", () => {
    const queue = new SharedQueue({ capacity: 1, maxBytes: 64 });
    deepEqual(Object.keys(queue), ["buffer", "~troupe"]);
    equal(queue["~troupe"], "queue");
    ok(queue.buffer instanceof SharedArrayBuffer);
  });

  await t.step("bad options are refused with the offending value named", () => {
    const cases: [unknown, Error][] = [
      [
        undefined,
        new TypeError("Cannot create SharedQueue: options must be an object, received undefined"),
      ],
      [5, new TypeError("Cannot create SharedQueue: options must be an object, received 5")],
      [
        {},
        new TypeError("Cannot create SharedQueue: capacity must be a number, received undefined"),
      ],
      [
        { capacity: "3" },
        new TypeError('Cannot create SharedQueue: capacity must be a number, received "3"'),
      ],
      [
        { capacity: 0 },
        new RangeError(
          "Cannot create SharedQueue: capacity must be an integer from 1 to 2147483647, received 0",
        ),
      ],
      [
        { capacity: 1.5 },
        new RangeError(
          "Cannot create SharedQueue: capacity must be an integer from 1 to 2147483647, received 1.5",
        ),
      ],
      [
        { capacity: 2 ** 31 },
        new RangeError(
          "Cannot create SharedQueue: capacity must be an integer from 1 to 2147483647, received 2147483648",
        ),
      ],
      [
        { capacity: 1, maxBytes: 4 },
        new RangeError(
          "Cannot create SharedQueue: maxBytes must be an integer from 8 to 1073741824, received 4",
        ),
      ],
      [
        { capacity: 1, maxBytes: NaN },
        new RangeError(
          "Cannot create SharedQueue: maxBytes must be an integer from 8 to 1073741824, received NaN",
        ),
      ],
      [
        { capacity: 1, maxBytes: 2 ** 30 + 1 },
        new RangeError(
          "Cannot create SharedQueue: maxBytes must be an integer from 8 to 1073741824, received 1073741825",
        ),
      ],
      [
        { capacity: 1, maxBytes: null },
        new TypeError("Cannot create SharedQueue: maxBytes must be a number, received null"),
      ],
      [
        { capacity: 1, schema: {} },
        new TypeError(
          "Cannot create SharedQueue: schema must have a safeParse method, received an object",
        ),
      ],
    ];
    for (const [options, expected] of cases) {
      throws(() => new SharedQueue(options as { capacity: number }), expected);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// One thread: FIFO, bounds, the codec
// ---------------------------------------------------------------------------------------------

Deno.test("SharedQueue on one thread", async (t) => {
  await t.step("items come out in the order they went in, through every API", async () => {
    const queue = new SharedQueue<unknown>({ capacity: 10 });
    const items = [1, "two", { three: [3, 3.5, null] }, [true, false], null, "ünïcødé ✓ 🎉"];
    await queue.put(items[0]);
    queue.putSync(items[1]);
    equal(queue.tryPut(items[2]), true);
    await queue.put(items[3], { timeoutMs: 0 });
    queue.putSync(items[4], 0);
    queue.tryPut(items[5]);
    equal(queue.size, 6);
    deepEqual(await queue.get(), items[0]);
    deepEqual(queue.getSync(), items[1]);
    deepEqual(queue.tryGet(), { ok: true, value: items[2] });
    deepEqual(await queue.get({ timeoutMs: 0 }), items[3]);
    deepEqual(queue.getSync(0), items[4]);
    deepEqual(queue.tryGet(), { ok: true, value: items[5] });
    deepEqual(queue.tryGet(), { ok: false });
    equal(queue.size, 0);
  });

  await t.step("tryPut refuses past capacity and past maxBytes", () => {
    const byCount = new SharedQueue<number>({ capacity: 2 });
    equal(byCount.tryPut(1), true);
    equal(byCount.tryPut(2), true);
    equal(byCount.tryPut(3), false);
    equal(byCount.size, 2);
    // "abc" is 5 bytes of JSON and 4 of length: two fit in 18 bytes, a third does not.
    const byBytes = new SharedQueue<string>({ capacity: 10, maxBytes: 18 });
    equal(byBytes.tryPut("abc"), true);
    equal(byBytes.tryPut("abc"), true);
    equal(byBytes.tryPut(""), false);
    equal(byBytes.tryGet().ok, true);
    equal(byBytes.tryPut("abc"), true);
  });

  await t.step("an item that can never fit is refused with a RangeError", async () => {
    const queue = new SharedQueue<string>({ capacity: 10, maxBytes: 16 });
    const expected = new RangeError(
      "Cannot put on SharedQueue: the item takes 14 bytes as JSON, more than maxBytes 16 allows (12 bytes)",
    );
    throws(() => queue.tryPut("x".repeat(12)), expected);
    throws(() => queue.putSync("x".repeat(12)), expected);
    await rejects(queue.put("x".repeat(12)), expected);
    equal(queue.tryPut("x".repeat(10)), true); // exactly 12 bytes of JSON
    equal(queue.size, 1);
  });

  await t.step("items that wrap around the end of the ring come out whole", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.record({ put: fc.string({ unit: "binary", maxLength: 20 }) }),
            fc.constant({ get: true }),
          ),
          { maxLength: 80 },
        ),
        (ops) => {
          const maxBytes = 48;
          const queue = new SharedQueue<string>({ capacity: 1000, maxBytes });
          const model: { value: string; bytes: number }[] = [];
          let used = 0;
          for (const op of ops) {
            if ("put" in op) {
              const bytes = 4 + new TextEncoder().encode(JSON.stringify(op.put)).byteLength;
              if (bytes > maxBytes) {
                throws(() => queue.tryPut(op.put), RangeError);
              } else if (used + bytes > maxBytes) {
                equal(queue.tryPut(op.put), false);
              } else {
                equal(queue.tryPut(op.put), true);
                model.push({ value: op.put, bytes });
                used += bytes;
              }
            } else {
              const head = model.shift();
              if (head === undefined) deepEqual(queue.tryGet(), { ok: false });
              else {
                deepEqual(queue.tryGet(), { ok: true, value: head.value });
                used -= head.bytes;
              }
            }
            equal(queue.size, model.length);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  await t.step("the codec refuses what JSON cannot carry, naming the value and where", () => {
    class Point {
      constructor(readonly x: number) {}
    }
    class Stack extends Array<number> {}
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const cases: [unknown, string][] = [
      [undefined, "item is undefined"],
      [NaN, "item is NaN"],
      [Infinity, "item is Infinity"],
      [{ n: -Infinity }, "item.n is -Infinity"],
      [10n, "item is 10n"],
      [Symbol("s"), "item is Symbol(s)"],
      [() => 1, "item is a function"],
      [new Date(0), "item is a Date"],
      [{ when: new Map() }, "item.when is a Map"],
      [[new Uint8Array(2)], "item[0] is a Uint8Array"],
      [{ a: [1, undefined] }, "item.a[1] is undefined"],
      // deno-lint-ignore no-sparse-arrays
      [[1, , 3], "item[1] is a hole in the array"],
      [{ "odd key": { p: new Point(1) } }, 'item["odd key"].p is a Point'],
      [Stack.from([1]), "item is a Stack"],
      [new Error("x"), "item is an Error"],
      [new SharedEvent(), "item is a SharedEvent"],
      [Object.create({}), "item is an object with a prototype other than Object.prototype"],
      [cyclic, `item${".self".repeat(64)} nests deeper than 64 levels (is it cyclic?)`],
    ];
    const queue = new SharedQueue<unknown>({ capacity: 100 });
    for (const [item, what] of cases) {
      throws(() => queue.tryPut(item), unsupported(what));
      throws(() => queue.putSync(item), unsupported(what));
    }
    equal(queue.size, 0);
  });

  await t.step("put rejects an unsupported item before looking at the queue", async () => {
    const queue = new SharedQueue<unknown>({ capacity: 1 });
    queue.close();
    await rejects(queue.put(new Set()), unsupported("item is a Set"));
    await rejects(queue.put(1), closedError);
  });

  await t.step("JSON data round-trips; undefined properties are left out and -0 becomes 0", () => {
    const queue = new SharedQueue<unknown>({ capacity: 100 });
    const nullProto = Object.assign(Object.create(null), { a: 1 });
    queue.tryPut(nullProto);
    deepEqual(queue.tryGet(), { ok: true, value: { a: 1 } });
    queue.tryPut({ a: 1, b: undefined });
    deepEqual(queue.tryGet(), { ok: true, value: { a: 1 } });
    queue.tryPut(-0);
    const zero = queue.tryGet();
    ok(zero.ok && Object.is(zero.value, 0));
    let deep: unknown = 1;
    for (let i = 0; i < 64; i++) deep = [deep];
    equal(queue.tryPut(deep), true);
    deepEqual(queue.tryGet(), { ok: true, value: deep });
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        queue.tryPut(value);
        const out = queue.tryGet();
        // JSON itself turns -0 into 0; everything else comes back as it went in.
        deepEqual(out, { ok: true, value: JSON.parse(JSON.stringify(value)) });
      }),
      { numRuns: 300 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// The single-thread model: random sequences of operations against an array
// ---------------------------------------------------------------------------------------------

type Op =
  | { kind: "put"; value: number }
  | { kind: "get" }
  | { kind: "tryPut"; value: number }
  | { kind: "tryGet" }
  | { kind: "close" };

type Outcome = { status: "pending" } | { status: "fulfilled"; value: unknown } | {
  status: "rejected";
  name: string;
};

/** What the queue should do, as plain arrays. */
class Model {
  items: number[] = [];
  gets: number[] = [];
  puts: { id: number; value: number }[] = [];
  closed = false;
  outcomes = new Map<number, Outcome>();

  constructor(readonly capacity: number) {}

  put(id: number, value: number): void {
    if (this.closed) this.outcomes.set(id, { status: "rejected", name: "MailboxClosedError" });
    else if (this.puts.length === 0 && this.items.length < this.capacity) {
      this.items.push(value);
      this.outcomes.set(id, { status: "fulfilled", value: undefined });
    } else {
      this.puts.push({ id, value });
      this.outcomes.set(id, { status: "pending" });
    }
    this.#settle();
  }

  get(id: number): void {
    if (this.gets.length === 0 && this.items.length > 0) {
      this.outcomes.set(id, { status: "fulfilled", value: this.items.shift() });
    } else if (this.closed) {
      this.outcomes.set(id, { status: "rejected", name: "MailboxClosedError" });
    } else {
      this.gets.push(id);
      this.outcomes.set(id, { status: "pending" });
    }
    this.#settle();
  }

  tryPut(value: number): boolean | "closed" {
    if (this.closed) return "closed";
    if (this.items.length >= this.capacity) return false;
    this.items.push(value);
    this.#settle();
    return true;
  }

  tryGet(): { ok: true; value: number } | { ok: false } | "closed" {
    if (this.items.length > 0) {
      const value = this.items.shift()!;
      this.#settle();
      return { ok: true, value };
    }
    return this.closed ? "closed" : { ok: false };
  }

  close(): void {
    this.closed = true;
    this.#settle();
  }

  /** Serves waiting gets and puts until nothing moves, then fails what can never succeed. */
  #settle(): void {
    let moved = true;
    while (moved) {
      moved = false;
      while (this.gets.length > 0 && this.items.length > 0) {
        this.outcomes.set(this.gets.shift()!, { status: "fulfilled", value: this.items.shift() });
        moved = true;
      }
      while (!this.closed && this.puts.length > 0 && this.items.length < this.capacity) {
        const { id, value } = this.puts.shift()!;
        this.items.push(value);
        this.outcomes.set(id, { status: "fulfilled", value: undefined });
        moved = true;
      }
    }
    if (!this.closed) return;
    for (const { id } of this.puts.splice(0)) {
      this.outcomes.set(id, { status: "rejected", name: "MailboxClosedError" });
    }
    if (this.items.length === 0) {
      for (const id of this.gets.splice(0)) {
        this.outcomes.set(id, { status: "rejected", name: "MailboxClosedError" });
      }
    }
  }
}

function outcomeOf(state: State<unknown>): Outcome {
  if (state.status === "rejected") {
    return { status: "rejected", name: (state.reason as Error).name };
  }
  return state;
}

const opArbitrary: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant("put" as const), value: fc.nat(99) }), weight: 3 },
  { arbitrary: fc.constant({ kind: "get" as const }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constant("tryPut" as const), value: fc.nat(99) }), weight: 2 },
  { arbitrary: fc.constant({ kind: "tryGet" as const }), weight: 2 },
  { arbitrary: fc.constant({ kind: "close" as const }), weight: 1 },
);

test("random put/get/tryPut/tryGet/close sequences behave like an array", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 4 }),
      fc.array(opArbitrary, { maxLength: 40 }),
      async (capacity, ops) => {
        await withClock(async (clock) => {
          const queue = new SharedQueue<number>({ capacity });
          const model = new Model(capacity);
          const tracked = new Map<number, { readonly current: State<unknown> }>();
          for (const [id, op] of ops.entries()) {
            switch (op.kind) {
              case "put":
                tracked.set(id, track(queue.put(op.value)));
                model.put(id, op.value);
                break;
              case "get":
                tracked.set(id, track(queue.get()));
                model.get(id);
                break;
              case "tryPut": {
                const expected = model.tryPut(op.value);
                if (expected === "closed") throws(() => queue.tryPut(op.value), closedError);
                else equal(queue.tryPut(op.value), expected);
                break;
              }
              case "tryGet": {
                const expected = model.tryGet();
                if (expected === "closed") throws(() => queue.tryGet(), closedError);
                else deepEqual(queue.tryGet(), expected);
                break;
              }
              case "close":
                queue.close();
                model.close();
                break;
            }
            await flush();
            for (const [key, state] of tracked) {
              deepEqual(outcomeOf(state.current), model.outcomes.get(key), `operation ${key}`);
            }
            equal(queue.size, model.items.length);
            equal(queue.closed, model.closed);
          }
          // Closing ends every wait: nothing is left pending, no timer is left armed.
          queue.close();
          model.close();
          await flush();
          for (const [key, state] of tracked) {
            deepEqual(outcomeOf(state.current), model.outcomes.get(key), `operation ${key}`);
            notEqual(state.current.status, "pending");
          }
          equal(clock.countTimers(), 0);
        });
      },
    ),
    { numRuns: 300 },
  );
});

// ---------------------------------------------------------------------------------------------
// Waiting on one thread, with fake timers
// ---------------------------------------------------------------------------------------------

Deno.test("SharedQueue waits on one thread", async (t) => {
  await t.step(
    "a put waits while the queue is full and resumes when a get makes room",
    async () => {
      await withClock(async (clock) => {
        const queue = new SharedQueue<string>({ capacity: 1 });
        await queue.put("a");
        const second = track(queue.put("b"));
        const third = track(queue.put("c"));
        await clock.tickAsync(100);
        deepEqual(second.current, { status: "pending" });
        equal(await queue.get(), "a");
        await flush();
        deepEqual(second.current, { status: "fulfilled", value: undefined });
        deepEqual(third.current, { status: "pending" });
        equal(queue.tryGet().ok, true);
        await flush();
        deepEqual(third.current, { status: "fulfilled", value: undefined });
        equal(queue.getSync(0), "c");
        equal(clock.countTimers(), 0);
      });
    },
  );

  await t.step("a put waits for bytes as well as for a free slot", async () => {
    await withClock(async (clock) => {
      const queue = new SharedQueue<string>({ capacity: 10, maxBytes: 24 });
      queue.tryPut("0123456789"); // 12 + 4 bytes
      const big = track(queue.put("0123456789"));
      await clock.tickAsync(50);
      deepEqual(big.current, { status: "pending" });
      deepEqual(queue.tryGet(), { ok: true, value: "0123456789" });
      await flush();
      deepEqual(big.current, { status: "fulfilled", value: undefined });
      equal(queue.size, 1);
      equal(clock.countTimers(), 0);
    });
  });

  await t.step("gets waiting on one queue are served in the order they came", async () => {
    await withClock(async (clock) => {
      const queue = new SharedQueue<number>({ capacity: 10 });
      const gets = [queue.get(), queue.get(), queue.get()].map(track);
      queue.tryPut(1);
      queue.tryPut(2);
      await flush();
      deepEqual(gets.map((g) => g.current), [
        { status: "fulfilled", value: 1 },
        { status: "fulfilled", value: 2 },
        { status: "pending" },
      ]);
      await queue.put(3);
      await flush();
      deepEqual(gets[2].current, { status: "fulfilled", value: 3 });
      equal(clock.countTimers(), 0);
    });
  });

  await t.step("a put through another view wakes a get by the poll", async () => {
    await withClock(async (clock) => {
      const queue = new SharedQueue<string>({ capacity: 1 });
      const view = SharedQueue.from<string>(structuredClone(queue));
      const waiting = track(queue.get());
      view.tryPut("via view");
      await clock.tickAsync(1);
      deepEqual(waiting.current, { status: "fulfilled", value: "via view" });
      // And space made through another view wakes a put.
      queue.tryPut("full");
      const put = track(queue.put("next"));
      deepEqual(view.tryGet(), { ok: true, value: "full" });
      await clock.tickAsync(1);
      deepEqual(put.current, { status: "fulfilled", value: undefined });
      equal(clock.countTimers(), 0);
    });
  });

  await t.step("the poll looks after 1, 2, 4 and 8 ms, then every 16 ms", async () => {
    await withClock(async (clock) => {
      const queue = new SharedQueue<number>({ capacity: 1 });
      const waiting = track(queue.get());
      const looks: number[] = [];
      for (let i = 0; i < 8; i++) {
        clock.next();
        looks.push(clock.now);
      }
      deepEqual(looks, [1, 3, 7, 15, 31, 47, 63, 79]);
      equal(clock.countTimers(), 1);
      queue.tryPut(1);
      await flush();
      deepEqual(waiting.current, { status: "fulfilled", value: 1 });
      equal(clock.countTimers(), 0);
    });
  });

  await t.step(
    "with the poll's clock standing still, Atomics.waitAsync wakes the get",
    async () => {
      const realSetTimeout = globalThis.setTimeout;
      await withClock(async (clock) => {
        const queue = new SharedQueue<number>({ capacity: 1 });
        const waiting = track(queue.get());
        SharedQueue.from<number>(queue.buffer).tryPut(7);
        // Real time passes, fake time does not: only waitAsync can wake the get.
        for (let i = 0; i < 100 && waiting.current.status === "pending"; i++) {
          await new Promise((resolve) => realSetTimeout(resolve, 1));
        }
        deepEqual(waiting.current, { status: "fulfilled", value: 7 });
        equal(clock.now, 0);
        equal(clock.countTimers(), 0);
      });
    },
  );

  await t.step("get and put time out with TimeoutError and leave no timer", async () => {
    await withClock(async (clock) => {
      const empty = new SharedQueue<number>({ capacity: 1 });
      const full = new SharedQueue<number>({ capacity: 1 });
      full.tryPut(1);
      const get = track(empty.get({ timeoutMs: 50 }));
      const put = track(full.put(2, { timeoutMs: 80 }));
      await clock.tickAsync(49);
      deepEqual(get.current, { status: "pending" });
      await clock.tickAsync(1);
      deepEqual(get.current, { status: "rejected", reason: new TimeoutError("queue item", 50) });
      equal(
        (get.current as { reason: Error }).reason.message,
        "Timed out after 50 ms waiting for queue item",
      );
      deepEqual(put.current, { status: "pending" });
      await clock.tickAsync(30);
      deepEqual(put.current, { status: "rejected", reason: new TimeoutError("queue space", 80) });
      equal(clock.countTimers(), 0);
      equal(full.size, 1);
    });
  });

  await t.step("a timeout of 0 tries now and arms no timer", async () => {
    await withClock(async (clock) => {
      const queue = new SharedQueue<number>({ capacity: 1 });
      const get = track(queue.get({ timeoutMs: 0 }));
      equal(clock.countTimers(), 0);
      await flush();
      deepEqual(get.current, { status: "rejected", reason: new TimeoutError("queue item", 0) });
      await queue.put(1, { timeoutMs: 0 });
      await rejects(queue.put(2, { timeoutMs: 0 }), new TimeoutError("queue space", 0));
      throws(() => queue.putSync(2, 0), new TimeoutError("queue space", 0));
      equal(queue.getSync(0), 1);
      throws(() => queue.getSync(0), new TimeoutError("queue item", 0));
      // Behind a waiting get, a get with timeout 0 cannot be served: it times out at once.
      const waiting = track(queue.get());
      await rejects(queue.get({ timeoutMs: 0 }), new TimeoutError("queue item", 0));
      queue.tryPut(5);
      await flush();
      deepEqual(waiting.current, { status: "fulfilled", value: 5 });
      equal(clock.countTimers(), 0);
    });
  });

  await t.step("an item that comes as the timeout passes is still taken", async () => {
    await withClock(async (clock) => {
      const queue = new SharedQueue<number>({ capacity: 1 });
      // Through another view, in the same tick as the timeout and just before it: neither the
      // poll nor Atomics.waitAsync has had a chance to see it.
      clock.setTimeout(() => SharedQueue.from<number>(queue.buffer).tryPut(3), 5);
      const get = track(queue.get({ timeoutMs: 5 }));
      clock.tick(5);
      await flush();
      deepEqual(get.current, { status: "fulfilled", value: 3 });
      equal(clock.countTimers(), 0);
    });
  });

  await t.step("a timeout longer than setTimeout takes is armed in steps", async () => {
    await withClock(async (clock) => {
      const queue = new SharedQueue<number>({ capacity: 1 });
      const get = track(queue.get({ timeoutMs: 2 ** 31 + 5 }));
      clock.jump(2 ** 31 - 1);
      await flush();
      deepEqual(get.current, { status: "pending" });
      await clock.tickAsync(6);
      deepEqual(get.current, {
        status: "rejected",
        reason: new TimeoutError("queue item", 2 ** 31 + 5),
      });
      equal(clock.countTimers(), 0);
    });
  });

  await t.step(
    "abort rejects with the signal's reason, takes nothing and removes the listener",
    async () => {
      await withClock(async (clock) => {
        const queue = new SharedQueue<number>({ capacity: 1 });
        const getter = countingController();
        const get = track(queue.get({ timeoutMs: 1000, signal: getter.controller.signal }));
        const other = track(queue.get());
        equal(getter.listeners(), 1);
        await clock.tickAsync(10);
        const reason = new Error("stop waiting");
        getter.controller.abort(reason);
        await flush();
        deepEqual(get.current, { status: "rejected", reason });
        equal(getter.listeners(), 0);
        queue.tryPut(1);
        await flush();
        deepEqual(other.current, { status: "fulfilled", value: 1 });

        queue.tryPut(2);
        const putter = countingController();
        const put = track(queue.put(3, { signal: putter.controller.signal }));
        equal(putter.listeners(), 1);
        putter.controller.abort(reason);
        await flush();
        deepEqual(put.current, { status: "rejected", reason });
        equal(putter.listeners(), 0);
        deepEqual(queue.tryGet(), { ok: true, value: 2 });
        deepEqual(queue.tryGet(), { ok: false }); // 3 was never put
        equal(clock.countTimers(), 0);
      });
    },
  );

  await t.step("a wait that settles otherwise removes its abort listener", async () => {
    await withClock(async (clock) => {
      const queue = new SharedQueue<number>({ capacity: 1 });
      const timedOut = countingController();
      const served = countingController();
      const late = track(queue.get({ timeoutMs: 10, signal: timedOut.controller.signal }));
      await clock.tickAsync(10);
      equal(late.current.status, "rejected");
      equal(timedOut.listeners(), 0);
      const get = track(queue.get({ signal: served.controller.signal }));
      queue.tryPut(1);
      await flush();
      deepEqual(get.current, { status: "fulfilled", value: 1 });
      equal(served.listeners(), 0);
      served.controller.abort();
      await flush();
      deepEqual(get.current, { status: "fulfilled", value: 1 });
      equal(clock.countTimers(), 0);
    });
  });

  await t.step("an aborted signal rejects at once, even when the queue could serve", async () => {
    const { controller, listeners } = countingController();
    const reason = new Error("already aborted");
    controller.abort(reason);
    const queue = new SharedQueue<number>({ capacity: 2 });
    await rejects(queue.put(1, { signal: controller.signal }), (error) => error === reason);
    queue.tryPut(1);
    await rejects(queue.get({ signal: controller.signal }), (error) => error === reason);
    equal(queue.size, 1);
    equal(listeners(), 0);
  });

  await t.step("bad wait options are refused with the offending value named", async () => {
    const queue = new SharedQueue<number>({ capacity: 1 });
    const cases: [unknown, Error][] = [
      [
        { timeoutMs: -1 },
        new RangeError(
          "Cannot get from SharedQueue: timeoutMs must be a non-negative number or Infinity, received -1",
        ),
      ],
      [
        { timeoutMs: NaN },
        new RangeError(
          "Cannot get from SharedQueue: timeoutMs must be a non-negative number or Infinity, received NaN",
        ),
      ],
      [
        { timeoutMs: "5" },
        new TypeError('Cannot get from SharedQueue: timeoutMs must be a number, received "5"'),
      ],
      [5, new TypeError("Cannot get from SharedQueue: options must be an object, received 5")],
      [
        { signal: {} },
        new TypeError(
          "Cannot get from SharedQueue: signal must be an AbortSignal, received an object",
        ),
      ],
    ];
    for (const [options, expected] of cases) {
      await rejects(queue.get(options as { timeoutMs: number }), expected);
      const forPut = new (expected.constructor as typeof Error)(
        expected.message.replace("get from", "put on"),
      );
      await rejects(queue.put(1, options as { timeoutMs: number }), forPut);
    }
    throws(
      () => queue.getSync(-5),
      new RangeError(
        "Cannot get from SharedQueue: timeoutMs must be a non-negative number or Infinity, received -5",
      ),
    );
    throws(
      () => queue.putSync(1, "1" as unknown as number),
      new TypeError('Cannot put on SharedQueue: timeoutMs must be a number, received "1"'),
    );
    equal(queue.size, 0);
  });
});

// ---------------------------------------------------------------------------------------------
// close()
// ---------------------------------------------------------------------------------------------

Deno.test("SharedQueue.close", async (t) => {
  await t.step("close refuses puts, lets gets drain what is left, then refuses them", async () => {
    const queue = new SharedQueue<number>({ capacity: 3 });
    queue.tryPut(1);
    queue.tryPut(2);
    queue.close();
    equal(queue.closed, true);
    await rejects(queue.put(3), closedError);
    throws(() => queue.putSync(3), closedError);
    throws(() => queue.tryPut(3), closedError);
    equal(await queue.get(), 1);
    deepEqual(queue.tryGet(), { ok: true, value: 2 });
    await rejects(queue.get(), closedError);
    throws(() => queue.getSync(), closedError);
    throws(() => queue.tryGet(), closedError);
    queue.close(); // again: nothing changes
    equal(queue.closed, true);
  });

  await t.step("close wakes every waiting get and put of this thread, on every view", async () => {
    await withClock(async (clock) => {
      const empty = new SharedQueue<number>({ capacity: 1 });
      const full = new SharedQueue<number>({ capacity: 1 });
      full.tryPut(0);
      const emptyView = SharedQueue.from<number>(structuredClone(empty));
      const fullView = SharedQueue.from<number>(full.buffer);
      const gets = [empty.get(), empty.get({ timeoutMs: 1000 }), emptyView.get()].map(track);
      const puts = [full.put(1), fullView.put(2, { timeoutMs: 1000 })].map(track);
      await clock.tickAsync(30);
      empty.close();
      fullView.close();
      // Same object at once; other views when their poll next looks (16 ms at most).
      await clock.tickAsync(16);
      for (const wait of [...gets, ...puts]) {
        equal(wait.current.status, "rejected");
        ok(isClosed((wait.current as { reason: unknown }).reason));
      }
      equal(full.size, 1);
      equal(clock.countTimers(), 0);
    });
  });

  await t.step("closed is seen through every view", () => {
    const queue = new SharedQueue({ capacity: 1 });
    const view = SharedQueue.from(structuredClone(queue));
    view.close();
    equal(queue.closed, true);
  });
});

// ---------------------------------------------------------------------------------------------
// Schema: the trust boundary is the get
// ---------------------------------------------------------------------------------------------

Deno.test("SharedQueue schema", async (t) => {
  const Task = z.object({ id: z.number(), ms: z.number().int().nonnegative() });

  await t.step("a valid item is parsed by the schema on the way out", async () => {
    const queue = new SharedQueue({
      capacity: 4,
      schema: Task.extend({ tag: z.string().default("none") }),
    });
    queue.tryPut({ id: 1, ms: 5, tag: "x" });
    await queue.put({ id: 2, ms: 0 } as { id: number; ms: number; tag: string });
    deepEqual(await queue.get(), { id: 1, ms: 5, tag: "x" });
    deepEqual(queue.getSync(), { id: 2, ms: 0, tag: "none" });
  });

  await t.step("a bad item fails its get with InvalidMessageError and is taken off", async () => {
    const queue = new SharedQueue({ capacity: 4, schema: Task });
    const raw = SharedQueue.from<unknown>(queue.buffer);
    raw.tryPut({ id: "one", ms: -1 });
    raw.tryPut({ id: 2, ms: 1 });
    raw.tryPut(null);
    raw.tryPut({ id: 3, ms: 1.5 });
    const expected = new InvalidMessageError(
      "queue",
      "item",
      "id: Invalid input: expected number, received string; ms: Too small: expected number to be >=0",
    );
    await rejects(queue.get(), (error: unknown) => {
      ok(error instanceof InvalidMessageError);
      equal(error.message, expected.message);
      equal(error.path, "queue");
      equal(error.kind, "item");
      ok(error.cause !== undefined);
      return true;
    });
    deepEqual(queue.tryGet(), { ok: true, value: { id: 2, ms: 1 } });
    throws(() => queue.tryGet(), {
      name: "InvalidMessageError",
      message:
        'Invalid "item" message for queue: (root): Invalid input: expected object, received null',
    });
    throws(() => queue.getSync(), {
      name: "InvalidMessageError",
      message: 'Invalid "item" message for queue: ms: Invalid input: expected int, received number',
    });
    equal(queue.size, 0);
  });

  await t.step(
    "a waiting get rejects on a bad item and the next waiting get takes the next",
    async () => {
      await withClock(async () => {
        const queue = new SharedQueue({ capacity: 4, schema: z.number() });
        const first = track(queue.get());
        const second = track(queue.get());
        (queue as SharedQueue<unknown>).tryPut("bad");
        queue.tryPut(2);
        await flush();
        equal(first.current.status, "rejected");
        ok((first.current as { reason: unknown }).reason instanceof InvalidMessageError);
        deepEqual(second.current, { status: "fulfilled", value: 2 });
      });
    },
  );

  await t.step("a schema that throws fails the get with InvalidMessageError", () => {
    const schema = z.number().transform(() => {
      throw new Error("schema blew up");
    });
    const queue = new SharedQueue({ capacity: 1, schema });
    queue.tryPut(1 as never);
    throws(() => queue.tryGet(), {
      name: "InvalidMessageError",
      message: 'Invalid "item" message for queue: (root): could not be validated (schema blew up)',
    });
  });

  await t.step("from gives a revived view a schema of its own", () => {
    const queue = new SharedQueue<unknown>({ capacity: 2 });
    const checked = SharedQueue.from(structuredClone(queue), { schema: z.string() });
    const same = SharedQueue.from(queue, { schema: z.string() });
    notEqual(same, queue);
    equal(same.buffer, queue.buffer);
    queue.tryPut(1);
    queue.tryPut("ok");
    throws(() => checked.tryGet(), InvalidMessageError);
    deepEqual(same.tryGet(), { ok: true, value: "ok" });
    throws(
      () => SharedQueue.from(queue, { schema: 5 as never }),
      new TypeError("Cannot revive SharedQueue: schema must have a safeParse method, received 5"),
    );
  });
});

// ---------------------------------------------------------------------------------------------
// from and schema: revival after structured clone
// ---------------------------------------------------------------------------------------------

Deno.test("SharedQueue.from and SharedQueue.schema", async (t) => {
  await t.step("structured clone keeps the buffer and the brand, and from revives it", () => {
    const queue = new SharedQueue<number>({ capacity: 2, maxBytes: 100 });
    const cloned = structuredClone(queue) as unknown;
    ok(!(cloned instanceof SharedQueue));
    deepEqual(Object.keys(cloned as object), ["buffer", "~troupe"]);
    equal((cloned as { "~troupe": string })["~troupe"], "queue");
    const revived = SharedQueue.from<number>(cloned);
    ok(revived instanceof SharedQueue);
    equal(revived.capacity, 2);
    equal(revived.maxBytes, 100);
    revived.tryPut(1);
    equal(queue.size, 1);
    deepEqual(queue.tryGet(), { ok: true, value: 1 });
  });

  await t.step("from returns a SharedQueue as it is and wraps a bare buffer", () => {
    const queue = new SharedQueue<number>({ capacity: 2 });
    equal(SharedQueue.from(queue), queue);
    const wrapped = SharedQueue.from<number>(queue.buffer);
    equal(wrapped.buffer, queue.buffer);
    wrapped.tryPut(4);
    equal(queue.tryGet().ok, true);
  });

  await t.step("from names what it cannot revive", () => {
    const message =
      "Cannot revive SharedQueue: expected a SharedQueue, a { buffer: SharedArrayBuffer } or a SharedArrayBuffer, received";
    const cases: [unknown, string][] = [
      [undefined, "undefined"],
      [null, "null"],
      [42, "42"],
      [{}, "an object"],
      [{ buffer: new ArrayBuffer(128) }, "an object"],
      [new ArrayBuffer(128), "an ArrayBuffer"],
      [new Int32Array(new SharedArrayBuffer(128)), "an Int32Array"],
    ];
    for (const [value, described] of cases) {
      throws(() => SharedQueue.from(value), new TypeError(`${message} ${described}`));
    }
    throws(
      () => SharedQueue.from(new SharedEvent()),
      new TypeError("Cannot revive SharedQueue: the buffer does not hold a queue (4 bytes)"),
    );
    throws(
      () => SharedQueue.from(new SharedArrayBuffer(1024)),
      new TypeError("Cannot revive SharedQueue: the buffer does not hold a queue (1024 bytes)"),
    );
  });

  await t.step("schema revives a queue that went through structured clone", () => {
    const queue = new SharedQueue<string>({ capacity: 4 });
    for (const input of [structuredClone(queue), queue, queue.buffer]) {
      const result = SharedQueue.schema.safeParse(input);
      ok(result.success);
      ok(result.data instanceof SharedQueue);
      result.data.tryPut("x");
      deepEqual(queue.tryGet(), { ok: true, value: "x" });
    }
    const parsed = SharedQueue.schema.safeParse(queue);
    ok(parsed.success);
    equal(parsed.data, queue);
  });

  await t.step(
    "schema works as a field of a zod object and refuses what from cannot revive",
    () => {
      const message = z.object({ id: z.number(), results: SharedQueue.schema });
      const queue = new SharedQueue<number>({ capacity: 1 });
      const received = message.parse(structuredClone({ id: 7, results: queue }));
      ok(received.results instanceof SharedQueue);
      received.results.tryPut(7);
      equal(queue.size, 1);
      for (const value of [42, null, {}, new SharedEvent(), { buffer: new SharedArrayBuffer(8) }]) {
        const result = SharedQueue.schema.safeParse(value);
        equal(result.success, false);
        if (!result.success) {
          equal(
            result.error.issues[0].message,
            "Expected a SharedQueue, a { buffer: SharedArrayBuffer } or a SharedArrayBuffer holding a queue",
          );
        }
      }
      const result = message.safeParse({ id: 1, results: 1 });
      ok(!result.success);
      deepEqual(result.error.issues[0].path, ["results"]);
    },
  );
});

// ---------------------------------------------------------------------------------------------
// The main thread's event loop
// ---------------------------------------------------------------------------------------------

Deno.test("a main-thread get keeps the event loop alive until another view puts", async () => {
  const queue = new SharedQueue<string>({ capacity: 1 });
  const view = SharedQueue.from<string>(queue.buffer);
  const waiting = queue.get();
  // Not a timer: only the get itself keeps the event loop running after this.
  queueMicrotask(() => view.tryPut("kept alive"));
  equal(await waiting, "kept alive");
});

Deno.test("a main-thread get with only a timeout keeps the event loop alive until it passes", async () => {
  const started = performance.now();
  await rejects(new SharedQueue({ capacity: 1 }).get({ timeoutMs: 20 }), TimeoutError);
  ok(performance.now() - started >= 19);
});

// ---------------------------------------------------------------------------------------------
// Across threads
// ---------------------------------------------------------------------------------------------

test("a get on the main thread resolves when a worker puts", async () => {
  using worker = new QueueWorker();
  const queue = new SharedQueue<string>({ capacity: 1 });
  const waiting = queue.get({ timeoutMs: GUARD_MS });
  worker.send({ op: "put", queue, mode: "sync", item: "from worker", timeoutMs: GUARD_MS });
  await worker.expect("waiting");
  equal(await waiting, "from worker");
  await worker.expect("put");
});

test("getSync and get in workers wake when the main thread puts", async () => {
  using blocked = new QueueWorker();
  using awaiting = new QueueWorker();
  const queue = new SharedQueue<number>({ capacity: 2 });
  blocked.send({ op: "get", queue, mode: "sync", timeoutMs: GUARD_MS });
  awaiting.send({ op: "get", queue, mode: "async", timeoutMs: GUARD_MS });
  await blocked.expect("waiting");
  await awaiting.expect("waiting");
  await settleDown();
  await queue.put(1);
  await queue.put(2);
  const values = [(await blocked.expect("got")).value, (await awaiting.expect("got")).value];
  deepEqual(values.sort(), [1, 2]);
  equal(queue.size, 0);
});

test("putSync in a worker waits while the queue is full and resumes on a main-thread get", async () => {
  using worker = new QueueWorker();
  const queue = new SharedQueue<string>({ capacity: 1 });
  queue.tryPut("first");
  worker.send({ op: "put", queue, mode: "sync", item: "second", timeoutMs: GUARD_MS });
  await worker.expect("waiting");
  await settleDown();
  equal(queue.size, 1);
  equal(await queue.get(), "first");
  await worker.expect("put");
  equal(await queue.get({ timeoutMs: GUARD_MS }), "second");
});

test("waits in a worker time out with TimeoutError", async () => {
  using worker = new QueueWorker();
  const empty = new SharedQueue<number>({ capacity: 1 });
  const full = new SharedQueue<number>({ capacity: 1 });
  full.tryPut(0);
  for (const mode of ["sync", "async"] as const) {
    worker.send({ op: "get", queue: empty, mode, timeoutMs: 30 });
    await worker.expect("waiting");
    deepEqual(await worker.expect("failed"), {
      op: "failed",
      name: "TimeoutError",
      message: "Timed out after 30 ms waiting for queue item",
    });
    worker.send({ op: "put", queue: full, mode, item: 1, timeoutMs: 30 });
    await worker.expect("waiting");
    deepEqual(await worker.expect("failed"), {
      op: "failed",
      name: "TimeoutError",
      message: "Timed out after 30 ms waiting for queue space",
    });
  }
});

test("close wakes every waiter on every thread: getSync, get in a worker, get on main", async () => {
  using blocked = new QueueWorker();
  using awaiting = new QueueWorker();
  const queue = new SharedQueue<number>({ capacity: 1 });
  blocked.send({ op: "get", queue, mode: "sync", timeoutMs: GUARD_MS });
  awaiting.send({ op: "get", queue, mode: "async", timeoutMs: GUARD_MS });
  await blocked.expect("waiting");
  await awaiting.expect("waiting");
  const onMain = queue.get({ timeoutMs: GUARD_MS });
  await settleDown();
  const closing = SharedQueue.from(structuredClone(queue)); // another view closes it
  closing.close();
  await rejects(onMain, closedError);
  const closed = {
    op: "failed",
    name: "MailboxClosedError",
    message: "Mailbox of queue is closed",
  };
  deepEqual(await blocked.expect("failed"), closed);
  deepEqual(await awaiting.expect("failed"), closed);
});

test("close wakes putters on every thread: putSync and put in workers, put on main", async () => {
  using blocked = new QueueWorker();
  using awaiting = new QueueWorker();
  const queue = new SharedQueue<number>({ capacity: 1 });
  queue.tryPut(0);
  blocked.send({ op: "put", queue, mode: "sync", item: 1, timeoutMs: GUARD_MS });
  awaiting.send({ op: "put", queue, mode: "async", item: 2, timeoutMs: GUARD_MS });
  await blocked.expect("waiting");
  await awaiting.expect("waiting");
  const onMain = queue.put(3, { timeoutMs: GUARD_MS });
  await settleDown();
  queue.close();
  await rejects(onMain, closedError);
  const closed = {
    op: "failed",
    name: "MailboxClosedError",
    message: "Mailbox of queue is closed",
  };
  deepEqual(await blocked.expect("failed"), closed);
  deepEqual(await awaiting.expect("failed"), closed);
  deepEqual(queue.tryGet(), { ok: true, value: 0 });
});

test("a worker revives a posted queue with from or with schema and puts into it", async () => {
  using worker = new QueueWorker();
  const queue = new SharedQueue<string>({ capacity: 4 });
  worker.send({ op: "revive", queue, via: "from", item: "by from" });
  deepEqual(await worker.expect("revived"), { op: "revived", instance: true });
  worker.send({ op: "revive", queue: queue.buffer, via: "schema", item: "by schema" });
  deepEqual(await worker.expect("revived"), { op: "revived", instance: true });
  equal(await queue.get(), "by from");
  equal(await queue.get(), "by schema");
});

test("a queue a worker posts back arrives branded, and from revives it", async () => {
  using worker = new QueueWorker();
  const queue = new SharedQueue<number>({ capacity: 4 });
  worker.send({ op: "echo", queue });
  const { queue: received } = await worker.expect("echo");
  ok(!(received instanceof SharedQueue));
  equal((received as unknown as Record<string, unknown>)["~troupe"], "queue");
  const revived = SharedQueue.from<number>(received);
  notEqual(revived.buffer, queue.buffer); // another object over the same memory
  revived.tryPut(11);
  deepEqual(queue.tryGet(), { ok: true, value: 11 });
});

test("many producers and consumers on 2 workers and the main thread deliver each item once", async () => {
  using a = new QueueWorker();
  using b = new QueueWorker();
  const N = 400;
  const queue = new SharedQueue<string>({ capacity: 8 });
  // Worker a produces and consumes at once, awaiting; worker b produces blocking, then consumes.
  a.send({ op: "produce", queue, prefix: "a", count: N, mode: "async" });
  a.send({ op: "consume", queue, mode: "async" });
  b.send({ op: "produce", queue, prefix: "b", count: N, mode: "sync" });
  b.send({ op: "consume", queue, mode: "sync" });
  const mainItems: string[] = [];
  const consuming = (async () => {
    for (;;) {
      try {
        mainItems.push(await queue.get({ timeoutMs: GUARD_MS }));
      } catch (error) {
        if (error instanceof MailboxClosedError) return;
        throw error;
      }
    }
  })();
  for (let i = 0; i < N; i++) await queue.put(`m${i}`, { timeoutMs: GUARD_MS });
  await a.expect("produced");
  await b.expect("produced");
  queue.close();
  await consuming;
  const aItems = (await a.expect("consumed")).items as string[];
  const bItems = (await b.expect("consumed")).items as string[];
  const all = [...aItems, ...bItems, ...mainItems];
  equal(all.length, 3 * N);
  const expected = ["a", "b", "m"].flatMap((p) => Array.from({ length: N }, (_, i) => `${p}${i}`));
  deepEqual([...all].sort(), expected.sort());
  // Each consumer sees each producer's items in the order they were put.
  for (const items of [aItems, bItems, mainItems]) {
    for (const prefix of ["a", "b", "m"]) {
      const numbers = items.filter((item) => item[0] === prefix).map((item) =>
        Number(item.slice(1))
      );
      deepEqual(numbers, [...numbers].sort((x, y) => x - y));
    }
  }
});

test("seed 004: a queue of tasks served by 3 workers until a SharedEvent stops them", async () => {
  using w0 = new QueueWorker();
  using w1 = new QueueWorker();
  using w2 = new QueueWorker();
  const workers = [w0, w1, w2];
  const tasks = new SharedQueue<{ id: number; ms: number }>({ capacity: 64 });
  const results = new SharedQueue<{ worker: number; task: number }>({ capacity: 64 });
  const running = new SharedEvent();
  running.set();
  for (const [worker, handle] of workers.entries()) {
    handle.send({ op: "serve", tasks, results, running, worker, pollMs: 20 });
  }
  // As in the seed: 15 tasks, then 11 more, with varied run times (milliseconds here).
  const ids = [
    ...Array.from({ length: 15 }, (_, i) => i),
    ...Array.from({ length: 11 }, (_, i) => 100 + i),
  ];
  for (const id of ids) await tasks.put({ id, ms: 1 + (id % 5) });
  const done: { worker: number; task: number }[] = [];
  for (let i = 0; i < ids.length; i++) done.push(await results.get({ timeoutMs: GUARD_MS }));
  running.clear();
  const stopped = await Promise.all(workers.map((worker) => worker.expect("stopped")));
  deepEqual(done.map((r) => r.task).sort((x, y) => x - y), ids);
  equal(stopped.reduce((sum, s) => sum + s.served, 0), ids.length);
  for (const s of stopped) equal(done.filter((r) => r.worker === s.worker).length, s.served);
  equal(tasks.size, 0);
  equal(results.size, 0);
});

Deno.test("reviveShared revives a queue nested in cloned actor args", async () => {
  const { reviveShared } = await import("../mailbox/shared_event.ts");
  const queue = new SharedQueue<number>({ capacity: 4 });
  const cloned = reviveShared(structuredClone({ jobs: [queue] }));
  ok(cloned.jobs[0] instanceof SharedQueue);
  ok(cloned.jobs[0].tryPut(7));
  deepEqual(queue.tryGet(), { ok: true, value: 7 });
});
