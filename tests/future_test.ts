import { deepEqual, equal, ok as assert, rejects, throws } from "node:assert/strict";
import fc from "fast-check";
import { CancelledError, TimeoutError } from "../errors.ts";
import { Future, type FutureStatus } from "../patterns/future.ts";
import { asCompleted, gather, wait } from "../patterns/wait.ts";
import { countingController, flush, type State, track, withClock } from "./_helpers.ts";

// ---------------------------------------------------------------------------------------------
// Helpers: fake clocks, a captured console.error, sleeping promises on the fake clock.
// ---------------------------------------------------------------------------------------------

/** Runs `fn` with `console.error` captured; returns what was reported. */
async function capturingErrors(fn: () => Promise<void> | void): Promise<unknown[][]> {
  const reported: unknown[][] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => reported.push(args);
  try {
    await fn();
  } finally {
    console.error = original;
  }
  return reported;
}

/** A promise of `value` after `ms` on the (fake) clock, like `asyncio.sleep(s, value)`. */
function sleep<T>(ms: number, value: T): Promise<T> {
  return new Promise((resolve) => setTimeout(() => resolve(value), ms));
}

/** A tracker's state, read through a call so that an earlier assertion does not narrow it. */
function state<T>(tracker: { readonly current: State<T> }): State<T> {
  return tracker.current;
}

/** The value of a tracked promise that must have fulfilled. */
function fulfilled<T>(tracker: { readonly current: State<T> }): T {
  const current = tracker.current;
  if (current.status !== "fulfilled") {
    throw new Error(`Expected fulfilled, found ${current.status}`);
  }
  return current.value;
}

/** The reason of a tracked promise that must have rejected. */
function rejected<T>(tracker: { readonly current: State<T> }): unknown {
  const current = tracker.current;
  if (current.status !== "rejected") throw new Error(`Expected rejected, found ${current.status}`);
  return current.reason;
}

function labels(futures: Iterable<Future<unknown>>): string[] {
  return [...futures].map((future) => future.label);
}

function labelled<T>(...names: string[]) {
  return names.map((label) => Future.create<T>({ label }));
}

// ---------------------------------------------------------------------------------------------
// The future's life: status, awaiting, result, exception.
// ---------------------------------------------------------------------------------------------

Deno.test("a future goes from pending to running to done and keeps its first value", async () => {
  const { future, start, resolve, reject, cancelled } = Future.create<number>({ label: "task 1" });
  equal(future.status, "pending");
  equal(future.label, "task 1");
  equal(start(), true);
  equal(future.status, "running");
  throws(() => start(), { name: "Error", message: "Cannot start task 1: it is already running" });
  resolve(1);
  equal(future.status, "done");
  resolve(2);
  reject(new Error("late"));
  cancelled();
  equal(future.status, "done");
  equal(start(), false); // settled: nothing to run
  equal(await future, 1);
  equal(await future.result(), 1);
  equal(await future.exception(), undefined);
  equal(Object.prototype.toString.call(future), "[object Future]");
});

Deno.test("a producer may settle a future it never started", async () => {
  const { future, resolve } = Future.create<string>();
  resolve("straight away");
  equal(future.status, "done");
  equal(await future, "straight away");
});

Deno.test("a failed future rejects with its error, which exception() returns", async () => {
  const { future, start, reject } = Future.create<number>();
  start();
  const error = new RangeError("out of range");
  reject(error);
  equal(future.status, "failed");
  await rejects(future.result(), (thrown) => thrown === error);
  await rejects(Promise.resolve(future), (thrown) => thrown === error);
  equal(await future.exception(), error);
  equal(await future.catch((e) => e), error);
});

Deno.test("a non-Error rejection is awaited as it is but wrapped by exception()", async () => {
  const { future, reject } = Future.create<number>({ label: "odd" });
  reject(42);
  await rejects(future.result(), (thrown) => thrown === 42);
  const wrapped = await future.exception();
  assert(wrapped instanceof Error);
  equal(wrapped.message, "odd failed with a value that is not an Error: 42");
  equal(wrapped.cause, 42);
});

Deno.test("a future that fails unobserved raises no unhandled rejection", async () => {
  const { reject } = Future.create<number>();
  reject(new Error("nobody asked"));
  await flush();
  // An unhandled rejection would fail this test.
});

Deno.test("a future stays covariant: Future<number> is a Future<unknown>", () => {
  const { future } = Future.create<number>();
  const widened: Future<unknown> = future;
  const list: Future<unknown>[] = [future];
  equal(list[0], widened);
});

