import { deepEqual, equal, ok, rejects, throws } from "node:assert/strict";
import fc from "fast-check";
import { MailboxClosedError, MailboxFullError } from "../errors.ts";
import { type DropReason, Mailbox, type OverflowPolicy } from "../mailbox/mailbox.ts";
import { countingController, flush, track } from "./_helpers.ts";

// ---------------------------------------------------------------------------------------------
// Helpers: promise state without sleeping, and abort signals that count their listeners.
// ---------------------------------------------------------------------------------------------

function full(capacity: number, owner: string) {
  return (error: unknown) => {
    ok(error instanceof MailboxFullError, `expected MailboxFullError, got ${error}`);
    equal(error.message, `Mailbox of ${owner} is full (capacity ${capacity})`);
    equal(error.capacity, capacity);
    equal(error.owner, owner);
    return true;
  };
}

function closed(owner: string) {
  return (error: unknown) => {
    ok(error instanceof MailboxClosedError, `expected MailboxClosedError, got ${error}`);
    equal(error.message, `Mailbox of ${owner} is closed`);
    equal(error.owner, owner);
    return true;
  };
}

// ---------------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------------

Deno.test("Mailbox options", async (t) => {
  await t.step("defaults are a capacity of 1000, backpressure and the owner mailbox", () => {
    const mailbox = new Mailbox<number>();
    equal(mailbox.capacity, 1000);
    equal(mailbox.overflow, "backpressure");
    for (let i = 0; i < 1000; i++) mailbox.offer(i);
    throws(() => mailbox.offer(1000), full(1000, "mailbox"));
  });

  await t.step("options given as undefined take their defaults", () => {
    const mailbox = new Mailbox<number>({
      capacity: undefined,
      overflow: undefined,
      owner: undefined,
      onDrop: undefined,
    });
    equal(mailbox.capacity, 1000);
    equal(mailbox.overflow, "backpressure");
  });

  await t.step("Infinity is an accepted capacity", () => {
    const mailbox = new Mailbox<number>({ capacity: Infinity, overflow: "reject" });
    for (let i = 0; i < 10_000; i++) equal(mailbox.offer(i), true);
    equal(mailbox.userSize, 10_000);
  });

  await t.step("a capacity that is not a positive integer or Infinity is a RangeError", () => {
    const cases: [unknown, string][] = [
      [0, "0"],
      [-1, "-1"],
      [1.5, "1.5"],
      [NaN, "NaN"],
      [-Infinity, "-Infinity"],
      ["10", '"10"'],
      [null, "null"],
    ];
    for (const [capacity, shown] of cases) {
      throws(
        () => new Mailbox({ capacity: capacity as number }),
        new RangeError(
          `Cannot create mailbox: capacity must be a positive integer or Infinity, received ${shown}`,
        ),
      );
    }
  });

  await t.step("an unknown overflow policy is a TypeError that names it", () => {
    throws(
      () => new Mailbox({ overflow: "drop" as OverflowPolicy }),
      new TypeError(
        'Cannot create mailbox: overflow must be "backpressure", "drop_newest", "drop_oldest" or "reject", received "drop"',
      ),
    );
  });

  await t.step("an owner that is not a non-empty string is a TypeError", () => {
    throws(
      () => new Mailbox({ owner: "" }),
      new TypeError('Cannot create mailbox: owner must be a non-empty string, received ""'),
    );
    throws(
      () => new Mailbox({ owner: 42 as unknown as string }),
      new TypeError("Cannot create mailbox: owner must be a non-empty string, received 42"),
    );
  });

  await t.step("an onDrop that is not a function is a TypeError", () => {
    throws(
      () => new Mailbox({ onDrop: "log" as unknown as () => void }),
      new TypeError('Cannot create mailbox: onDrop must be a function, received "log"'),
    );
  });
});

// ---------------------------------------------------------------------------------------------
// offer and the overflow policies
// ---------------------------------------------------------------------------------------------

