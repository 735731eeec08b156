import { deepEqual, equal, notEqual, ok, rejects, throws } from "node:assert/strict";
import fc from "fast-check";
import { z } from "zod";
import { SharedEvent } from "../mailbox/shared_event.ts";
import type { EventReply, EventRequest } from "./fixtures/event_worker.ts";
import { countingController, FixtureWorker, flush, test, track, withClock } from "./_helpers.ts";

// ---------------------------------------------------------------------------------------------
// Helpers: promise state without sleeping, fake clocks, counted abort listeners, a worker handle.
// ---------------------------------------------------------------------------------------------

/** A bare worker running `fixtures/event_worker.ts`; `using` terminates it. */
class EventWorker extends FixtureWorker<EventRequest, EventReply> {
  constructor() {
    super(new URL("./fixtures/event_worker.ts", import.meta.url), "event worker");
  }
}

/** Long enough never to pass in a passing test; only there so that a broken wake fails, not hangs. */
const GUARD_MS = 5000;

// ---------------------------------------------------------------------------------------------
// The flag
// ---------------------------------------------------------------------------------------------

Deno.test("SharedEvent flag", async (t) => {
  await t.step("a new event is clear, set raises the flag and clear lowers it", () => {
    const event = new SharedEvent();
    equal(event.isSet(), false);
    event.set();
    equal(event.isSet(), true);
    event.set();
    equal(event.isSet(), true);
    event.clear();
    equal(event.isSet(), false);
    event.clear();
    equal(event.isSet(), false);
  });

  await t.step(
    "the buffer is a 4-byte SharedArrayBuffer; the own fields are the buffer and the brand",
    () => {
      const event = new SharedEvent();
      ok(event.buffer instanceof SharedArrayBuffer);
      equal(event.buffer.byteLength, 4);
      deepEqual(Object.keys(event), ["buffer", "~troupe"]);
    },
  );

  await t.step("views on one buffer share the flag", () => {
    const event = new SharedEvent();
    const view = new SharedEvent(event.buffer);
    equal(view.buffer, event.buffer);
    view.set();
    equal(event.isSet(), true);
    event.clear();
    equal(view.isSet(), false);
  });

  await t.step("a zero-filled buffer of any size from 4 bytes is a clear event", () => {
    for (const size of [4, 8, 64]) {
      const event = new SharedEvent(new SharedArrayBuffer(size));
      equal(event.isSet(), false);
      event.set();
      equal(event.isSet(), true);
    }
    const growable = new SharedArrayBuffer(4, { maxByteLength: 16 });
    const event = new SharedEvent(growable);
    event.set();
    equal(new SharedEvent(growable).isSet(), true);
  });

  await t.step("the constructor names a buffer that is not a SharedArrayBuffer", () => {
    const cases: [unknown, string][] = [
      [new ArrayBuffer(4), "an ArrayBuffer"],
      [new Int32Array(new SharedArrayBuffer(4)), "an Int32Array"],
      [null, "null"],
      [4, "4"],
      ["buffer", '"buffer"'],
      [{ buffer: new SharedArrayBuffer(4) }, "an object"],
    ];
    for (const [buffer, described] of cases) {
      throws(
        () => new SharedEvent(buffer as SharedArrayBuffer),
        new TypeError(
          `Cannot create SharedEvent: buffer must be a SharedArrayBuffer, received ${described}`,
        ),
      );
    }
  });

  await t.step("the constructor refuses a buffer of fewer than 4 bytes", () => {
    throws(
      () => new SharedEvent(new SharedArrayBuffer(2)),
      new RangeError(
        "Cannot create SharedEvent: buffer must hold at least 4 bytes, received 2 bytes",
      ),
    );
    throws(
      () => new SharedEvent(new SharedArrayBuffer(1)),
      new RangeError(
        "Cannot create SharedEvent: buffer must hold at least 4 bytes, received 1 byte",
      ),
    );
    throws(
      () => new SharedEvent(new SharedArrayBuffer(0)),
      new RangeError(
        "Cannot create SharedEvent: buffer must hold at least 4 bytes, received 0 bytes",
      ),
    );
  });

  await t.step("any interleaving of set and clear leaves isSet equal to the last call", () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ set: fc.boolean(), view: fc.nat(2) }), { maxLength: 50 }),
        (calls) => {
          const views = [new SharedEvent()];
          views.push(new SharedEvent(views[0].buffer), SharedEvent.from(structuredClone(views[0])));
          for (const { set, view } of calls) {
            if (set) views[view].set();
            else views[view].clear();
          }
          const expected = calls.length > 0 && calls[calls.length - 1].set;
          for (const view of views) equal(view.isSet(), expected);
        },
      ),
      { numRuns: 500 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// wait() on one thread, with fake timers
// ---------------------------------------------------------------------------------------------

Deno.test("SharedEvent.wait on one thread", async (t) => {
  await t.step("wait on a set event resolves true at once, with or without a timeout", async () => {
    await withClock(async (clock) => {
      const event = new SharedEvent();
      event.set();
      const waits = [event.wait(), event.wait(0), event.wait(50), event.wait({ timeoutMs: 50 })];
      const states = waits.map(track);
      await flush();
      for (const state of states) deepEqual(state.current, { status: "fulfilled", value: true });
      equal(clock.countTimers(), 0);
    });
  });

  await t.step("a timeout of 0 checks the flag now and arms no timer", async () => {
    await withClock(async (clock) => {
      const event = new SharedEvent();
      const number = track(event.wait(0));
      const object = track(event.wait({ timeoutMs: 0 }));
      equal(clock.countTimers(), 0);
      await flush();
      deepEqual(number.current, { status: "fulfilled", value: false });
      deepEqual(object.current, { status: "fulfilled", value: false });
    });
  });

  await t.step("wait(ms) resolves false once the timeout passes and leaves no timer", async () => {
    await withClock(async (clock) => {
      const event = new SharedEvent();
      const number = track(event.wait(50));
      const object = track(event.wait({ timeoutMs: 80 }));
      await clock.tickAsync(49);
      deepEqual(number.current, { status: "pending" });
      await clock.tickAsync(1);
      deepEqual(number.current, { status: "fulfilled", value: false });
      deepEqual(object.current, { status: "pending" });
      await clock.tickAsync(30);
      deepEqual(object.current, { status: "fulfilled", value: false });
      equal(clock.countTimers(), 0);
    });
  });

  await t.step("set resolves every pending wait true and leaves no timer", async () => {
    await withClock(async (clock) => {
      const event = new SharedEvent();
      const waits = [event.wait(), event.wait(1000), event.wait({ timeoutMs: 5 })].map(track);
      await clock.tickAsync(3);
      for (const wait of waits) deepEqual(wait.current, { status: "pending" });
      event.set();
      await flush();
      for (const wait of waits) deepEqual(wait.current, { status: "fulfilled", value: true });
      equal(clock.countTimers(), 0);
    });
  });

  await t.step("a set through another view wakes the waiter by the poll", async () => {
    await withClock(async (clock) => {
      const event = new SharedEvent();
      const view = new SharedEvent(event.buffer);
      const wait = track(event.wait());
      view.set();
      await clock.tickAsync(1);
      deepEqual(wait.current, { status: "fulfilled", value: true });
      equal(clock.countTimers(), 0);
    });
  });

  await t.step(
    "with the poll's clock standing still, Atomics.waitAsync wakes the waiter",
    async () => {
      const realSetTimeout = globalThis.setTimeout;
      await withClock(async (clock) => {
        const event = new SharedEvent();
        const wait = track(event.wait());
        new SharedEvent(event.buffer).set();
        // Real time passes, fake time does not: only waitAsync can wake the waiter.
        for (let i = 0; i < 100 && wait.current.status === "pending"; i++) {
          await new Promise((resolve) => realSetTimeout(resolve, 1));
        }
        deepEqual(wait.current, { status: "fulfilled", value: true });
        equal(clock.now, 0);
        equal(clock.countTimers(), 0);
      });
    },
  );

  await t.step(
    "a notify that changes nothing leaves the waiter waiting and listening",
    async () => {
      const realSetTimeout = globalThis.setTimeout;
      const sleep = () => new Promise((resolve) => realSetTimeout(resolve, 5));
      await withClock(async (clock) => {
        const event = new SharedEvent();
        const wait = track(event.wait());
        equal(Atomics.notify(new Int32Array(event.buffer), 0), 1);
        await sleep();
        deepEqual(wait.current, { status: "pending" });
        // Listening again: the set wakes it with the fake clock still at 0.
        new SharedEvent(event.buffer).set();
        for (let i = 0; i < 100 && wait.current.status === "pending"; i++) await sleep();
        deepEqual(wait.current, { status: "fulfilled", value: true });
        equal(clock.now, 0);
        equal(clock.countTimers(), 0);
      });
    },
  );

  await t.step("the poll looks after 1, 2, 4 and 8 ms, then every 16 ms", async () => {
    await withClock(async (clock) => {
      const event = new SharedEvent();
      const wait = track(event.wait());
      const looks: number[] = [];
      for (let i = 0; i < 8; i++) {
        clock.next();
        looks.push(clock.now);
      }
      deepEqual(looks, [1, 3, 7, 15, 31, 47, 63, 79]);
      equal(clock.countTimers(), 1);
      event.set();
      await flush();
      deepEqual(wait.current, { status: "fulfilled", value: true });
      equal(clock.countTimers(), 0);
    });
  });

  await t.step("a set undone by a clear before the waiter looks still wakes it", async () => {
    await withClock(async (clock) => {
      const event = new SharedEvent();
      const view = new SharedEvent(event.buffer);
      const wait = track(event.wait(100));
      view.set();
      view.clear();
      await clock.tickAsync(1);
      deepEqual(wait.current, { status: "fulfilled", value: true });
      equal(event.isSet(), false);
      // And a clear alone wakes nobody.
      const next = track(event.wait(100));
      view.clear();
      await clock.tickAsync(99);
      deepEqual(next.current, { status: "pending" });
      await clock.tickAsync(1);
      deepEqual(next.current, { status: "fulfilled", value: false });
    });
  });

  await t.step(
    "a wait that starts after a pulse on another view wakes the older waiters",
    async () => {
      await withClock(async (clock) => {
        const event = new SharedEvent();
        const view = new SharedEvent(event.buffer);
        const older = track(event.wait());
        view.set();
        view.clear();
        const newer = track(event.wait(10));
        await flush();
        deepEqual(older.current, { status: "fulfilled", value: true });
        deepEqual(newer.current, { status: "pending" });
        await clock.tickAsync(10);
        deepEqual(newer.current, { status: "fulfilled", value: false });
        equal(clock.countTimers(), 0);
      });
    },
  );

  await t.step("a timeout longer than setTimeout takes is armed in steps", async () => {
    await withClock(async (clock) => {
      const event = new SharedEvent();
      const wait = track(event.wait(2 ** 31 + 5));
      // jump fires each due timer once: the poll looks once, the timeout's first step ends.
      clock.jump(2 ** 31 - 1);
      await flush();
      deepEqual(wait.current, { status: "pending" });
      await clock.tickAsync(5);
      deepEqual(wait.current, { status: "pending" });
      await clock.tickAsync(1);
      deepEqual(wait.current, { status: "fulfilled", value: false });
      equal(clock.countTimers(), 0);
    });
  });

  await t.step("abort rejects with the signal's reason and removes the listener", async () => {
    await withClock(async (clock) => {
      const event = new SharedEvent();
      const { controller, listeners } = countingController();
      const wait = track(event.wait({ timeoutMs: 1000, signal: controller.signal }));
      const other = track(event.wait(1000));
      equal(listeners(), 1);
      await clock.tickAsync(10);
      const reason = new Error("stop waiting");
      controller.abort(reason);
      await flush();
      deepEqual(wait.current, { status: "rejected", reason });
      equal(listeners(), 0);
      deepEqual(other.current, { status: "pending" });
      event.set();
      await flush();
      deepEqual(other.current, { status: "fulfilled", value: true });
      equal(clock.countTimers(), 0);
    });
  });

  await t.step("a wait that settles otherwise removes its abort listener", async () => {
    await withClock(async (clock) => {
      const event = new SharedEvent();
      const timedOut = countingController();
      const woken = countingController();
      const late = track(event.wait({ timeoutMs: 10, signal: timedOut.controller.signal }));
      const set = track(event.wait({ signal: woken.controller.signal }));
      equal(timedOut.listeners() + woken.listeners(), 2);
      await clock.tickAsync(10);
      deepEqual(late.current, { status: "fulfilled", value: false });
      equal(timedOut.listeners(), 0);
      event.set();
      await flush();
      deepEqual(set.current, { status: "fulfilled", value: true });
      equal(woken.listeners(), 0);
      // Aborting afterwards changes nothing.
      timedOut.controller.abort();
      woken.controller.abort();
      await flush();
      deepEqual(set.current, { status: "fulfilled", value: true });
      equal(clock.countTimers(), 0);
    });
  });

  await t.step("an aborted signal rejects at once, even on a set event", async () => {
    const { controller, listeners } = countingController();
    const reason = new Error("already aborted");
    controller.abort(reason);
    const event = new SharedEvent();
    await rejects(event.wait({ signal: controller.signal }), (error) => error === reason);
    event.set();
    await rejects(event.wait({ signal: controller.signal }), (error) => error === reason);
    equal(listeners(), 0);
  });

  await t.step("bad wait options reject with the offending value named", async () => {
    const event = new SharedEvent();
    const cases: [unknown, Error][] = [
      [
        -1,
        new RangeError(
          "Cannot wait on SharedEvent: timeoutMs must be a non-negative number or Infinity, received -1",
        ),
      ],
      [
        { timeoutMs: NaN },
        new RangeError(
          "Cannot wait on SharedEvent: timeoutMs must be a non-negative number or Infinity, received NaN",
        ),
      ],
      [
        "5",
        new TypeError(
          'Cannot wait on SharedEvent: options must be a number of milliseconds or an object, received "5"',
        ),
      ],
      [
        null,
        new TypeError(
          "Cannot wait on SharedEvent: options must be a number of milliseconds or an object, received null",
        ),
      ],
      [
        { timeoutMs: "5" },
        new TypeError('Cannot wait on SharedEvent: timeoutMs must be a number, received "5"'),
      ],
      [
        { signal: {} },
        new TypeError(
          "Cannot wait on SharedEvent: signal must be an AbortSignal, received an object",
        ),
      ],
    ];
    for (const [options, expected] of cases) {
      await rejects(event.wait(options as number), expected);
    }
  });

  await t.step("waitSync checks now with 0 and returns true at once on a set event", () => {
    const event = new SharedEvent();
    equal(event.waitSync(0), false);
    event.set();
    equal(event.waitSync(), true);
    equal(event.waitSync(0), true);
    equal(event.waitSync(10_000), true);
  });

  await t.step("bad waitSync timeouts throw with the value named", () => {
    const event = new SharedEvent();
    throws(
      () => event.waitSync(-5),
      new RangeError(
        "Cannot waitSync on SharedEvent: timeoutMs must be a non-negative number or Infinity, received -5",
      ),
    );
    throws(
      () => event.waitSync(NaN),
      new RangeError(
        "Cannot waitSync on SharedEvent: timeoutMs must be a non-negative number or Infinity, received NaN",
      ),
    );
    throws(
      () => event.waitSync("1" as unknown as number),
      new TypeError('Cannot waitSync on SharedEvent: timeoutMs must be a number, received "1"'),
    );
  });

  await t.step("a wait started before a random set/clear sequence wakes iff it sets", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ set: fc.boolean(), view: fc.nat(1) }), { maxLength: 20 }),
        async (calls) => {
          await withClock(async (clock) => {
            const event = new SharedEvent();
            const views = [event, new SharedEvent(event.buffer)];
            const wait = track(event.wait(10));
            for (const { set, view } of calls) {
              if (set) views[view].set();
              else views[view].clear();
            }
            await clock.tickAsync(10);
            deepEqual(wait.current, {
              status: "fulfilled",
              value: calls.some((call) => call.set),
            });
            equal(clock.countTimers(), 0);
          });
        },
      ),
      { numRuns: 200 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// wait() on the main thread with real timers: nothing else keeps the event loop alive
// ---------------------------------------------------------------------------------------------

Deno.test("a main-thread wait keeps the event loop alive until another view sets the event", async () => {
  const event = new SharedEvent();
  const view = new SharedEvent(event.buffer);
  const waiting = event.wait();
  // Not a timer: only the wait itself keeps the event loop running after this.
  queueMicrotask(() => view.set());
  equal(await waiting, true);
});

Deno.test("a main-thread wait with only a timeout keeps the event loop alive until it passes", async () => {
  const started = performance.now();
  equal(await new SharedEvent().wait(20), false);
  ok(performance.now() - started >= 19);
});

// ---------------------------------------------------------------------------------------------
// from and schema
// ---------------------------------------------------------------------------------------------

Deno.test("SharedEvent.from and SharedEvent.schema", async (t) => {
  await t.step("structured clone keeps the buffer and the brand, and from revives it", () => {
    const event = new SharedEvent();
    const cloned = structuredClone(event) as unknown;
    ok(!(cloned instanceof SharedEvent));
    deepEqual(Object.keys(cloned as object), ["buffer", "~troupe"]);
    const revived = SharedEvent.from(cloned);
    ok(revived instanceof SharedEvent);
    notEqual(revived, event);
    revived.set();
    equal(event.isSet(), true);
    event.clear();
    equal(revived.isSet(), false);
  });

  await t.step("from returns a SharedEvent as it is and wraps a bare buffer", () => {
    const event = new SharedEvent();
    equal(SharedEvent.from(event), event);
    const wrapped = SharedEvent.from(event.buffer);
    equal(wrapped.buffer, event.buffer);
    wrapped.set();
    equal(event.isSet(), true);
  });

  await t.step("from names what it cannot revive", () => {
    const message =
      "Cannot revive SharedEvent: expected a SharedEvent, a { buffer: SharedArrayBuffer } or a SharedArrayBuffer, received";
    const cases: [unknown, string][] = [
      [undefined, "undefined"],
      [null, "null"],
      [42, "42"],
      [{}, "an object"],
      [{ buffer: new ArrayBuffer(4) }, "an object"],
      [new ArrayBuffer(4), "an ArrayBuffer"],
      // A typed array's buffer is inherited, not its own: not an event.
      [new Int32Array(new SharedArrayBuffer(4)), "an Int32Array"],
    ];
    for (const [value, described] of cases) {
      throws(() => SharedEvent.from(value), new TypeError(`${message} ${described}`));
    }
    throws(
      () => SharedEvent.from({ buffer: new SharedArrayBuffer(1) }),
      new RangeError(
        "Cannot revive SharedEvent: buffer must hold at least 4 bytes, received 1 byte",
      ),
    );
    throws(
      () => SharedEvent.from(new SharedArrayBuffer(3)),
      new RangeError(
        "Cannot revive SharedEvent: buffer must hold at least 4 bytes, received 3 bytes",
      ),
    );
  });

  await t.step("schema revives an event that went through structured clone", () => {
    const event = new SharedEvent();
    for (const input of [structuredClone(event), event, event.buffer]) {
      const result = SharedEvent.schema.safeParse(input);
      ok(result.success);
      ok(result.data instanceof SharedEvent);
      // A cloned SharedArrayBuffer is another object over the same memory.
      result.data.set();
      equal(event.isSet(), true);
      event.clear();
    }
    const parsed = SharedEvent.schema.safeParse(event);
    ok(parsed.success);
    equal(parsed.data, event);
  });

  await t.step("schema works as a field of a zod object", () => {
    const message = z.object({ id: z.number(), done: SharedEvent.schema });
    const event = new SharedEvent();
    const received = message.parse(structuredClone({ id: 7, done: event }));
    ok(received.done instanceof SharedEvent);
    received.done.set();
    equal(event.isSet(), true);
  });

  await t.step("schema refuses what from cannot revive, without throwing", () => {
    for (const value of [42, null, {}, new ArrayBuffer(4), { buffer: new SharedArrayBuffer(2) }]) {
      const result = SharedEvent.schema.safeParse(value);
      equal(result.success, false);
      if (!result.success) {
        equal(
          result.error.issues[0].message,
          "Expected a SharedEvent, a { buffer: SharedArrayBuffer } or a SharedArrayBuffer of at least 4 bytes",
        );
      }
    }
    const result = z.object({ done: SharedEvent.schema }).safeParse({ done: 1 });
    ok(!result.success);
    deepEqual(result.error.issues[0].path, ["done"]);
  });
});

// ---------------------------------------------------------------------------------------------
// Across threads
// ---------------------------------------------------------------------------------------------

test("wait on the main thread resolves when a worker sets the event", async () => {
  using worker = new EventWorker();
  const event = new SharedEvent();
  const waiting = event.wait(GUARD_MS);
  worker.send({ op: "set", event, via: "from" });
  equal(await waiting, true);
  deepEqual(await worker.next(), { op: "set", revived: true });
  equal(event.isSet(), true);
});

test("waitSync in a worker wakes when the main thread sets the event", async () => {
  using worker = new EventWorker();
  const event = new SharedEvent();
  worker.send({ op: "waitSync", event, timeoutMs: GUARD_MS });
  deepEqual(await worker.next(), { op: "waiting" });
  // Real time, so that the worker is blocked in Atomics.wait before the set.
  await new Promise((resolve) => setTimeout(resolve, 20));
  event.set();
  deepEqual(await worker.next(), { op: "waited", result: true, isSet: true });
});

test("wait in a worker wakes when the main thread sets the event", async () => {
  using worker = new EventWorker();
  const event = new SharedEvent();
  worker.send({ op: "wait", event, timeoutMs: GUARD_MS });
  deepEqual(await worker.next(), { op: "waiting" });
  await new Promise((resolve) => setTimeout(resolve, 20));
  event.set();
  deepEqual(await worker.next(), { op: "waited", result: true, isSet: true });
});

test("waits in a worker time out with false when nobody sets the event", async () => {
  using worker = new EventWorker();
  const event = new SharedEvent();
  worker.send({ op: "waitSync", event, timeoutMs: 30 });
  deepEqual(await worker.next(), { op: "waiting" });
  deepEqual(await worker.next(), { op: "waited", result: false, isSet: false });
  worker.send({ op: "wait", event, timeoutMs: 30 });
  deepEqual(await worker.next(), { op: "waiting" });
  deepEqual(await worker.next(), { op: "waited", result: false, isSet: false });
  worker.send({ op: "waitSync", event, timeoutMs: 0 });
  deepEqual(await worker.next(), { op: "waiting" });
  deepEqual(await worker.next(), { op: "waited", result: false, isSet: false });
});

test("one set from a worker wakes every waiter on every thread and view", async () => {
  using blocked = new EventWorker();
  using setter = new EventWorker();
  const event = new SharedEvent();
  const view = SharedEvent.from(structuredClone(event));
  blocked.send({ op: "waitSync", event, timeoutMs: GUARD_MS });
  deepEqual(await blocked.next(), { op: "waiting" });
  const waits = [
    ...Array.from({ length: 50 }, () => event.wait(GUARD_MS)),
    ...Array.from({ length: 50 }, () => view.wait({ timeoutMs: GUARD_MS })),
  ];
  setter.send({ op: "set", event, via: "from" });
  deepEqual(await Promise.all(waits), waits.map(() => true));
  deepEqual(await blocked.next(), { op: "waited", result: true, isSet: true });
  deepEqual(await setter.next(), { op: "set", revived: true });
});

test("schema revives an event in a worker, which sets it", async () => {
  using worker = new EventWorker();
  const event = new SharedEvent();
  const waiting = event.wait(GUARD_MS);
  worker.send({ op: "set", event, via: "schema" });
  deepEqual(await worker.next(), { op: "set", revived: true });
  equal(await waiting, true);
});

test("an event a worker posts back arrives as { buffer } and from revives it", async () => {
  using worker = new EventWorker();
  const event = new SharedEvent();
  worker.send({ op: "echo", event });
  const reply = await worker.next();
  equal(reply.op, "echo");
  const received: unknown = (reply as { event: unknown }).event;
  ok(!(received instanceof SharedEvent));
  const revived = SharedEvent.from(received);
  notEqual(revived.buffer, event.buffer); // another object over the same memory
  revived.set();
  equal(event.isSet(), true);
});