Deno.test("result() times out with a TimeoutError and the future keeps going", async () => {
  await withClock(async (clock) => {
    const { future, start, resolve } = Future.create<number>({ label: "task 3 (square)" });
    start();
    const waiting = track(future.result({ timeoutMs: 100 }));
    clock.tick(99);
    await flush();
    equal(state(waiting).status, "pending");
    clock.tick(1);
    await flush();
    assert(state(waiting).status === "rejected");
    const error = rejected(waiting);
    assert(error instanceof TimeoutError);
    equal(error.message, "Timed out after 100 ms waiting for task 3 (square)");
    equal(error.what, "task 3 (square)");
    equal(error.timeoutMs, 100);
    equal(future.status, "running");
    equal(clock.countTimers(), 0);
    resolve(9);
    equal(await future.result({ timeoutMs: 100 }), 9);
  });
});

Deno.test("result() with timeoutMs 0 only looks", async () => {
  const { future, resolve } = Future.create<number>();
  await rejects(future.result({ timeoutMs: 0 }), {
    name: "TimeoutError",
    message: "Timed out after 0 ms waiting for future",
  });
  resolve(5);
  equal(await future.result({ timeoutMs: 0 }), 5);
});

Deno.test("result() that settles in time clears its timer and removes its abort listener", async () => {
  await withClock(async (clock) => {
    const { controller, listeners } = countingController();
    const { future, resolve } = Future.create<number>();
    const waiting = future.result({ timeoutMs: 1_000, signal: controller.signal });
    equal(clock.countTimers(), 1);
    equal(listeners(), 1);
    resolve(7);
    equal(await waiting, 7);
    equal(clock.countTimers(), 0);
    equal(listeners(), 0);
  });
});

Deno.test("aborting result() rejects with the reason and leaves no timer", async () => {
  await withClock(async (clock) => {
    const { controller, listeners } = countingController();
    const { future } = Future.create<number>();
    const waiting = future.result({ timeoutMs: 1_000, signal: controller.signal });
    controller.abort(new Error("shutting down"));
    await rejects(waiting, { message: "shutting down" });
    equal(clock.countTimers(), 0);
    equal(listeners(), 0);
    equal(future.status, "pending");
    // An aborted signal rejects at once.
    await rejects(future.result({ signal: controller.signal }), { message: "shutting down" });
  });
});

Deno.test("exception() waits, with a timeout, and rejects for a cancelled future", async () => {
  await withClock(async (clock) => {
    const { future, start, reject } = Future.create<number>({ label: "task 2" });
    start();
    const early = track(future.exception({ timeoutMs: 50 }));
    clock.tick(50);
    await flush();
    assert(state(early).status === "rejected");
    assert(rejected(early) instanceof TimeoutError);
    const late = future.exception({ timeoutMs: 50 });
    reject(new Error("Bad luck!"));
    equal((await late)?.message, "Bad luck!");
    equal(clock.countTimers(), 0);

    const gone = Future.create<number>({ label: "task 4" });
    gone.future.cancel();
    await rejects(gone.future.exception(), {
      name: "CancelledError",
      message: "task 4 was cancelled",
    });
  });
});

Deno.test("a timeout too long for setTimeout is armed in steps", async () => {
  await withClock(async (clock) => {
    const { future } = Future.create<number>();
    const waiting = track(future.result({ timeoutMs: 2 ** 31 + 10 }));
    clock.tick(2 ** 31 - 1);
    await flush();
    equal(state(waiting).status, "pending");
    clock.tick(11);
    await flush();
    equal(state(waiting).status, "rejected");
    equal(clock.countTimers(), 0);
  });
});

// ---------------------------------------------------------------------------------------------
// Cancelling.
// ---------------------------------------------------------------------------------------------

Deno.test("cancelling a pending future settles it at once and tells the producer", async () => {
  const told: string[] = [];
  const { future, start, resolve } = Future.create<number>({
    label: "task 5",
    onCancel: (status) => told.push(`${status}:${future.status}`),
  });
  equal(future.cancel(), true);
  equal(future.status, "cancelled");
  deepEqual(told, ["pending:cancelled"]);
  equal(start(), false);
  resolve(1);
  equal(future.status, "cancelled");
  equal(future.cancel(), false);
  deepEqual(told, ["pending:cancelled"]);
  await rejects(future.result(), (error) => {
    assert(error instanceof CancelledError);
    equal(error.message, "task 5 was cancelled");
    equal(error.cause, undefined);
    return true;
  });
});

