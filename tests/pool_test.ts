import { deepEqual, equal, fail, ok as assert, rejects } from "node:assert/strict";
import {
  ActorCrashedError,
  asCompleted,
  CancelledError,
  mapReduce,
  Pool,
  sharedArray,
  TimeoutError,
  wait,
} from "../mod.ts";
import { SharedEvent, SharedQueue } from "../mailbox/mod.ts";
import type * as Tasks from "./fixtures/tasks.ts";
import { test, waitForFlag } from "./_helpers.ts";

const TASKS = new URL("./fixtures/tasks.ts", import.meta.url);

function start(options: Parameters<typeof Pool.start>[1] = {}) {
  return Pool.start<typeof Tasks>(TASKS, { size: 2, ...options });
}

test("map returns results in input order, in chunks", async () => {
  await using pool = await start();
  deepEqual(await pool.map("square", [0, 1, 2, 3, 4, 5]), [0, 1, 4, 9, 16, 25]);
  const many = Array.from({ length: 10_000 }, (_, i) => i);
  deepEqual(await pool.map("square", many), many.map((x) => x * x));
  deepEqual(await pool.map("square", []), []);
});

test("submit returns a future: awaitable, with status and result", async () => {
  await using pool = await start();
  const future = pool.submit("add", 2, 3);
  equal(await future, 5);
  equal(future.status, "done");
  equal(await future.result({ timeoutMs: 10 }), 5);
});

test("mapUnordered yields in completion order", async () => {
  // One task per worker; each finishes when the test opens its gate: 1 first, then 2, then 0.
  await using pool = await start({ size: 3, maxInFlight: 1 });
  const { job, open } = gates(3);
  const next = new Map([[1, 2], [2, 0]]);
  const seen: number[] = [];
  open(1);
  for await (const index of pool.mapUnordered("gate", [0, 1, 2].map(job), { chunkSize: 1 })) {
    seen.push(index);
    if (next.has(index)) open(next.get(index)!);
  }
  deepEqual(seen, [1, 2, 0]);
});

test("a task's error reaches the caller with its class, fields and cause", async () => {
  await using pool = await start();
  const error = await pool.submit("risky", 0.25).then(
    () => fail("should reject"),
    (e: unknown) => e as Error & { roll: number },
  );
  equal(error.name, "BadLuck");
  equal(error.message, "Bad luck!");
  equal(error.roll, 0.25);
  await rejects(pool.submit("typeFail"), (e: unknown) => {
    assert(e instanceof TypeError);
    equal((e.cause as Error).message, "inner");
    return true;
  });
  equal(await pool.submit("risky", 0.75), 0.75, "a task error leaves the worker serving");
});

test("a task whose worker dies fails with ActorCrashedError; the pool keeps its size", async () => {
  await using pool = await start();
  await rejects(pool.submit("die"), ActorCrashedError);
  equal(pool.size, 2);
  deepEqual(await pool.map("square", [1, 2, 3, 4]), [1, 4, 9, 16]);
});

test("retries run a task again after its worker died", async () => {
  await using pool = await start({ retries: 1 });
  const counters = new Int32Array(new SharedArrayBuffer(8));
  equal(await pool.submit("dieOnce", counters, 0), "survived");
  equal(Atomics.load(counters, 0), 2);
});

test("cancelling a queued task removes it", async () => {
  await using pool = await start({ size: 1, maxInFlight: 1 });
  const first = pool.submit("sleepy", 100);
  const second = pool.submit("square", 3);
  equal(second.status, "pending");
  equal(second.cancel(), true);
  equal(second.status, "cancelled");
  await rejects(second.result(), CancelledError);
  equal(await first, 100);
  equal(pool.stats().replaced, 0);
});

test("cancelling a running task aborts its signal inside the worker", async () => {
  await using pool = await start({ size: 1 });
  const started = new Int32Array(new SharedArrayBuffer(4));
  const task = pool.submit("cancellable", 30_000, started);
  await waitForFlag(started); // running in the worker, not merely queued there
  equal(task.status, "running");
  const before = performance.now();
  assert(task.cancel());
  await rejects(task.result(), CancelledError);
  assert(performance.now() - before < 5_000);
  equal(pool.stats().replaced, 0, "a cooperative task keeps its worker");
  equal(await pool.submit("square", 4), 16);
});

