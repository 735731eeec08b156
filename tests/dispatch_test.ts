import { deepEqual, equal, ok } from "node:assert/strict";
import { ActorCrashedError, TimeoutError } from "../errors.ts";
import {
  type BatchPayload,
  Dispatcher,
  type DispatchOptions,
  type Kind,
  type WorkerLink,
} from "../patterns/_dispatch.ts";
import { CANCEL_SLOTS, type TaskOutcome } from "../patterns/_pool_worker.ts";
import { flush, type State, test, track, withClock } from "./_helpers.ts";

/** One ask a fake worker received, settled by the test. */
interface Call {
  readonly kind: Kind | "batch";
  readonly tasks: number[];
  readonly payload: Record<string, unknown> | BatchPayload;
  answer(outcomes: TaskOutcome[]): void;
  die(error: unknown): void;
}

/** A fake worker: it records asks and answers nothing until told to. */
class FakeWorker implements WorkerLink {
  readonly calls: Call[] = [];
  stopped = false;
  constructor(readonly index: number, readonly cancels: Int32Array<SharedArrayBuffer>) {}

  ask(kind: Kind, payload: Record<string, unknown>): Promise<TaskOutcome> {
    return new Promise((resolve, reject) => {
      this.calls.push({
        kind,
        tasks: [payload.task as number],
        payload,
        answer: (outcomes) => resolve(outcomes[0]),
        die: reject,
      });
    });
  }

  batch(payload: BatchPayload): Promise<TaskOutcome[]> {
    return new Promise((resolve, reject) => {
      this.calls.push({
        kind: "batch",
        tasks: payload.tasks,
        payload,
        answer: resolve,
        die: reject,
      });
    });
  }

  stop(): Promise<void> {
    this.stopped = true;
    for (const call of this.calls) call.die(new Error("stopped"));
    return Promise.resolve();
  }
}

const OPTIONS: DispatchOptions = {
  retries: 0,
  taskTimeoutMs: Infinity,
  cancelGraceMs: 1_000,
  maxInFlight: 8,
  name: "pool",
};

async function dispatcher(size: number, options: Partial<DispatchOptions> = {}) {
  const workers: FakeWorker[] = [];
  const dispatch = new Dispatcher({ ...OPTIONS, ...options }, (index, cancels) => {
    const worker = new FakeWorker(index, cancels);
    workers.push(worker);
    return Promise.resolve(worker);
  });
  for (let i = 0; i < size; i++) await dispatch.spawn(i);
  return { dispatch, workers };
}

const ok1 = (value: unknown): TaskOutcome => ({ ok: true, value });

test("while tasks are long, each worker holds one and a free worker takes the next", async () => {
  await withClock(async (clock) => {
    const { dispatch, workers } = await dispatcher(2);
    const futures = [1, 2, 3, 4].map((n) =>
      dispatch.submit("run", { fn: "f", args: [n] }, `t${n}`)
    );
    await flush();
    deepEqual(workers.map((w) => w.calls.map((c) => c.tasks)), [[[1]], [[2]]]);
    deepEqual(futures.map((f) => f.status), ["running", "running", "pending", "pending"]);
    clock.tick(5); // 5 ms a task: long
    workers[1].calls[0].answer([ok1("two")]);
    await flush();
    equal(await futures[1], "two");
    deepEqual(workers[1].calls.map((c) => c.tasks), [[2], [3]], "the free worker took task 3");
    deepEqual(dispatch.stats(), { size: 2, queued: 1, inFlight: 2, completed: 1, replaced: 0 });
  });
});

test("once tasks prove short, tasks submitted together travel in one batch per worker", async () => {
  await withClock(async () => {
    const { dispatch, workers } = await dispatcher(1);
    const first = dispatch.submit("run", { fn: "f", args: [0] }, "t0");
    await flush();
    workers[0].calls[0].answer([ok1(0)]); // ran in 0 ms: short
    await first;
    const futures = Array.from(
      { length: 6 },
      (_, i) => dispatch.submit("run", { fn: "f", args: [i] }, `t${i}`),
    );
    await flush();
    // maxInFlight 8: batches of at most half of it, so that the worker never idles between them.
    deepEqual(workers[0].calls.slice(1).map((c) => [c.kind, c.tasks]), [
      ["batch", [2, 3, 4, 5]],
      ["batch", [6, 7]],
    ]);
    deepEqual((workers[0].calls[1].payload as BatchPayload).args, [[0], [1], [2], [3]]);
    workers[0].calls[1].answer([ok1("a"), { ok: false, cancelled: true }, ok1("c"), ok1("d")]);
    await flush();
    deepEqual(futures.slice(0, 4).map((f) => f.status), ["done", "cancelled", "done", "done"]);
  });
});