Deno.test("cancelling a running future asks the producer and settles when it confirms", async () => {
  const told: string[] = [];
  const { future, start, cancelled } = Future.create<number>({
    onCancel: (status) => told.push(status),
  });
  start();
  equal(future.cancel(), true);
  equal(future.status, "running");
  equal(future.cancel(), true); // asked already: the producer is not told twice
  deepEqual(told, ["running"]);
  const reason = new Error("aborted by the worker");
  cancelled(reason);
  equal(future.status, "cancelled");
  await rejects(
    future.result(),
    (error) => error instanceof CancelledError && error.cause === reason,
  );
  equal(future.cancel(), false);
});

Deno.test("a producer may confirm a cancel from within onCancel", () => {
  const controller = Future.create<number>({ onCancel: () => controller.cancelled() });
  controller.start();
  equal(controller.future.cancel(), true);
  equal(controller.future.status, "cancelled");
});

Deno.test("a running future whose cancel was asked reads as cancelled whatever its outcome", async () => {
  const done = Future.create<number>();
  done.start();
  done.future.cancel();
  done.resolve(1);
  equal(done.future.status, "cancelled");
  await rejects(done.future.result(), { name: "CancelledError" });

  const failed = Future.create<number>();
  failed.start();
  failed.future.cancel();
  const error = new Error("boom");
  failed.reject(error);
  equal(failed.future.status, "cancelled");
  await rejects(failed.future.result(), (thrown) => {
    assert(thrown instanceof CancelledError);
    equal(thrown.cause, error);
    return true;
  });
});

Deno.test("cancelling a settled future returns false and tells nobody", () => {
  let told = 0;
  const onCancel = () => void told++;
  const done = Future.create<number>({ onCancel });
  done.resolve(1);
  const failed = Future.create<number>({ onCancel });
  failed.reject(new Error("x"));
  equal(done.future.cancel(), false);
  equal(failed.future.cancel(), false);
  equal(done.future.status, "done");
  equal(failed.future.status, "failed");
  equal(told, 0);
});

Deno.test("a throwing onCancel is reported and the cancel still holds", async () => {
  const reported = await capturingErrors(() => {
    const { future } = Future.create<number>({
      label: "task 6",
      onCancel: () => {
        throw new Error("producer bug");
      },
    });
    equal(future.cancel(), true);
    equal(future.status, "cancelled");
  });
  equal(reported.length, 1);
  equal(reported[0][0], "Exception in the onCancel of task 6:");
  equal((reported[0][1] as Error).message, "producer bug");
});

// ---------------------------------------------------------------------------------------------
// Done callbacks.
// ---------------------------------------------------------------------------------------------

Deno.test("done callbacks run once, in the order added, in a microtask", async () => {
  const calls: string[] = [];
  const { future, start, resolve } = Future.create<number>({ label: "f" });
  future.addDoneCallback((f) => calls.push(`a:${f.status}`));
  future.addDoneCallback((f) => calls.push(`b:${f.label}`));
  start();
  resolve(1);
  equal(calls.length, 0); // not synchronously
  future.addDoneCallback(() => calls.push("c"));
  await flush();
  deepEqual(calls, ["a:done", "b:f", "c"]);
  resolve(2);
  await flush();
  deepEqual(calls, ["a:done", "b:f", "c"]);
});

Deno.test("a callback added after settling still runs in a microtask", async () => {
  const { future } = Future.create<number>();
  future.cancel();
  let seen: FutureStatus | undefined;
  future.addDoneCallback((f) => seen = f.status);
  equal(seen, undefined);
  await flush();
  equal(seen, "cancelled");
});

Deno.test("a throwing done callback is reported and the others still run", async () => {
  const calls: number[] = [];
  const reported = await capturingErrors(async () => {
    const { future, reject } = Future.create<number>({ label: "task 7" });
    future.addDoneCallback(() => calls.push(1));
    future.addDoneCallback(() => {
      throw new Error("callback bug");
    });
    future.addDoneCallback(() => calls.push(3));
    reject(new Error("x"));
    await flush();
  });
  deepEqual(calls, [1, 3]);
  equal(reported.length, 1);
  equal(reported[0][0], "Exception in a done callback of task 7:");
  equal((reported[0][1] as Error).message, "callback bug");
});

// ---------------------------------------------------------------------------------------------
// Future.from: promises and plain values.
// ---------------------------------------------------------------------------------------------