test("a running task that ignores its cancellation gets its worker replaced; only it fails", async () => {
  await using pool = await start({ size: 1, cancelGraceMs: 100 });
  const started = new Int32Array(new SharedArrayBuffer(4));
  const stubborn = pool.submit("stubborn", 30_000, started);
  const queuedBehind = pool.submit("square", 5);
  await waitForFlag(started); // running: a task cancelled before it starts is merely skipped
  stubborn.cancel();
  await rejects(stubborn.result(), CancelledError);
  equal(await queuedBehind, 25, "the task held by the same worker runs again");
  equal(pool.stats().replaced, 1);
  equal(pool.size, 1);
});

test("taskTimeoutMs counts from when a task starts, not from when it was queued", async () => {
  await using pool = await start({ size: 1, taskTimeoutMs: 1_000, cancelGraceMs: 100 });
  // Three 400 ms tasks on one worker finish 1,200 ms after submission, each within its own
  // 1,000 ms (a margin that a loaded machine does not eat).
  deepEqual(await Promise.all([1, 2, 3].map(() => pool.submit("sleepy", 400))), [400, 400, 400]);
  await rejects(pool.submit("stubborn", 10_000).result(), (error: unknown) => {
    assert(error instanceof TimeoutError);
    equal(error.timeoutMs, 1_000);
    return true;
  });
  equal(await pool.submit("square", 6), 36);
});

/** Gates that tasks of `gate` wait on: the test opens them in the order it wants them done. */
function gates(count: number) {
  const slots = new Int32Array(new SharedArrayBuffer(4 * count));
  return {
    job: (index: number) => ({ gates: slots, index }),
    open(index: number) {
      Atomics.store(slots, index, 1);
      Atomics.notify(slots, index);
    },
  };
}

test("asCompleted and wait work on pool futures (seed 003 and 000)", async () => {
  await using pool = await start({ size: 3, maxInFlight: 1 });
  const first = gates(3);
  const futures = [0, 1, 2].map((index) => pool.submit("gate", first.job(index)));
  const next = new Map([[1, 2], [2, 0]]);
  const order: number[] = [];
  first.open(1);
  for await (const done of asCompleted(futures)) {
    const index = await done;
    order.push(index);
    if (next.has(index)) first.open(next.get(index)!);
  }
  deepEqual(order, [1, 2, 0]);
  const second = gates(3);
  const slow = [0, 1, 2].map((index) => pool.submit("gate", second.job(index)));
  second.open(0);
  second.open(1);
  await Promise.all([slow[0], slow[1]]);
  const { done, pending } = await wait(slow, { timeoutMs: 50 });
  equal(done.size, 2);
  equal(pending.size, 1);
  assert(pending.has(slow[2]));
  second.open(2);
  equal(await slow[2], 2);
});

test("reduce finds the max of a shared array with the built-in kernel, or a module function", async () => {
  await using pool = await start();
  const data = sharedArray(Float64Array, 100_001);
  for (let i = 0; i < data.length; i++) data[i] = Math.sin(i) * 1000;
  data[77_777] = 5_000;
  let expected = -Infinity;
  for (const x of data) expected = Math.max(expected, x);
  equal(await pool.reduce("max", data, { chunks: 8 }), expected);
  let sum = 0;
  for (const x of data) sum += x;
  const viaModule = await pool.reduce<number>("sumView", data, { combine: (a, b) => a + b });
  assert(Math.abs(viaModule - sum) < 1e-6, `${viaModule} vs ${sum}`);
  await rejects(pool.reduce("max", new Float64Array(4)), {
    name: "TypeError",
    message: 'Cannot reduce "max": data must be a typed array over a SharedArrayBuffer',
  });
});

test("mapReduce collects every mapped result on the caller's thread", async () => {
  await using pool = await start();
  const results: number[] = [];
  const count = await mapReduce(pool, "square", [1, 2, 3, 4, 5], (result) => {
    results.push(result);
  });
  equal(count, 5);
  deepEqual(results.sort((a, b) => a - b), [1, 4, 9, 16, 25]);
});