Deno.test("offer and the overflow policies", async (t) => {
  await t.step("offer queues in FIFO order and sizes follow", () => {
    const mailbox = new Mailbox<string>({ capacity: 3 });
    equal(mailbox.offer("a"), true);
    equal(mailbox.offer("b"), true);
    equal(mailbox.size, 2);
    equal(mailbox.userSize, 2);
    equal(mailbox.tryTake(), "a");
    equal(mailbox.tryTake(), "b");
    equal(mailbox.tryTake(), undefined);
    equal(mailbox.size, 0);
  });

  await t.step("backpressure makes a full offer throw MailboxFullError", () => {
    const mailbox = new Mailbox<string>({ capacity: 2, owner: "/jobs" });
    mailbox.offer("a");
    mailbox.offer("b");
    throws(() => mailbox.offer("c"), full(2, "/jobs"));
    deepEqual(mailbox.drain(), ["a", "b"]);
  });

  await t.step("reject makes a full offer throw MailboxFullError", () => {
    const mailbox = new Mailbox<string>({ capacity: 1, overflow: "reject", owner: "/jobs" });
    mailbox.offer("a");
    throws(() => mailbox.offer("b"), full(1, "/jobs"));
    deepEqual(mailbox.drain(), ["a"]);
  });

  await t.step("drop_newest reports the newest message and keeps the queue", () => {
    const dropped: [string, DropReason][] = [];
    const mailbox = new Mailbox<string>({
      capacity: 2,
      overflow: "drop_newest",
      onDrop: (item, reason) => dropped.push([item, reason]),
    });
    equal(mailbox.offer("a"), true);
    equal(mailbox.offer("b"), true);
    equal(mailbox.offer("c"), false);
    deepEqual(dropped, [["c", "overflow"]]);
    deepEqual(mailbox.drain(), ["a", "b"]);
  });

  await t.step("drop_oldest reports the oldest message and keeps the newest", () => {
    const dropped: [string, DropReason][] = [];
    const mailbox = new Mailbox<string>({
      capacity: 2,
      overflow: "drop_oldest",
      onDrop: (item, reason) => dropped.push([item, reason]),
    });
    mailbox.offer("a");
    mailbox.offer("b");
    equal(mailbox.offer("c"), true);
    equal(mailbox.offer("d"), true);
    deepEqual(dropped, [["a", "overflow"], ["b", "overflow"]]);
    deepEqual(mailbox.drain(), ["c", "d"]);
  });

  await t.step("drop_oldest never drops a system message", () => {
    const dropped: string[] = [];
    const mailbox = new Mailbox<string>({
      capacity: 1,
      overflow: "drop_oldest",
      onDrop: (item) => dropped.push(item),
    });
    mailbox.pushSystem("stop");
    mailbox.offer("a");
    mailbox.offer("b");
    deepEqual(dropped, ["a"]);
    deepEqual(mailbox.drain(), ["stop", "b"]);
  });

  await t.step("the drop policies work without an onDrop", () => {
    const newest = new Mailbox<string>({ capacity: 1, overflow: "drop_newest" });
    newest.offer("a");
    equal(newest.offer("b"), false);
    deepEqual(newest.drain(), ["a"]);
    const oldest = new Mailbox<string>({ capacity: 1, overflow: "drop_oldest" });
    oldest.offer("a");
    equal(oldest.offer("b"), true);
    deepEqual(oldest.drain(), ["b"]);
  });

  await t.step("onDrop runs after the mailbox is updated and its error propagates", () => {
    const seen: number[] = [];
    const mailbox: Mailbox<string> = new Mailbox<string>({
      capacity: 1,
      overflow: "drop_oldest",
      onDrop: () => {
        seen.push(mailbox.userSize);
        throw new Error("listener failed");
      },
    });
    mailbox.offer("a");
    throws(() => mailbox.offer("b"), new Error("listener failed"));
    deepEqual(seen, [1]);
    deepEqual(mailbox.drain(), ["b"]);
  });

  await t.step("offer hands a message straight to a waiting taker", async () => {
    const mailbox = new Mailbox<string>({ capacity: 1 });
    const taken = mailbox.take();
    equal(mailbox.offer("a"), true);
    equal(mailbox.size, 0);
    equal(await taken, "a");
  });

  await t.step("offer on a closed mailbox throws MailboxClosedError", () => {
    const mailbox = new Mailbox<string>({ owner: "/jobs" });
    mailbox.close();
    throws(() => mailbox.offer("a"), closed("/jobs"));
  });

  await t.step("an undefined message is a TypeError", async () => {
    const mailbox = new Mailbox<string | undefined>({ owner: "/jobs" });
    throws(
      () => mailbox.offer(undefined),
      new TypeError(
        "Cannot offer on the mailbox of /jobs: item must not be undefined, received undefined",
      ),
    );
    await rejects(
      mailbox.put(undefined),
      new TypeError(
        "Cannot put on the mailbox of /jobs: item must not be undefined, received undefined",
      ),
    );
    throws(
      () => mailbox.pushSystem(undefined),
      new TypeError(
        "Cannot pushSystem on the mailbox of /jobs: item must not be undefined, received undefined",
      ),
    );
    equal(mailbox.size, 0);
  });
});

// ---------------------------------------------------------------------------------------------
// put and backpressure
// ---------------------------------------------------------------------------------------------