Deno.test("Future.from wraps one promise in one running future that settles with it", async () => {
  const { promise, resolve } = Promise.withResolvers<string>();
  const future = Future.from(promise);
  equal(Future.from(promise), future);
  equal(future.status, "running");
  equal(future.label, "promise");
  resolve("hi");
  equal(await future, "hi");
  equal(future.status, "done");

  const failing = Promise.reject(new Error("no"));
  const failed = Future.from(failing);
  await rejects(failed.result(), { message: "no" });
  equal(failed.status, "failed");
});

Deno.test("cancelling a promise's future settles it at once and ignores the promise", async () => {
  const { promise, resolve } = Promise.withResolvers<number>();
  const future = Future.from(promise);
  equal(future.cancel(), true);
  equal(future.status, "cancelled");
  resolve(1);
  await flush();
  equal(future.status, "cancelled");
  await rejects(future.result(), { name: "CancelledError", message: "promise was cancelled" });
});

Deno.test("Future.from returns a future as it is and makes a plain value done", async () => {
  const { future } = Future.create<number>();
  equal(Future.from(future), future);
  const value = Future.from(3);
  equal(value.status, "done");
  equal(await value, 3);
  const thenable = { then: (resolve: (value: number) => void) => resolve(4) } as PromiseLike<
    number
  >;
  equal(await Future.from(thenable), 4);
});

// ---------------------------------------------------------------------------------------------
// Arguments.
// ---------------------------------------------------------------------------------------------

Deno.test("bad arguments are refused with messages that name them", async () => {
  throws(() => Future.create({ label: 3 } as never), {
    name: "TypeError",
    message: "Cannot create a future: label must be a string, received 3",
  });
  throws(() => Future.create({ onCancel: "yes" } as never), {
    name: "TypeError",
    message: 'Cannot create a future: onCancel must be a function, received "yes"',
  });
  throws(() => Future.create({ lable: "x" } as never), {
    name: "TypeError",
    message: 'Cannot create a future: unknown option "lable"',
  });
  const { future } = Future.create<number>({ label: "task 8" });
  throws(() => future.addDoneCallback(null as never), {
    name: "TypeError",
    message: "Cannot add a done callback to task 8: callback must be a function, received null",
  });
  await rejects(future.result({ timeout: 5 } as never), {
    name: "TypeError",
    message: 'Cannot get the result of task 8: unknown option "timeout"',
  });
  await rejects(future.result({ timeoutMs: -1 }), {
    name: "RangeError",
    message:
      "Cannot get the result of task 8: timeoutMs must be a non-negative number or Infinity, received -1",
  });
  await rejects(future.exception({ timeoutMs: NaN }), { name: "RangeError" });
  await rejects(future.result({ timeoutMs: "5" } as never), {
    name: "TypeError",
    message: 'Cannot get the result of task 8: timeoutMs must be a number, received "5"',
  });
  await rejects(future.result({ signal: {} } as never), {
    name: "TypeError",
    message: "Cannot get the result of task 8: signal must be an AbortSignal, received an object",
  });
  await rejects(future.result(5 as never), {
    name: "TypeError",
    message: "Cannot get the result of task 8: options must be an object, received 5",
  });
  await rejects(wait([future], { returnWhen: "soon" } as never), {
    name: "TypeError",
    message:
      'Cannot wait: returnWhen must be one of "all_completed", "first_completed", "first_exception", received "soon"',
  });
  await rejects(wait(42 as never), {
    name: "TypeError",
    message: "Cannot wait: futures must be iterable, received 42",
  });
  throws(() => asCompleted(null as never), {
    name: "TypeError",
    message: "Cannot iterate futures as completed: futures must be iterable, received null",
  });
  throws(() => asCompleted([], { timeoutMs: -5 }), {
    name: "RangeError",
    message:
      "Cannot iterate futures as completed: timeoutMs must be a non-negative number or Infinity, received -5",
  });
  await rejects(gather(new Set([future]) as never), {
    name: "TypeError",
    message: "Cannot gather: futures must be an array, received a Set",
  });
  await rejects(gather([], { settle: "yes" } as never), {
    name: "TypeError",
    message: 'Cannot gather: settle must be a boolean, received "yes"',
  });
  await rejects(gather([], { timeoutMs: 5 } as never), {
    name: "TypeError",
    message: 'Cannot gather: unknown option "timeoutMs"',
  });
});

// ---------------------------------------------------------------------------------------------
// asCompleted.
// ---------------------------------------------------------------------------------------------