test("close lets queued tasks finish; terminate cancels them", async () => {
  const pool = await start({ size: 1, maxInFlight: 1 });
  const tasks = [30, 30, 30].map((ms) => pool.submit("sleepy", ms));
  await pool.close();
  deepEqual(await Promise.all(tasks), [30, 30, 30]);
  await rejects(() => Promise.resolve().then(() => pool.submit("square", 1)), {
    name: "TypeError",
    message: 'Cannot submit "square": the pool is closing',
  });
  const other = await start({ size: 1, maxInFlight: 1 });
  const running = other.submit("sleepy", 50);
  const queued = other.submit("sleepy", 50);
  await other.terminate();
  equal(queued.status, "cancelled");
  await rejects(running.result());
});

test("pool options are validated", async () => {
  await rejects(start({ size: 0 }), {
    name: "RangeError",
    message: "Cannot start pool: size must be a positive integer, received 0",
  });
  await rejects(Pool.start("not a url"), {
    name: "TypeError",
    message: "Cannot start pool: module must be a URL, received not a url",
  });
  await rejects(start({ retries: -1 }), {
    name: "RangeError",
    message: "Cannot start pool: retries must be a non-negative integer, received -1",
  });
  await rejects(start({ maxInFlight: 600 }), {
    name: "RangeError",
    message: "Cannot start pool: maxInFlight must be at most 512, received 600",
  });
  await rejects(start({ taskTimeoutMs: 0 }), {
    name: "RangeError",
    message: "Cannot start pool: taskTimeoutMs must be positive, received 0",
  });
  await rejects(start({ cancelGraceMs: "1" as never }), {
    name: "TypeError",
    message: 'Cannot start pool: cancelGraceMs must be a number, received "1"',
  });
  await rejects(start({ name: "a b" }), {
    name: "TypeError",
    message: 'Cannot start pool: name must use letters, digits, _ . : - only, received "a b"',
  });
  await rejects(start({ sise: 2 } as never), {
    name: "TypeError",
    message: 'Cannot start pool: unknown option "sise"',
  });
});

test("map, mapUnordered and reduce options are validated", async () => {
  await using pool = await start({ size: 1 });
  await rejects(pool.map("square", [1], { chunkSize: 0 }), {
    name: "RangeError",
    message: 'Cannot map "square": chunkSize must be a positive integer, received 0',
  });
  await rejects(pool.mapUnordered("square", [1], { signal: {} as never }).next(), {
    name: "TypeError",
    message: 'Cannot map "square": signal must be an AbortSignal, received an object',
  });
  await rejects(pool.reduce("max", sharedArray(Float64Array, 4), { chunks: 1.5 }), {
    name: "RangeError",
    message: 'Cannot reduce "max": chunks must be a positive integer, received 1.5',
  });
});

test("many small tasks ride in batches and each gets its own result", async () => {
  await using pool = await start({ taskTimeoutMs: undefined, maxInFlight: undefined });
  const warm = await Promise.all(Array.from({ length: 50 }, (_, i) => pool.submit("add", i, i)));
  deepEqual(warm, Array.from({ length: 50 }, (_, i) => 2 * i));
  const futures = Array.from({ length: 2_000 }, (_, i) => pool.submit("add", i, 1));
  deepEqual(await Promise.all(futures), Array.from({ length: 2_000 }, (_, i) => i + 1));
  const failing = [pool.submit("add", 1, 1), pool.submit("risky", 0.1), pool.submit("add", 2, 2)];
  const settled = await Promise.allSettled(failing);
  deepEqual(settled.map((s) => s.status), ["fulfilled", "rejected", "fulfilled"]);
  equal(pool.stats().completed, 2_053);
});

test("a SharedEvent passed to submit or map arrives as a SharedEvent", async () => {
  await using pool = await start();
  const event = new SharedEvent();
  equal(await pool.submit("setEvent", event), true);
  equal(event.isSet(), true);
  const jobs = [1, 2, 3].map((id) => ({ id, done: new SharedEvent() }));
  deepEqual(await pool.map("setJobEvent", jobs), [1, 2, 3]);
  deepEqual(jobs.map((job) => job.done.isSet()), [true, true, true]);
});