Deno.test("put and backpressure", async (t) => {
  await t.step("put resolves true at once when there is space", async () => {
    const mailbox = new Mailbox<string>({ capacity: 1 });
    equal(await mailbox.put("a"), true);
    equal(mailbox.userSize, 1);
  });

  await t.step("waiting putters move in, in FIFO order, as slots free", async () => {
    const mailbox = new Mailbox<string>({ capacity: 2 });
    mailbox.offer("a");
    mailbox.offer("b");
    const c = track(mailbox.put("c"));
    const d = track(mailbox.put("d"));
    await flush();
    equal(mailbox.waitingPutters, 2);
    deepEqual(c.current, { status: "pending" });

    equal(mailbox.tryTake(), "a");
    equal(mailbox.userSize, 2);
    equal(mailbox.waitingPutters, 1);
    await flush();
    deepEqual(c.current, { status: "fulfilled", value: true });
    deepEqual(d.current, { status: "pending" });

    equal(await mailbox.take(), "b");
    await flush();
    deepEqual(d.current, { status: "fulfilled", value: true });
    equal(mailbox.waitingPutters, 0);
    deepEqual(mailbox.drain(), ["c", "d"]);
  });

  await t.step("a freed slot goes to the waiting putter, not to a later offer", async () => {
    const mailbox = new Mailbox<string>({ capacity: 1, owner: "/jobs" });
    mailbox.offer("a");
    const b = mailbox.put("b");
    equal(mailbox.tryTake(), "a");
    throws(() => mailbox.offer("c"), full(1, "/jobs"));
    equal(await b, true);
    deepEqual(mailbox.drain(), ["b"]);
  });

  await t.step("an offer while putters wait throws even before a slot frees", () => {
    const mailbox = new Mailbox<string>({ capacity: 1, owner: "/jobs" });
    mailbox.offer("a");
    void mailbox.put("b");
    throws(() => mailbox.offer("c"), full(1, "/jobs"));
    equal(mailbox.waitingPutters, 1);
  });

  await t.step("drain lets waiting putters move in, in order", async () => {
    const mailbox = new Mailbox<string>({ capacity: 2 });
    mailbox.offer("a");
    mailbox.offer("b");
    const puts = [mailbox.put("c"), mailbox.put("d"), mailbox.put("e")];
    deepEqual(mailbox.drain(), ["a", "b"]);
    equal(mailbox.waitingPutters, 1);
    deepEqual(mailbox.drain(), ["c", "d"]);
    equal(mailbox.waitingPutters, 0);
    deepEqual(await Promise.all(puts), [true, true, true]);
    deepEqual(mailbox.drain(), ["e"]);
  });

  await t.step("taking a system message does not free a user slot", async () => {
    const mailbox = new Mailbox<string>({ capacity: 1 });
    mailbox.offer("a");
    const b = track(mailbox.put("b"));
    mailbox.pushSystem("ping");
    equal(mailbox.tryTake(), "ping");
    await flush();
    deepEqual(b.current, { status: "pending" });
    equal(mailbox.tryTake(), "a");
    await flush();
    deepEqual(b.current, { status: "fulfilled", value: true });
  });

  await t.step("put under reject rejects with MailboxFullError", async () => {
    const mailbox = new Mailbox<string>({ capacity: 1, overflow: "reject", owner: "/jobs" });
    await mailbox.put("a");
    await rejects(mailbox.put("b"), full(1, "/jobs"));
    equal(mailbox.waitingPutters, 0);
  });

  await t.step("put under drop_newest resolves false and reports the message", async () => {
    const dropped: string[] = [];
    const mailbox = new Mailbox<string>({
      capacity: 1,
      overflow: "drop_newest",
      onDrop: (item) => dropped.push(item),
    });
    equal(await mailbox.put("a"), true);
    equal(await mailbox.put("b"), false);
    deepEqual(dropped, ["b"]);
  });

  await t.step("put under drop_oldest resolves true and reports the oldest", async () => {
    const dropped: string[] = [];
    const mailbox = new Mailbox<string>({
      capacity: 1,
      overflow: "drop_oldest",
      onDrop: (item) => dropped.push(item),
    });
    await mailbox.put("a");
    equal(await mailbox.put("b"), true);
    deepEqual(dropped, ["a"]);
    deepEqual(mailbox.drain(), ["b"]);
  });

  await t.step("put rejects with the error onDrop throws", async () => {
    const mailbox = new Mailbox<string>({
      capacity: 1,
      overflow: "drop_newest",
      onDrop: () => {
        throw new Error("listener failed");
      },
    });
    await mailbox.put("a");
    await rejects(mailbox.put("b"), new Error("listener failed"));
  });

  await t.step("put on a closed mailbox rejects with MailboxClosedError", async () => {
    const mailbox = new Mailbox<string>({ owner: "/jobs" });
    mailbox.close();
    await rejects(mailbox.put("a"), closed("/jobs"));
  });

  await t.step("put hands a message straight to a waiting taker", async () => {
    const mailbox = new Mailbox<string>({ capacity: 1 });
    const taken = mailbox.take();
    equal(await mailbox.put("a"), true);
    equal(await taken, "a");
    equal(mailbox.size, 0);
  });
});

// ---------------------------------------------------------------------------------------------
// take
// ---------------------------------------------------------------------------------------------

Deno.test("take", async (t) => {
  await t.step("take resolves with a queued message at once", async () => {
    const mailbox = new Mailbox<string>();
    mailbox.offer("a");
    equal(await mailbox.take(), "a");
  });

  await t.step("waiting takers are served in FIFO order", async () => {
    const mailbox = new Mailbox<string>();
    const first = mailbox.take();
    const second = mailbox.take();
    mailbox.offer("a");
    mailbox.pushSystem("ping");
    mailbox.offer("b");
    deepEqual(await Promise.all([first, second]), ["a", "ping"]);
    deepEqual(mailbox.drain(), ["b"]);
  });

  await t.step("take on a closed, empty mailbox rejects with MailboxClosedError", async () => {
    const mailbox = new Mailbox<string>({ owner: "/jobs" });
    mailbox.close();
    await rejects(mailbox.take(), closed("/jobs"));
  });
});

// ---------------------------------------------------------------------------------------------
// Abort
// ---------------------------------------------------------------------------------------------