Deno.test("asCompleted yields futures in the order they settle, settled ones first", async () => {
  await withClock(async (clock) => {
    const [a, b, c, d] = labelled<number>("a", "b", "c", "d");
    d.resolve(0); // settled before the call
    setTimeout(() => c.resolve(3), 10);
    setTimeout(() => a.reject(new Error("a failed")), 20);
    setTimeout(() => b.future.cancel(), 30);
    const order: string[] = [];
    const iterating = (async () => {
      for await (const done of asCompleted([a.future, b.future, c.future, d.future])) {
        const future = Future.from(done);
        order.push(`${future.label}:${future.status}`);
      }
    })();
    await clock.tickAsync(30);
    await iterating;
    deepEqual(order, ["d:done", "c:done", "a:failed", "b:cancelled"]);
    equal(clock.countTimers(), 0);
  });
});

Deno.test("asCompleted collects what settles while the consumer is busy", async () => {
  const [a, b, c] = labelled<number>("a", "b", "c");
  const iterator = asCompleted([a.future, b.future, c.future]);
  b.resolve(2);
  c.resolve(3);
  a.resolve(1);
  const order: string[] = [];
  for await (const done of iterator) order.push(Future.from(done).label);
  deepEqual(order, ["b", "c", "a"]);
});

Deno.test("asCompleted answers concurrent next() calls in settle order", async () => {
  const [a, b] = labelled<number>("a", "b");
  const iterator = asCompleted([a.future, b.future]);
  const first = iterator.next();
  const second = iterator.next();
  const third = iterator.next();
  b.resolve(2);
  a.resolve(1);
  equal((await first).value?.label, "b");
  equal((await second).value?.label, "a");
  deepEqual(await third, { done: true, value: undefined });
});

Deno.test("asCompleted yields a repeated future once and wraps plain promises", async () => {
  const { future, resolve } = Future.create<number>({ label: "f" });
  const { promise, resolve: resolvePromise } = Promise.withResolvers<number>();
  const seen: Future<number>[] = [];
  const iterating = (async () => {
    for await (const done of asCompleted([future, promise, future, promise, 5])) {
      seen.push(Future.from(done));
    }
  })();
  await flush();
  resolvePromise(2);
  await flush();
  resolve(1);
  await iterating;
  equal(seen.length, 3);
  equal(await seen[0], 5); // a plain value is done from the start
  equal(seen[1], Future.from(promise));
  equal(seen[2], future);
});

Deno.test("asCompleted of nothing ends at once", async () => {
  const iterator = asCompleted([]);
  deepEqual(await iterator.next(), { done: true, value: undefined });
  deepEqual(await iterator.next(), { done: true, value: undefined });
});

Deno.test("asCompleted throws TimeoutError past its timeout, after what settled in time", async () => {
  await withClock(async (clock) => {
    const [fast, slow] = labelled<number>("fast", "slow");
    setTimeout(() => fast.resolve(1), 50);
    setTimeout(() => slow.resolve(2), 500);
    const seen: string[] = [];
    const iterating = track((async () => {
      for await (const done of asCompleted([fast.future, slow.future], { timeoutMs: 100 })) {
        seen.push(Future.from(done).label);
      }
    })());
    await clock.tickAsync(99);
    equal(state(iterating).status, "pending");
    await clock.tickAsync(1);
    assert(state(iterating).status === "rejected");
    const error = rejected(iterating);
    assert(error instanceof TimeoutError);
    equal(error.message, "Timed out after 100 ms waiting for futures to complete");
    deepEqual(seen, ["fast"]);
    equal(clock.countTimers(), 1); // only the slow task's own timer
    await clock.tickAsync(400);
    equal(slow.future.status, "done");
  });
});

Deno.test("asCompleted counts its timeout from the call, and yields what is ready first", async () => {
  await withClock(async (clock) => {
    const [a, b] = labelled<number>("a", "b");
    const iterator = asCompleted([a.future, b.future], { timeoutMs: 100 });
    a.resolve(1);
    clock.tick(150); // no next() pending: no timer armed
    equal(clock.countTimers(), 0);
    equal((await iterator.next()).value?.label, "a");
    await rejects(iterator.next(), { name: "TimeoutError" });
    deepEqual(await iterator.next(), { done: true, value: undefined });
  });
});