test("a SharedQueue passed to submit arrives as a SharedQueue", async () => {
  await using pool = await start();
  const queue = new SharedQueue<number>({ capacity: 8 });
  equal(await pool.submit("putAll", queue, [1, 2, 3]), true);
  deepEqual([queue.tryGet(), queue.tryGet(), queue.tryGet()], [
    { ok: true, value: 1 },
    { ok: true, value: 2 },
    { ok: true, value: 3 },
  ]);
});

test("a shared array passed to submit arrives shared, with its WebAssembly memory", async () => {
  await using pool = await start();
  const data = sharedArray(Float64Array, 10_000); // 64 KiB or more: in a WebAssembly memory
  deepEqual(await pool.submit("fillShared", data.subarray(5_000), 7), [true, true]);
  equal(data[4_999], 0);
  equal(data[9_999], 7);
  const small = sharedArray(Float64Array, 10); // a plain SharedArrayBuffer
  deepEqual(await pool.submit("fillShared", small, 1), [true, false]);
  equal(small[9], 1);
});

/** Six gated jobs sharing one event and one log, and a wait until `n` of them have started. */
function gatedJobs() {
  const open = new SharedEvent();
  const log = new Int32Array(new SharedArrayBuffer(12));
  const jobs: Tasks.GatedJob[] = Array.from({ length: 6 }, () => ({ open, log }));
  const started = async (n: number) => {
    for (let seen = Atomics.load(log, 0); seen < n; seen = Atomics.load(log, 0)) {
      await Atomics.waitAsync(log, 0, seen).value;
    }
  };
  return { open, log, jobs, started };
}

test("aborting map rejects at once; queued tasks are cancelled, running ones finish", async () => {
  await using pool = await start();
  await rejects(pool.map("square", [1], { signal: AbortSignal.abort(new Error("early")) }), {
    message: "early",
  });
  const { open, log, jobs, started } = gatedJobs();
  const controller = new AbortController();
  const mapped = pool.map("gated", jobs, { chunkSize: 1, signal: controller.signal });
  await started(2);
  controller.abort(new Error("enough"));
  await rejects(mapped, { message: "enough" });
  deepEqual([...log], [2, 0, 0], "the two running tasks are still waiting, not aborted");
  open.set();
  await pool.close();
  deepEqual([...log], [2, 2, 0], "they finished; the four queued ones never started");
});

test("mapUnordered yields what a slow source gave, and aborts, while the source waits", async () => {
  await using pool = await start();
  const waiting = Promise.withResolvers<void>();
  const release = Promise.withResolvers<void>();
  async function* source() {
    yield 2;
    waiting.resolve();
    await release.promise; // a stream whose next item is slow to come
    yield 3;
  }
  const controller = new AbortController();
  const results = pool.mapUnordered("square", source(), { signal: controller.signal });
  // A bound only for the failure: the result of 2 comes as soon as a worker has squared it.
  const bound = Promise.withResolvers<never>();
  const timer = setTimeout(
    () => bound.reject(new Error("no result while the source waits")),
    10_000,
  );
  try {
    deepEqual(await Promise.race([results.next(), bound.promise]), { done: false, value: 4 });
    await waiting.promise;
    const next = results.next();
    controller.abort(new Error("enough"));
    await rejects(Promise.race([next, bound.promise]), { message: "enough" });
  } finally {
    clearTimeout(timer);
    release.resolve();
  }
  deepEqual(await results.next(), { done: true, value: undefined });
});

test("aborting mapUnordered ends the iteration at once, while no result arrives", async () => {
  await using pool = await start();
  const { open, log, jobs, started } = gatedJobs();
  const controller = new AbortController();
  const seen: string[] = [];
  const iterating = (async () => {
    for await (const result of pool.mapUnordered("gated", jobs, { signal: controller.signal })) {
      seen.push(result);
    }
  })();
  await started(2);
  controller.abort(new Error("enough"));
  await rejects(iterating, { message: "enough" });
  deepEqual(seen, []);
  deepEqual([...log], [2, 0, 0], "the two running tasks are still waiting, not aborted");
  open.set();
  await pool.close();
  deepEqual([...log], [2, 2, 0], "they finished; the queued ones never started");
});