Deno.test("abort of put and take", async (t) => {
  await t.step(
    "an aborted put rejects with the signal's reason and its message is never queued",
    async () => {
      const mailbox = new Mailbox<string>({ capacity: 1 });
      mailbox.offer("a");
      const { controller, listeners } = countingController();
      const b = mailbox.put("b", { signal: controller.signal });
      const c = mailbox.put("c");
      equal(listeners(), 1);
      const reason = new Error("gave up");
      controller.abort(reason);
      await rejects(b, (error) => error === reason);
      equal(listeners(), 0);
      equal(mailbox.waitingPutters, 1);
      equal(mailbox.tryTake(), "a");
      equal(await c, true);
      deepEqual(mailbox.drain(), ["c"]);
    },
  );

  await t.step("an already-aborted signal rejects put and take at once", async () => {
    const mailbox = new Mailbox<string>({ capacity: 1 });
    const reason = new Error("too late");
    const signal = AbortSignal.abort(reason);
    await rejects(mailbox.put("a", { signal }), (error) => error === reason);
    equal(mailbox.size, 0);
    mailbox.offer("b");
    await rejects(mailbox.take({ signal }), (error) => error === reason);
    equal(mailbox.size, 1);
    equal(mailbox.waitingPutters, 0);
  });

  await t.step(
    "an aborted take rejects with the signal's reason and the next message goes to the next taker",
    async () => {
      const mailbox = new Mailbox<string>();
      const { controller, listeners } = countingController();
      const first = mailbox.take({ signal: controller.signal });
      const second = mailbox.take();
      const reason = new Error("gave up");
      controller.abort(reason);
      await rejects(first, (error) => error === reason);
      equal(listeners(), 0);
      mailbox.offer("a");
      equal(await second, "a");
      equal(mailbox.size, 0);
    },
  );

  await t.step(
    "a settled put or take removes its abort listener and ignores a later abort",
    async () => {
      const mailbox = new Mailbox<string>({ capacity: 1 });
      const take = countingController();
      const taken = track(mailbox.take({ signal: take.controller.signal }));
      equal(take.listeners(), 1);
      mailbox.offer("a");
      equal(take.listeners(), 0);
      take.controller.abort();
      await flush();
      deepEqual(taken.current, { status: "fulfilled", value: "a" });

      mailbox.offer("b");
      const put = countingController();
      const sent = track(mailbox.put("c", { signal: put.controller.signal }));
      equal(put.listeners(), 1);
      equal(mailbox.tryTake(), "b");
      equal(put.listeners(), 0);
      put.controller.abort();
      await flush();
      deepEqual(sent.current, { status: "fulfilled", value: true });
      deepEqual(mailbox.drain(), ["c"]);
    },
  );

  await t.step("close removes the abort listeners of the waiters it rejects", async () => {
    const mailbox = new Mailbox<string>({ capacity: 1 });
    const take = countingController();
    const taken = mailbox.take({ signal: take.controller.signal });
    mailbox.close();
    await rejects(taken, MailboxClosedError);
    equal(take.listeners(), 0);

    const other = new Mailbox<string>({ capacity: 1 });
    other.offer("a");
    const put = countingController();
    const sent = other.put("b", { signal: put.controller.signal });
    other.close();
    await rejects(sent, MailboxClosedError);
    equal(put.listeners(), 0);
  });

  await t.step("a put that did not wait attaches no abort listener", async () => {
    const mailbox = new Mailbox<string>({ capacity: 1 });
    const { controller, listeners } = countingController();
    equal(await mailbox.put("a", { signal: controller.signal }), true);
    equal(listeners(), 0);
    equal(await mailbox.take({ signal: controller.signal }), "a");
    equal(listeners(), 0);
  });

  await t.step("many aborted waiters are skipped and do not count as waiting", async () => {
    const mailbox = new Mailbox<number>({ capacity: 1 });
    mailbox.offer(0);
    const controllers: AbortController[] = [];
    const puts: Promise<boolean>[] = [];
    for (let i = 1; i <= 200; i++) {
      const controller = new AbortController();
      controllers.push(controller);
      puts.push(mailbox.put(i, { signal: controller.signal }));
    }
    for (let i = 0; i < 200; i++) if (i !== 150) controllers[i].abort("gone");
    equal(mailbox.waitingPutters, 1);
    equal(mailbox.tryTake(), 0);
    equal(await puts[150], true);
    const outcomes = await Promise.allSettled(puts);
    equal(outcomes.filter((outcome) => outcome.status === "rejected").length, 199);
    deepEqual(mailbox.drain(), [151]);

    const takers: Promise<number>[] = [];
    const takeControllers: AbortController[] = [];
    for (let i = 0; i < 200; i++) {
      const controller = new AbortController();
      takeControllers.push(controller);
      takers.push(mailbox.take({ signal: controller.signal }));
    }
    for (let i = 0; i < 199; i++) takeControllers[i].abort("gone");
    mailbox.offer(7);
    equal(await takers[199], 7);
    equal(mailbox.size, 0);
    await Promise.allSettled(takers);
  });

  await t.step("a signal that is not an AbortSignal is a TypeError", async () => {
    const mailbox = new Mailbox<string>({ owner: "/jobs" });
    const signal = { aborted: false } as unknown as AbortSignal;
    await rejects(
      mailbox.put("a", { signal }),
      new TypeError(
        "Cannot put on the mailbox of /jobs: signal must be an AbortSignal, received an object",
      ),
    );
    await rejects(
      mailbox.take({ signal }),
      new TypeError(
        "Cannot take on the mailbox of /jobs: signal must be an AbortSignal, received an object",
      ),
    );
    equal(mailbox.size, 0);
  });
});