Deno.test("breaking out of asCompleted early leaves no timer, listener or subscription", async () => {
  await withClock(async (clock) => {
    const { controller, listeners } = countingController();
    const [a, b, c] = labelled<number>("a", "b", "c");
    a.resolve(1);
    const iterator = asCompleted([a.future, b.future, c.future], {
      timeoutMs: 1_000,
      signal: controller.signal,
    });
    for await (const done of iterator) {
      equal(Future.from(done).label, "a");
      break;
    }
    equal(clock.countTimers(), 0);
    equal(listeners(), 0);
    deepEqual(await iterator.next(), { done: true, value: undefined });
    b.resolve(2); // nobody listens any more
    deepEqual(await iterator.next(), { done: true, value: undefined });

    // A return() while a next() waits ends that next() too.
    const second = asCompleted([c.future], { timeoutMs: 1_000, signal: controller.signal });
    const waiting = second.next();
    equal(clock.countTimers(), 1);
    equal(listeners(), 1);
    await second.return!();
    deepEqual(await waiting, { done: true, value: undefined });
    equal(clock.countTimers(), 0);
    equal(listeners(), 0);
  });
});

Deno.test("aborting asCompleted rejects the waiting step with the signal's reason", async () => {
  await withClock(async (clock) => {
    const { controller, listeners } = countingController();
    const [a] = labelled<number>("a");
    const iterator = asCompleted([a.future], { timeoutMs: 1_000, signal: controller.signal });
    const waiting = iterator.next();
    controller.abort(new Error("stop"));
    await rejects(waiting, { message: "stop" });
    equal(clock.countTimers(), 0);
    equal(listeners(), 0);
    deepEqual(await iterator.next(), { done: true, value: undefined });

    const already = asCompleted([Future.from(1)], { signal: controller.signal });
    await rejects(already.next(), { message: "stop" });
  });
});

// ---------------------------------------------------------------------------------------------
// wait.
// ---------------------------------------------------------------------------------------------

Deno.test("seed 000: tasks of 1 to 5 s and a timeout of 3 s leave 3 done and 2 pending", async () => {
  await withClock(async (clock) => {
    const tasks = [1, 2, 3, 4, 5].map((s) => sleep(s * 1_000, s));
    const waiting = track(wait(tasks, { timeoutMs: 3_000 }));
    await clock.tickAsync(2_999);
    equal(state(waiting).status, "pending");
    await clock.tickAsync(1);
    assert(state(waiting).status === "fulfilled");
    const { done, pending } = fulfilled(waiting);
    equal(done.size, 3);
    equal(pending.size, 2);
    deepEqual(await Promise.all([...done]), [1, 2, 3]); // in completion order
    for (const task of tasks.slice(0, 3)) assert(done.has(Future.from(task)));
    for (const task of tasks.slice(3)) assert(pending.has(Future.from(task)));
    equal(clock.countTimers(), 2); // the wait's own timer is gone
    await clock.tickAsync(2_000);
  });
});

Deno.test("wait for all_completed returns once every future has settled", async () => {
  await withClock(async (clock) => {
    const [a, b, c] = labelled<number>("a", "b", "c");
    setTimeout(() => c.resolve(3), 10);
    setTimeout(() => a.reject(new Error("a")), 20);
    setTimeout(() => b.future.cancel(), 30);
    const waiting = track(wait([a.future, b.future, c.future], { timeoutMs: 1_000 }));
    await clock.tickAsync(29);
    equal(state(waiting).status, "pending");
    await clock.tickAsync(1);
    assert(state(waiting).status === "fulfilled");
    deepEqual(labels(fulfilled(waiting).done), ["c", "a", "b"]);
    equal(fulfilled(waiting).pending.size, 0);
    equal(clock.countTimers(), 0);
  });
});

Deno.test("wait for first_completed returns at the first settle, or at once if one is done", async () => {
  await withClock(async (clock) => {
    const [a, b, c] = labelled<number>("a", "b", "c");
    setTimeout(() => b.resolve(2), 40);
    const waiting = track(wait([a.future, b.future, c.future], {
      returnWhen: "first_completed",
      timeoutMs: 100,
    }));
    await clock.tickAsync(40);
    assert(state(waiting).status === "fulfilled");
    deepEqual(labels(fulfilled(waiting).done), ["b"]);
    deepEqual(labels(fulfilled(waiting).pending), ["a", "c"]);
    equal(clock.countTimers(), 0);

    const again = await wait([a.future, b.future], { returnWhen: "first_completed" });
    deepEqual(labels(again.done), ["b"]);
    deepEqual(labels(again.pending), ["a"]);

    const timedOut = track(wait([a.future, c.future], {
      returnWhen: "first_completed",
      timeoutMs: 100,
    }));
    await clock.tickAsync(100);
    assert(state(timedOut).status === "fulfilled");
    equal(fulfilled(timedOut).done.size, 0);
    deepEqual(labels(fulfilled(timedOut).pending), ["a", "c"]);
  });
});