test("taskTimeoutMs counts from the start; past the grace the worker is replaced", async () => {
  await withClock(async (clock) => {
    const { dispatch, workers } = await dispatcher(1, { taskTimeoutMs: 100, cancelGraceMs: 50 });
    const slow = track(dispatch.submit("run", { fn: "f", args: [] }, "slow"));
    const next = dispatch.submit("run", { fn: "f", args: [] }, "next");
    await flush();
    clock.tick(99);
    await flush();
    equal(slow.current.status, "pending");
    clock.tick(1);
    await flush();
    const state = slow.current as State<unknown>;
    const timedOut = state.status === "rejected" ? state.reason : undefined;
    ok(timedOut instanceof TimeoutError, "the task times out");
    equal(Atomics.load(workers[0].cancels, 1 % CANCEL_SLOTS), 1, "its worker is told to abort it");
    equal(next.status, "pending", "the next task waits: the worker is still busy");
    clock.tick(50);
    await flush();
    equal(workers[0].stopped, true, "the task ignored its signal: the worker is replaced");
    equal(workers.length, 2);
    deepEqual(workers[1].calls.map((c) => c.tasks), [[2]], "the next task runs on the new one");
    equal(dispatch.stats().replaced, 1);
  });
});

test("a taskTimeoutMs or cancelGraceMs longer than a timer takes is counted in full", async () => {
  await withClock(async (clock) => {
    const month = 30 * 24 * 3_600_000; // past setTimeout's 2^31 - 1 ms, which would fire at once
    const { dispatch, workers } = await dispatcher(1, {
      taskTimeoutMs: month,
      cancelGraceMs: month,
    });
    const slow = track(dispatch.submit("run", { fn: "f", args: [] }, "slow"));
    await flush();
    clock.tick(1);
    await flush();
    equal(slow.current.status, "pending", "the task has a month");
    clock.tick(month - 2);
    await flush();
    equal(slow.current.status, "pending");
    clock.tick(1);
    await flush();
    const state = slow.current as State<unknown>;
    ok(state.status === "rejected" && state.reason instanceof TimeoutError, "the task times out");
    clock.tick(1);
    await flush();
    equal(workers[0].stopped, false, "its worker has a month to notice");
    clock.tick(month - 1);
    await flush();
    equal(workers[0].stopped, true, "then it is replaced");
  });
});

test("a task whose worker crashed is retried ahead of new work, then fails", async () => {
  await withClock(async (clock) => {
    const { dispatch, workers } = await dispatcher(1, { retries: 1 });
    const risky = track(dispatch.submit("run", { fn: "f", args: [] }, "risky"));
    await flush();
    dispatch.submit("run", { fn: "g", args: [] }, "later");
    clock.tick(5); // long tasks: one at a time
    workers[0].calls[0].die(new ActorCrashedError("/pool-1"));
    await flush();
    deepEqual(workers[0].calls.map((c) => c.tasks), [[1], [1]], "task 1 again, before task 2");
    clock.tick(5);
    workers[0].calls[1].die(new ActorCrashedError("/pool-1"));
    await flush();
    ok(risky.current.status === "rejected" && risky.current.reason instanceof ActorCrashedError);
    deepEqual(workers[0].calls.map((c) => c.tasks), [[1], [1], [2]]);
  });
});

test("cancelling a queued task skips it; cancelling a running one sets its cancel slot", async () => {
  const { dispatch, workers } = await dispatcher(1);
  const running = dispatch.submit("run", { fn: "f", args: [] }, "running");
  const queued = dispatch.submit("run", { fn: "f", args: [] }, "queued");
  const third = dispatch.submit("run", { fn: "f", args: [] }, "third");
  await flush();
  equal(queued.cancel(), true);
  equal(queued.status, "cancelled");
  equal(running.cancel(), true);
  equal(Atomics.load(workers[0].cancels, 1), 1);
  equal(running.status, "running", "cancelled once the worker confirms");
  workers[0].calls[0].answer([{ ok: false, cancelled: true }]);
  await flush();
  equal(running.status, "cancelled");
  deepEqual(workers[0].calls.map((c) => c.tasks), [[1], [3]], "task 2 was skipped");
  workers[0].calls[1].answer([ok1(3)]);
  equal(await third, 3);
  await dispatch.drained();
});