// ---------------------------------------------------------------------------------------------
// close
// ---------------------------------------------------------------------------------------------

Deno.test("close", async (t) => {
  await t.step("close rejects waiting putters with MailboxClosedError", async () => {
    const mailbox = new Mailbox<string>({ capacity: 1, owner: "/jobs" });
    mailbox.offer("a");
    const b = mailbox.put("b");
    const c = mailbox.put("c");
    mailbox.close();
    equal(mailbox.closed, true);
    equal(mailbox.waitingPutters, 0);
    await rejects(b, closed("/jobs"));
    await rejects(c, closed("/jobs"));
    deepEqual(mailbox.drain(), ["a"]);
  });

  await t.step("close rejects waiting takers with MailboxClosedError", async () => {
    const mailbox = new Mailbox<string>({ owner: "/jobs" });
    const first = mailbox.take();
    const second = mailbox.take();
    mailbox.close();
    await rejects(first, closed("/jobs"));
    await rejects(second, closed("/jobs"));
  });

  await t.step("messages queued before close stay takeable, then take rejects", async () => {
    const mailbox = new Mailbox<string>({ owner: "/jobs" });
    mailbox.offer("a");
    mailbox.pushSystem("stop");
    mailbox.close();
    equal(await mailbox.take(), "stop");
    equal(mailbox.tryTake(), "a");
    await rejects(mailbox.take(), closed("/jobs"));
    equal(mailbox.tryTake(), undefined);
  });

  await t.step("close is idempotent", () => {
    const mailbox = new Mailbox<string>();
    mailbox.offer("a");
    mailbox.close();
    mailbox.close();
    equal(mailbox.closed, true);
    deepEqual(mailbox.drain(), ["a"]);
  });

  await t.step("pushSystem on a closed mailbox throws MailboxClosedError", () => {
    const mailbox = new Mailbox<string>({ owner: "/jobs" });
    mailbox.close();
    throws(() => mailbox.pushSystem("stop"), closed("/jobs"));
  });
});

// ---------------------------------------------------------------------------------------------
// The system lane, pushFront, drain
// ---------------------------------------------------------------------------------------------

Deno.test("the system lane", async (t) => {
  await t.step("system messages are taken before user messages, FIFO within the lane", async () => {
    const mailbox = new Mailbox<string>();
    mailbox.offer("a");
    mailbox.pushSystem("ping");
    mailbox.offer("b");
    mailbox.pushSystem("stop");
    equal(mailbox.tryTake(), "ping");
    equal(await mailbox.take(), "stop");
    equal(mailbox.tryTake(), "a");
    equal(mailbox.tryTake(), "b");
  });

  await t.step("system messages ignore capacity and are not counted in userSize", () => {
    const mailbox = new Mailbox<string>({ capacity: 1, overflow: "reject" });
    mailbox.offer("a");
    for (let i = 0; i < 100; i++) mailbox.pushSystem(`s${i}`);
    equal(mailbox.userSize, 1);
    equal(mailbox.size, 101);
  });

  await t.step("pushSystem hands a message straight to a waiting taker", async () => {
    const mailbox = new Mailbox<string>();
    const taken = mailbox.take();
    mailbox.pushSystem("stop");
    equal(mailbox.size, 0);
    equal(await taken, "stop");
  });
});