Deno.test("wait for first_exception returns at the first failure, not at a cancel", async () => {
  await withClock(async (clock) => {
    const [a, b, c, d] = labelled<number>("a", "b", "c", "d");
    setTimeout(() => a.resolve(1), 10);
    setTimeout(() => b.future.cancel(), 20);
    setTimeout(() => c.reject(new Error("c failed")), 30);
    const waiting = track(wait([a.future, b.future, c.future, d.future], {
      returnWhen: "first_exception",
      timeoutMs: 1_000,
    }));
    await clock.tickAsync(29);
    equal(state(waiting).status, "pending");
    await clock.tickAsync(1);
    assert(state(waiting).status === "fulfilled");
    deepEqual(labels(fulfilled(waiting).done), ["a", "b", "c"]);
    deepEqual(labels(fulfilled(waiting).pending), ["d"]);
    equal(clock.countTimers(), 0);

    // A failure already there returns at once.
    const again = await wait([d.future, c.future], { returnWhen: "first_exception" });
    deepEqual(labels(again.done), ["c"]);

    // No failure at all: it waits for every future, as all_completed.
    const [e, f] = labelled<number>("e", "f");
    setTimeout(() => e.resolve(1), 10);
    setTimeout(() => f.resolve(2), 20);
    const clean = track(wait([e.future, f.future], { returnWhen: "first_exception" }));
    await clock.tickAsync(10);
    equal(state(clean).status, "pending");
    await clock.tickAsync(10);
    assert(state(clean).status === "fulfilled");
    deepEqual(labels(fulfilled(clean).done), ["e", "f"]);
  });
});

Deno.test("wait returns at once for no futures, or with timeoutMs 0", async () => {
  const empty = await wait([], { returnWhen: "first_completed" });
  equal(empty.done.size, 0);
  equal(empty.pending.size, 0);
  const [a, b] = labelled<number>("a", "b");
  a.resolve(1);
  const now = await wait([a.future, b.future, a.future], { timeoutMs: 0 });
  deepEqual(labels(now.done), ["a"]);
  deepEqual(labels(now.pending), ["b"]);
});

Deno.test("aborting wait rejects with the reason and leaves no timer or listener", async () => {
  await withClock(async (clock) => {
    const { controller, listeners } = countingController();
    const [a] = labelled<number>("a");
    const waiting = wait([a.future], { timeoutMs: 1_000, signal: controller.signal });
    equal(clock.countTimers(), 1);
    equal(listeners(), 1);
    controller.abort(new Error("enough"));
    await rejects(waiting, { message: "enough" });
    equal(clock.countTimers(), 0);
    equal(listeners(), 0);
    await rejects(wait([a.future], { signal: controller.signal }), { message: "enough" });
  });
});

// ---------------------------------------------------------------------------------------------
// gather.
// ---------------------------------------------------------------------------------------------

Deno.test("gather resolves with values in input order, whatever order they settle in", async () => {
  await withClock(async (clock) => {
    const [a, b] = labelled<number>("a", "b");
    setTimeout(() => a.resolve(1), 30);
    setTimeout(() => b.resolve(2), 10);
    const gathering = track(gather([a.future, sleep(20, "three"), b.future, true]));
    await clock.tickAsync(30);
    assert(state(gathering).status === "fulfilled");
    const [one, three, two, yes]: [number, string, number, boolean] = fulfilled(gathering);
    deepEqual([one, three, two, yes], [1, "three", 2, true]);
    deepEqual(await gather([]), []);
  });
});

Deno.test("gather rejects with the first error while the others keep going", async () => {
  await withClock(async (clock) => {
    const [a, b, c] = labelled<number>("a", "b", "c");
    setTimeout(() => b.reject(new Error("b first")), 10);
    setTimeout(() => c.reject(new Error("c second")), 20);
    setTimeout(() => a.resolve(1), 30);
    const gathering = track(gather([a.future, b.future, c.future]));
    await clock.tickAsync(10);
    assert(state(gathering).status === "rejected");
    equal((rejected(gathering) as Error).message, "b first");
    await clock.tickAsync(20);
    equal(a.future.status, "done");

    const [d] = labelled<number>("d");
    d.future.cancel();
    await rejects(gather([d.future, Promise.resolve(1)]), { name: "CancelledError" });
  });
});