Deno.test("pushFront", async (t) => {
  await t.step("pushFront puts messages back at the front in their given order", () => {
    const mailbox = new Mailbox<string>();
    mailbox.offer("c");
    mailbox.pushFront(["a", "b"]);
    deepEqual(mailbox.drain(), ["a", "b", "c"]);
  });

  await t.step("pushFront keeps the system lane first", () => {
    const mailbox = new Mailbox<string>();
    mailbox.pushSystem("stop");
    mailbox.pushFront(["a"]);
    deepEqual(mailbox.drain(), ["stop", "a"]);
  });

  await t.step("pushFront ignores capacity", () => {
    const mailbox = new Mailbox<string>({ capacity: 1, overflow: "reject", owner: "/jobs" });
    mailbox.offer("c");
    mailbox.pushFront(["a", "b"]);
    equal(mailbox.userSize, 3);
    throws(() => mailbox.offer("d"), full(1, "/jobs"));
    deepEqual(mailbox.drain(), ["a", "b", "c"]);
  });

  await t.step("pushFront works on a closed mailbox", () => {
    const mailbox = new Mailbox<string>();
    mailbox.offer("b");
    mailbox.close();
    mailbox.pushFront(["a"]);
    deepEqual(mailbox.drain(), ["a", "b"]);
  });

  await t.step("pushFront accepts any iterable", () => {
    const mailbox = new Mailbox<string>();
    mailbox.pushFront(new Set(["a", "b"]));
    mailbox.pushFront((function* () {
      yield "x";
      yield "y";
    })());
    deepEqual(mailbox.drain(), ["x", "y", "a", "b"]);
  });

  await t.step("pushFront hands messages to waiting takers first, in order", async () => {
    const mailbox = new Mailbox<string>();
    const first = mailbox.take();
    const second = mailbox.take();
    mailbox.pushFront(["a", "b", "c"]);
    deepEqual(await Promise.all([first, second]), ["a", "b"]);
    deepEqual(mailbox.drain(), ["c"]);
  });

  await t.step("pushFront rejects bad items and queues nothing", () => {
    const mailbox = new Mailbox<string | undefined>({ owner: "/jobs" });
    throws(
      () => mailbox.pushFront(42 as unknown as string[]),
      new TypeError(
        "Cannot push to the front of the mailbox of /jobs: items must be iterable, received 42",
      ),
    );
    throws(
      () => mailbox.pushFront(["a", undefined]),
      new TypeError(
        "Cannot push to the front of the mailbox of /jobs: items must not be undefined, received undefined at index 1",
      ),
    );
    equal(mailbox.size, 0);
  });

  await t.step("pushFront does not wake waiting putters", async () => {
    const mailbox = new Mailbox<string>({ capacity: 1 });
    mailbox.offer("b");
    const c = track(mailbox.put("c"));
    mailbox.pushFront(["a"]);
    equal(mailbox.tryTake(), "a");
    await flush();
    deepEqual(c.current, { status: "pending" });
    equal(mailbox.tryTake(), "b");
    await flush();
    deepEqual(c.current, { status: "fulfilled", value: true });
  });
});

Deno.test("drain", async (t) => {
  await t.step("drain returns the system lane, then the user lane, and empties the mailbox", () => {
    const mailbox = new Mailbox<string>();
    mailbox.offer("a");
    mailbox.pushSystem("stop");
    mailbox.offer("b");
    mailbox.pushSystem("ping");
    deepEqual(mailbox.drain(), ["stop", "ping", "a", "b"]);
    equal(mailbox.size, 0);
    deepEqual(mailbox.drain(), []);
  });

  await t.step("drain after close returns what was left", () => {
    const mailbox = new Mailbox<string>();
    mailbox.offer("a");
    mailbox.close();
    deepEqual(mailbox.drain(), ["a"]);
    equal(mailbox.tryTake(), undefined);
  });

  await t.step("a drained mailbox keeps working", () => {
    const mailbox = new Mailbox<number>({ capacity: 100 });
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 100; i++) mailbox.offer(i);
      equal(mailbox.drain().length, 100);
    }
    mailbox.offer(1);
    equal(mailbox.tryTake(), 1);
  });
});

// ---------------------------------------------------------------------------------------------
// Properties: random operation sequences against a model
// ---------------------------------------------------------------------------------------------

type Command =
  | { op: "offer" }
  | { op: "put"; abortable: boolean }
  | { op: "abortPut"; pick: number }
  | { op: "take"; abortable: boolean }
  | { op: "abortTake"; pick: number }
  | { op: "tryTake" }
  | { op: "pushSystem" }
  | { op: "pushFront"; count: number }
  | { op: "drain" }
  | { op: "close" };

type Outcome =
  | { kind: "value"; value: unknown }
  | { kind: "full" }
  | { kind: "closed" }
  | { kind: "aborted" }
  | { kind: "unexpected"; error: string };

const ABORTED = "aborted by the test";

function classify(error: unknown): Outcome {
  if (error instanceof MailboxFullError) return { kind: "full" };
  if (error instanceof MailboxClosedError) return { kind: "closed" };
  if (error === ABORTED) return { kind: "aborted" };
  return { kind: "unexpected", error: String(error) };
}

function capture(action: () => unknown): Outcome {
  try {
    return { kind: "value", value: action() };
  } catch (error) {
    return classify(error);
  }
}

/** The contract, written as plainly as possible on arrays. */
class Model {
  system: number[] = [];
  user: number[] = [];
  putters: { handle: number; item: number }[] = [];
  takers: number[] = [];
  closed = false;
  dropped: number[] = [];
  outcomes = new Map<number, Outcome>();

  constructor(readonly capacity: number, readonly policy: OverflowPolicy) {}

  get size(): number {
    return this.system.length + this.user.length;
  }

  #deliver(item: number, lane: number[]): void {
    const taker = this.takers.shift();
    if (taker === undefined) lane.push(item);
    else this.outcomes.set(taker, { kind: "value", value: item });
  }

  #overflow(item: number): Outcome {
    if (this.policy === "drop_newest") {
      this.dropped.push(item);
      return { kind: "value", value: false };
    }
    if (this.policy === "drop_oldest") {
      this.dropped.push(this.user.shift()!);
      this.user.push(item);
      return { kind: "value", value: true };
    }
    return { kind: "full" };
  }

  #admit(): void {
    while (this.user.length < this.capacity && this.putters.length > 0) {
      const putter = this.putters.shift()!;
      this.#deliver(putter.item, this.user);
      this.outcomes.set(putter.handle, { kind: "value", value: true });
    }
  }

  offer(item: number): Outcome {
    if (this.closed) return { kind: "closed" };
    if (this.user.length < this.capacity && this.putters.length === 0) {
      this.#deliver(item, this.user);
      return { kind: "value", value: true };
    }
    return this.#overflow(item);
  }

  put(handle: number, item: number): void {
    if (this.closed) this.outcomes.set(handle, { kind: "closed" });
    else if (this.user.length < this.capacity && this.putters.length === 0) {
      this.#deliver(item, this.user);
      this.outcomes.set(handle, { kind: "value", value: true });
    } else if (this.policy !== "backpressure") this.outcomes.set(handle, this.#overflow(item));
    else this.putters.push({ handle, item });
  }

  abortPut(handle: number): void {
    const index = this.putters.findIndex((putter) => putter.handle === handle);
    if (index === -1) return;
    this.putters.splice(index, 1);
    this.outcomes.set(handle, { kind: "aborted" });
  }

  take(handle: number): void {
    const item = this.tryTake();
    if (item !== undefined) this.outcomes.set(handle, { kind: "value", value: item });
    else if (this.closed) this.outcomes.set(handle, { kind: "closed" });
    else this.takers.push(handle);
  }

  abortTake(handle: number): void {
    const index = this.takers.indexOf(handle);
    if (index === -1) return;
    this.takers.splice(index, 1);
    this.outcomes.set(handle, { kind: "aborted" });
  }

  tryTake(): number | undefined {
    if (this.system.length > 0) return this.system.shift();
    if (this.user.length === 0) return undefined;
    const item = this.user.shift();
    this.#admit();
    return item;
  }

  pushSystem(item: number): Outcome {
    if (this.closed) return { kind: "closed" };
    this.#deliver(item, this.system);
    return { kind: "value", value: undefined };
  }

  pushFront(items: number[]): void {
    const rest = [...items];
    while (rest.length > 0 && this.takers.length > 0) this.#deliver(rest.shift()!, this.user);
    this.user.unshift(...rest);
  }

  drain(): number[] {
    const out = [...this.system, ...this.user];
    this.system = [];
    this.user = [];
    this.#admit();
    return out;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const putter of this.putters) this.outcomes.set(putter.handle, { kind: "closed" });
    for (const taker of this.takers) this.outcomes.set(taker, { kind: "closed" });
    this.putters = [];
    this.takers = [];
  }
}

const commandArbitrary: fc.Arbitrary<Command> = fc.oneof(
  { weight: 12, arbitrary: fc.constant({ op: "offer" as const }) },
  {
    weight: 12,
    arbitrary: fc.record({ op: fc.constant("put" as const), abortable: fc.boolean() }),
  },
  { weight: 4, arbitrary: fc.record({ op: fc.constant("abortPut" as const), pick: fc.nat(20) }) },
  {
    weight: 8,
    arbitrary: fc.record({ op: fc.constant("take" as const), abortable: fc.boolean() }),
  },
  { weight: 4, arbitrary: fc.record({ op: fc.constant("abortTake" as const), pick: fc.nat(20) }) },
  { weight: 12, arbitrary: fc.constant({ op: "tryTake" as const }) },
  { weight: 4, arbitrary: fc.constant({ op: "pushSystem" as const }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("pushFront" as const), count: fc.nat(3) }) },
  { weight: 2, arbitrary: fc.constant({ op: "drain" as const }) },
  // Rare, so that most runs spend long enough open.
  { weight: 1, arbitrary: fc.constant({ op: "close" as const }) },
);

const scenarioArbitrary = fc.record({
  capacity: fc.oneof(fc.integer({ min: 1, max: 5 }), fc.constant(Infinity)),
  policy: fc.constantFrom<OverflowPolicy>("backpressure", "drop_newest", "drop_oldest", "reject"),
  commands: fc.array(commandArbitrary, { maxLength: 80, size: "max" }),
});

interface RunLog {
  /** Items the mailbox accepted: offer true, put resolved true, pushSystem, pushFront. */
  accepted: number[];
  /** Items refused by drop_newest: offer or put returned false. */
  refusedAndDropped: number[];
  /** Items handed out, in the order they were handed out, by tryTake, take and drain. */
  delivered: number[];
  /** Items reported to onDrop, in order. */
  dropped: number[];
  /** Items that entered through pushSystem. */
  systemItems: Set<number>;
  /** Whether pushFront ran (it reorders the user lane on purpose). */
  usedPushFront: boolean;
}

/**
 * Runs one scenario on the real mailbox and the model side by side, comparing every observable
 * after each step, then closes and drains both.
 */