Deno.test("gather with settle gives results and errors and never rejects", async () => {
  const [a, b, c] = labelled<number>("a", "b", "c");
  a.resolve(1);
  const error = new Error("b");
  b.reject(error);
  c.future.cancel();
  const results = await gather([a.future, b.future, c.future, Promise.reject(7), "x"], {
    settle: true,
  });
  deepEqual(results.map((result) => result.status), [
    "fulfilled",
    "rejected",
    "rejected",
    "rejected",
    "fulfilled",
  ]);
  deepEqual(results[0], { status: "fulfilled", value: 1 });
  deepEqual(results[1], { status: "rejected", reason: error });
  assert(results[2].status === "rejected" && results[2].reason instanceof CancelledError);
  deepEqual(results[3], { status: "rejected", reason: 7 });
  deepEqual(results[4], { status: "fulfilled", value: "x" });
});

// ---------------------------------------------------------------------------------------------
// Plain promises mixed with futures.
// ---------------------------------------------------------------------------------------------

Deno.test("plain promises and futures mix in wait and asCompleted, mapped back by Future.from", async () => {
  await withClock(async (clock) => {
    const [f] = labelled<number>("f");
    setTimeout(() => f.resolve(2), 20);
    const p1 = sleep(10, 1);
    const p3 = sleep(30, 3);
    const order: number[] = [];
    const iterating = (async () => {
      for await (const done of asCompleted([p3, f.future, p1])) order.push(await done);
    })();
    const waiting = wait([p1, f.future, p3], { returnWhen: "first_completed" });
    await clock.tickAsync(30);
    await iterating;
    deepEqual(order, [1, 2, 3]);
    const { done, pending } = await waiting;
    assert(done.has(Future.from(p1)));
    assert(pending.has(f.future));
    assert(pending.has(Future.from(p3)));
  });
});

// ---------------------------------------------------------------------------------------------
// Property: any futures, settled in any order at any time.
// ---------------------------------------------------------------------------------------------

type Outcome = "done" | "failed" | "cancelled";

const plan = fc.array(
  fc.record({
    // -1: settled before the call.
    at: fc.integer({ min: -1, max: 50 }),
    outcome: fc.constantFrom<Outcome>("done", "failed", "cancelled"),
    running: fc.boolean(),
  }),
  { minLength: 0, maxLength: 10 },
);

Deno.test("asCompleted yields each future once in settle order, and wait(all_completed) gets them all", async () => {
  await fc.assert(
    fc.asyncProperty(plan, fc.array(fc.nat(), { maxLength: 5 }), async (steps, repeats) => {
      await withClock(async (clock) => {
        const controllers = steps.map((_, i) => Future.create<number>({ label: `f${i}` }));
        const settle = (i: number) => {
          const { future, start, resolve, reject, cancelled } = controllers[i];
          if (steps[i].running) start();
          if (steps[i].outcome === "done") resolve(i);
          else if (steps[i].outcome === "failed") reject(new Error(`f${i}`));
          else if (steps[i].running) {
            future.cancel();
            cancelled();
          } else future.cancel();
        };
        const expected: string[] = [];
        steps.forEach((step, i) => {
          if (step.at === -1) {
            settle(i);
            expected.push(`f${i}`);
          }
        });
        const timed = steps.map((step, i) => ({ ...step, i })).filter((step) => step.at >= 0);
        timed.sort((x, y) => x.at - y.at || x.i - y.i);
        for (const step of timed) expected.push(`f${step.i}`);
        steps.forEach((step, i) => {
          if (step.at >= 0) setTimeout(() => settle(i), step.at);
        });

        const inputs = controllers.map((c) => c.future);
        for (const r of repeats) if (inputs.length > 0) inputs.push(inputs[r % inputs.length]);
        const seen: string[] = [];
        const iterating = (async () => {
          for await (const done of asCompleted(inputs)) seen.push(Future.from(done).label);
        })();
        const waiting = wait(inputs);
        await clock.tickAsync(51);
        await iterating;
        const { done, pending } = await waiting;
        deepEqual(seen, expected);
        deepEqual(labels(done), expected);
        equal(pending.size, 0);
        equal(clock.countTimers(), 0);
        for (const { future } of controllers) {
          equal(future.status, steps[controllers.findIndex((c) => c.future === future)].outcome);
        }
      });
    }),
    { numRuns: 150 },
  );
});