async function runScenario(
  capacity: number,
  policy: OverflowPolicy,
  commands: readonly Command[],
): Promise<RunLog> {
  const log: RunLog = {
    accepted: [],
    refusedAndDropped: [],
    delivered: [],
    dropped: [],
    systemItems: new Set(),
    usedPushFront: false,
  };
  const mailbox = new Mailbox<number>({
    capacity,
    overflow: policy,
    owner: "/property",
    onDrop: (item, reason) => {
      equal(reason, "overflow");
      log.dropped.push(item);
    },
  });
  const model = new Model(capacity, policy);
  const outcomes = new Map<number, Outcome>();
  const abortablePuts: { handle: number; controller: AbortController }[] = [];
  const abortableTakes: { handle: number; controller: AbortController }[] = [];
  const listenerCounts: (() => number)[] = [];
  const putItems = new Map<number, number>();
  let nextItem = 1;
  let nextHandle = 1;

  const observe = (handle: number, promise: Promise<unknown>, kind: "put" | "take") => {
    promise.then(
      (value) => {
        outcomes.set(handle, { kind: "value", value });
        if (kind === "take") log.delivered.push(value as number);
        else if (value === true) log.accepted.push(putItems.get(handle)!);
        else log.refusedAndDropped.push(putItems.get(handle)!);
      },
      (error) => outcomes.set(handle, classify(error)),
    );
  };
  const signalFor = (abortable: boolean, handle: number, list: typeof abortablePuts) => {
    if (!abortable) return undefined;
    const { controller, listeners } = countingController();
    listenerCounts.push(listeners);
    list.push({ handle, controller });
    return controller.signal;
  };

  const step = async (command: Command) => {
    switch (command.op) {
      case "offer": {
        const item = nextItem++;
        const real = capture(() => mailbox.offer(item));
        deepEqual(real, model.offer(item), `offer(${item})`);
        if (real.kind === "value") (real.value ? log.accepted : log.refusedAndDropped).push(item);
        break;
      }
      case "put": {
        const item = nextItem++;
        const handle = nextHandle++;
        putItems.set(handle, item);
        const signal = signalFor(command.abortable, handle, abortablePuts);
        observe(handle, mailbox.put(item, { signal }), "put");
        model.put(handle, item);
        break;
      }
      case "abortPut":
      case "abortTake": {
        const list = command.op === "abortPut" ? abortablePuts : abortableTakes;
        if (list.length === 0) break;
        const { handle, controller } = list[command.pick % list.length];
        controller.abort(ABORTED);
        if (command.op === "abortPut") model.abortPut(handle);
        else model.abortTake(handle);
        break;
      }
      case "take": {
        const handle = nextHandle++;
        const signal = signalFor(command.abortable, handle, abortableTakes);
        observe(handle, mailbox.take({ signal }), "take");
        model.take(handle);
        break;
      }
      case "tryTake": {
        const item = mailbox.tryTake();
        equal(item, model.tryTake(), "tryTake()");
        if (item !== undefined) log.delivered.push(item);
        break;
      }
      case "pushSystem": {
        const item = nextItem++;
        const real = capture(() => mailbox.pushSystem(item));
        deepEqual(real, model.pushSystem(item), `pushSystem(${item})`);
        if (real.kind === "value") {
          log.accepted.push(item);
          log.systemItems.add(item);
        }
        break;
      }
      case "pushFront": {
        const items = Array.from({ length: command.count }, () => nextItem++);
        mailbox.pushFront(items);
        model.pushFront(items);
        log.accepted.push(...items);
        log.usedPushFront ||= items.length > 0;
        break;
      }
      case "drain": {
        const items = mailbox.drain();
        deepEqual(items, model.drain(), "drain()");
        log.delivered.push(...items);
        break;
      }
      case "close":
        mailbox.close();
        model.close();
        break;
    }
    await flush();
    deepEqual(outcomes, model.outcomes, `outcomes after ${command.op}`);
    deepEqual(log.dropped, model.dropped, `dropped after ${command.op}`);
    equal(mailbox.size, model.size);
    equal(mailbox.userSize, model.user.length);
    equal(mailbox.waitingPutters, model.putters.length);
    equal(mailbox.closed, model.closed);
  };

  for (const command of commands) await step(command);
  await step({ op: "close" });
  await step({ op: "drain" });
  equal(mailbox.size, 0);
  for (const listeners of listenerCounts) equal(listeners(), 0, "an abort listener leaked");
  return log;
}

Deno.test("Mailbox properties", async (t) => {
  await t.step("the mailbox behaves like a simple model under random operations", async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArbitrary, async ({ capacity, policy, commands }) => {
        await runScenario(capacity, policy, commands);
      }),
      { numRuns: 300 },
    );
  });

  await t.step(
    "every accepted message is delivered or dropped exactly once, in lane order",
    async () => {
      await fc.assert(
        fc.asyncProperty(scenarioArbitrary, async ({ capacity, policy, commands }) => {
          const log = await runScenario(capacity, policy, commands);
          const handedOut = [...log.delivered, ...log.dropped];
          equal(new Set(handedOut).size, handedOut.length, "an item was handed out twice");
          const expected = [...log.accepted, ...log.refusedAndDropped].sort((a, b) => a - b);
          deepEqual([...handedOut].sort((a, b) => a - b), expected);
          for (const item of log.refusedAndDropped) ok(!log.delivered.includes(item));

          const system = log.delivered.filter((item) => log.systemItems.has(item));
          deepEqual(system, [...system].sort((a, b) => a - b), "system lane out of order");
          if (!log.usedPushFront) {
            const user = log.delivered.filter((item) => !log.systemItems.has(item));
            deepEqual(user, [...user].sort((a, b) => a - b), "user lane out of order");
          }
        }),
        { numRuns: 300 },
      );
    },
  );
});
