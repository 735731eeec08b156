import { deepEqual, equal, ok as assert, rejects, throws } from "node:assert/strict";
import FakeTimers from "@sinonjs/fake-timers";
import {
  ActorStoppedError,
  ActorSystem,
  child,
  type ChildOptions,
  type ChildSpec,
  type Placement,
  RestartIntensityError,
  type RestartType,
  SpawnError,
  supervisor,
  type SupervisorOptions,
  type SystemEvent,
} from "../mod.ts";
import { SharedLog, Supervised, type SupervisedArgs } from "./fixtures/supervised.ts";
import { FakeTime } from "../testing/mod.ts";
import { liveWorkers, nextEvent, test } from "./_helpers.ts";

/** No backoff: restarts happen at once, so tests stay fast. */
const FAST = { initialMs: 0, jitter: 0 };

/** One child spec per name, each logging to `log`. */
function actors(
  log: SharedLog,
  names: string[],
  options: ChildOptions<SupervisedArgs> = {},
): ChildSpec[] {
  return names.map((name) =>
    child(name, Supervised, { placement: "local", args: log.args(name), ...options })
  );
}

/** A supervisor spec with no backoff unless given. */
function tree(children: ChildSpec[], options: SupervisorOptions = {}) {
  return supervisor({ backoff: FAST, ...options, children });
}

function start(name: string, root: ReturnType<typeof supervisor>): Promise<ActorSystem> {
  return ActorSystem.start({ name, root, heartbeat: false });
}

/** Records `"<type> <path>"` for every later event of the given types. */
function watch(
  system: ActorSystem,
  types: SystemEvent["type"][] = ["crashed", "restarted", "stopped", "escalated", "shutdown"],
): string[] {
  const seen: string[] = [];
  system.events.on((event) => {
    if (types.includes(event.type)) seen.push(`${event.type} ${event.path}`);
  });
  return seen;
}

function restarted(system: ActorSystem, path: string) {
  return nextEvent(system.events, "restarted", (event) => event.path === path);
}

function stopped(system: ActorSystem, path: string) {
  return nextEvent(system.events, "stopped", (event) => event.path === path);
}

/** Whether `promise` has settled by the next macrotask. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  const pending = Symbol("pending");
  const winner = await Promise.race([
    promise,
    new Promise((resolve) => setTimeout(() => resolve(pending), 0)),
  ]);
  return winner !== pending;
}

// ---- strategies ---------------------------------------------------------------------------------

test("one_for_one restarts only the crashed child, with fresh state and onRestart", async () => {
  const log = new SharedLog(["a", "b", "c"]);
  await using system = await start("one-for-one", tree(actors(log, ["a", "b", "c"])));
  const [a, b, c] = ["/a", "/b", "/c"].map((path) => system.lookup(Supervised, path));
  for (const ref of [a, b, c]) ref.tell("push", { value: 1 });
  const seen = watch(system);
  const done = restarted(system, "/b");
  b.tell("crash", {});
  await done;
  deepEqual(log.entries(), ["start a", "start b", "start c", "start b", "restart b"]);
  deepEqual(seen, ["crashed /b", "restarted /b"]);
  deepEqual(await b.ask("get", {}), []);
  deepEqual(await a.ask("get", {}), [1]);
  deepEqual(await c.ask("get", {}), [1]);
});

test("one_for_all ends the other children right to left, then starts every child left to right", async () => {
  const log = new SharedLog(["a", "b", "c"]);
  const root = tree(actors(log, ["a", "b", "c"]), { strategy: "one_for_all" });
  await using system = await start("one-for-all", root);
  const [a, b, c] = ["/a", "/b", "/c"].map((path) => system.lookup(Supervised, path));
  for (const ref of [a, b, c]) ref.tell("push", { value: 1 });
  const seen = watch(system);
  const done = restarted(system, "/c");
  b.tell("crash", {});
  await done;
  deepEqual(log.entries().slice(3), [
    "stop c", // the others' incarnations end right to left (onStop runs)…
    "stop a",
    "start a", // …then every child starts again left to right
    "start b",
    "restart b", // only the crashed child gets onRestart
    "start c",
  ]);
  deepEqual(seen, ["crashed /b", "restarted /a", "restarted /b", "restarted /c"]);
  for (const ref of [a, b, c]) deepEqual(await ref.ask("get", {}), []);
});

test("rest_for_one restarts the crashed child and every child started after it", async (t) => {
  const log = new SharedLog(["a", "b", "c", "d"]);
  const root = tree(actors(log, ["a", "b", "c", "d"]), { strategy: "rest_for_one" });
  await using system = await start("rest-for-one", root);
  const refs = ["/a", "/b", "/c", "/d"].map((path) => system.lookup(Supervised, path));
  const [a, b, _c, d] = refs;

  await t.step("a crash of b restarts b, c and d, and leaves a alone", async () => {
    for (const ref of refs) ref.tell("push", { value: 1 });
    const seen = watch(system);
    const done = restarted(system, "/d");
    b.tell("crash", {});
    await done;
    deepEqual(log.entries().slice(4), [
      "stop d",
      "stop c",
      "start b",
      "restart b",
      "start c",
      "start d",
    ]);
    deepEqual(seen, ["crashed /b", "restarted /b", "restarted /c", "restarted /d"]);
    deepEqual(await Promise.all(refs.map((ref) => ref.ask("get", {}))), [[1], [], [], []]);
  });

  await t.step("a crash of the last child restarts only it", async () => {
    const mark = log.entries().length;
    const done = restarted(system, "/d");
    d.tell("crash", {});
    await done;
    deepEqual(log.entries().slice(mark), ["start d", "restart d"]);
  });

  await t.step("a crash of the first child restarts every child", async () => {
    const mark = log.entries().length;
    const done = restarted(system, "/d");
    a.tell("crash", {});
    await done;
    deepEqual(log.entries().slice(mark), [
      "stop d",
      "stop c",
      "stop b",
      "start a",
      "restart a",
      "start b",
      "start c",
      "start d",
    ]);
  });
});

test("worker: rest_for_one across worker threads, ordered through the shared log", async () => {
  const before = liveWorkers();
  const log = new SharedLog(["a", "b", "c"]);
  const root = tree(actors(log, ["a", "b", "c"], { placement: "worker" }), {
    strategy: "rest_for_one",
  });
  const system = await start("worker-rest-for-one", root);
  try {
    equal(liveWorkers(), before + 3);
    const [a, b, c] = ["/a", "/b", "/c"].map((path) => system.lookup(Supervised, path));
    for (const ref of [a, b, c]) ref.tell("push", { value: 1 });
    // Each push handled before the crash: a push still queued when c is recycled would be
    // redelivered to its next incarnation, free, and show in its state.
    deepEqual(await Promise.all([a, b, c].map((ref) => ref.ask("get", {}))), [[1], [1], [1]]);
    const done = restarted(system, "/c");
    b.tell("crash", {});
    await done;
    deepEqual(log.entries(), [
      "start a",
      "start b",
      "start c",
      "stop c",
      "start b",
      "restart b",
      "start c",
    ]);
    deepEqual(await Promise.all([a, b, c].map((ref) => ref.ask("get", {}))), [[1], [], []]);
    equal(liveWorkers(), before + 3); // restarted in their own workers, which stayed up
  } finally {
    await system.shutdown();
  }
  equal(liveWorkers(), before);
});

test(
  "worker: an actor whose worker dies restarts in a new worker, and onRestart runs",
  async () => {
    const before = liveWorkers();
    const log = new SharedLog(["a"]);
    const system = await start("worker-dies", tree(actors(log, ["a"], { placement: "worker" })));
    try {
      const seen = watch(system);
      const a = system.lookup(Supervised, "/a");
      a.tell("push", { value: 1 });
      const done = restarted(system, "/a");
      a.tell("strayError", {}); // an uncaught error ends the worker
      await done;
      deepEqual(seen, ["crashed /a", "restarted /a"]);
      deepEqual(await a.ask("get", {}), []);
      equal(liveWorkers(), before + 1);
      deepEqual(log.entries(), ["start a", "start a", "restart a"]);
    } finally {
      await system.shutdown();
    }
    equal(liveWorkers(), before);
  },
);

// ---- restart types --------------------------------------------------------------------------

const TABLE: [RestartType, "crash" | "normal", boolean][] = [
  ["permanent", "crash", true],
  ["permanent", "normal", true],
  ["transient", "crash", true],
  ["transient", "normal", false],
  ["temporary", "crash", false],
  ["temporary", "normal", false],
];

for (const [restart, reason, restarts] of TABLE) {
  const how = reason === "crash" ? "a crash" : "it stops itself (ctx.self.stop())";
  test(`a ${restart} child is ${restarts ? "restarted" : "removed"} after ${how}`, async () => {
    const log = new SharedLog(["a", "b"]);
    const root = tree([...actors(log, ["a"], { restart }), ...actors(log, ["b"])]);
    await using system = await start(`${restart}-${reason}`, root);
    const a = system.lookup(Supervised, "/a");
    a.tell("push", { value: 1 });
    const seen = watch(system);
    const outcome = Promise.race([
      restarted(system, "/a").then(() => "restarted"),
      stopped(system, "/a").then(() => "removed"),
    ]);
    a.tell(reason === "crash" ? "crash" : "exitNormally", {});
    equal(await outcome, restarts ? "restarted" : "removed");
    const ofA = log.entries().filter((entry) => entry.endsWith(" a"));
    if (restarts) {
      deepEqual(await a.ask("get", {}), []);
      equal(system.lookup(Supervised, "/a"), a);
      deepEqual(system.supervisor("/").children(), ["a", "b"]);
      deepEqual(
        ofA,
        reason === "crash"
          ? ["start a", "start a", "restart a"] // onRestart after a crash
          : ["start a", "stop a", "start a"], // onStop, then a fresh start
      );
    } else {
      throws(() => system.lookup(Supervised, "/a"), { message: "Cannot find actor /a" });
      deepEqual(system.supervisor("/").children(), ["b"]);
      await rejects(a.ask("get", {}), ActorStoppedError);
      equal(ofA.filter((entry) => entry !== "stop a").join(), "start a"); // never started again
      equal(seen.at(-1), "stopped /a");
    }
    deepEqual(log.entries().filter((entry) => entry.endsWith(" b")), ["start b"]);
    deepEqual(await system.lookup(Supervised, "/b").ask("get", {}), []);
  });
}

for (const restart of ["permanent", "transient", "temporary"] as const) {
  test(`ref.stop() removes a ${restart} child for good, and its id can be taken again`, async () => {
    const log = new SharedLog(["a", "b"]);
    const root = tree([...actors(log, ["a"], { restart }), ...actors(log, ["b"])]);
    await using system = await start(`stop-${restart}`, root);
    const seen = watch(system);
    const a = system.lookup(Supervised, "/a");
    await a.stop();
    deepEqual(seen, ["stopped /a"]);
    deepEqual(log.entries(), ["start a", "start b", "stop a"]);
    deepEqual(system.supervisor("/").children(), ["b"]);
    throws(() => system.lookup(Supervised, "/a"), { message: "Cannot find actor /a" });
    await new Promise((resolve) => setTimeout(resolve, 10));
    deepEqual(seen, ["stopped /a"]); // and nothing restarted it meanwhile
    const again = await system.spawn(Supervised, {
      name: "a",
      placement: "local",
      args: log.args("a"),
    });
    equal(again.path, "/a");
    deepEqual(system.supervisor("/").children(), ["b", "a"]);
  });
}

test("system.spawn defaults to transient, child() to permanent", async () => {
  const log = new SharedLog(["static", "dynamic"]);
  const spec = child("static", Supervised, { placement: "local", args: log.args("static") });
  equal(spec.restart, "permanent");
  equal(spec.shutdownMs, 5_000);
  await using system = await start("defaults", tree([spec]));
  const dynamic = await system.spawn(Supervised, {
    name: "dynamic",
    placement: "local",
    args: log.args("dynamic"),
  });
  const removed = stopped(system, "/dynamic");
  dynamic.tell("exitNormally", {});
  await removed;
  const back = restarted(system, "/static");
  system.lookup(Supervised, "/static").tell("exitNormally", {});
  await back;
  deepEqual(system.supervisor("/").children(), ["static"]);
  deepEqual(log.entries(), [
    "start static",
    "start dynamic",
    "stop dynamic",
    "stop static",
    "start static",
  ]);
  // …and the transient dynamic child is restarted after a crash.
  const other = await system.spawn(Supervised, { placement: "local", args: log.args("dynamic") });
  equal(other.path, "/supervised");
  const again = restarted(system, "/supervised");
  other.tell("crash", {});
  await again;
});

// ---- mailboxes across restarts ------------------------------------------------------------------

test("messages queued behind a crash are handled by the restarted incarnation", async () => {
  const log = new SharedLog(["a"]);
  await using system = await start("queued", tree(actors(log, ["a"])));
  const a = system.lookup(Supervised, "/a");
  a.tell("push", { value: 0 });
  a.tell("crash", {});
  a.tell("push", { value: 1 });
  a.tell("push", { value: 2 });
  const reply = a.ask("get", {});
  deepEqual(await reply, [1, 2]);
  equal(system.stats().actors[0].restarts, 1);
});

test("one_for_all: siblings ended for the restart keep their queued messages", async () => {
  const log = new SharedLog(["a", "b"]);
  const root = tree(actors(log, ["a", "b"]), { strategy: "one_for_all" });
  await using system = await start("sibling-mailbox", root);
  const a = system.lookup(Supervised, "/a");
  const b = system.lookup(Supervised, "/b");
  b.tell("push", { value: 0 });
  b.tell("hold", {}); // b is busy: what follows waits in its mailbox
  b.tell("push", { value: 1 });
  b.tell("push", { value: 2 });
  await log.waitFor("hold b");
  const done = restarted(system, "/b");
  a.tell("crash", {});
  await done;
  deepEqual(log.entries(), [
    "start a",
    "start b",
    "hold b",
    "stop b",
    "start a",
    "restart a",
    "start b",
  ]);
  // Fresh state (the 0 is gone), and the two queued pushes were not lost.
  deepEqual(await b.ask("get", {}), [1, 2]);
  // The only message lost is the one that crashed a (at most once).
  deepEqual(
    system.deadLetters().map((letter) => `${letter.reason} ${letter.path} ${letter.kind}`),
    ["crashed /a crash"],
  );
});

for (const strategy of ["one_for_all", "rest_for_one"] as const) {
  test(
    `${strategy}: a temporary sibling ended by the restart is removed, not restarted`,
    async () => {
      const log = new SharedLog(["a", "t"]);
      const root = tree([...actors(log, ["a"]), ...actors(log, ["t"], { restart: "temporary" })], {
        strategy,
      });
      await using system = await start(`temporary-sibling-${strategy}`, root);
      const seen = watch(system);
      const done = restarted(system, "/a");
      system.lookup(Supervised, "/a").tell("crash", {});
      await done;
      await new Promise((resolve) => setTimeout(resolve, 10));
      deepEqual(log.entries(), ["start a", "start t", "stop t", "start a", "restart a"]);
      deepEqual(seen, ["crashed /a", "stopped /t", "restarted /a"]);
      deepEqual(system.supervisor("/").children(), ["a"]);
      throws(() => system.lookup(Supervised, "/t"), { message: "Cannot find actor /t" });
    },
  );
}

test("a child whose restart a parent's recycle interrupts leaves its supervisor responsive", async () => {
  const log = new SharedLog(["a", "x"]);
  const slowInits = new Int32Array(new SharedArrayBuffer(4));
  const sub = tree(actors(log, ["a"], { args: log.args("a", { slowInits }) }));
  const root = tree([child("sub", sub), ...actors(log, ["x"])], { strategy: "one_for_all" });
  await using system = await start("interrupted-restart", root);
  const a = system.lookup(Supervised, "/sub/a");
  Atomics.store(slowInits, 0, 1); // a's next init returns only when asked to stop
  a.tell("crash", {});
  while (Atomics.load(slowInits, 0) !== 0) await new Promise((resolve) => setTimeout(resolve, 1));
  // /sub is restarting a (its init runs) when x's crash makes the root recycle /sub.
  const back = restarted(system, "/x");
  system.lookup(Supervised, "/x").tell("crash", {});
  await back;
  // /sub still handles its children's crashes: a comes back.
  const again = restarted(system, "/sub/a");
  a.tell("push", { value: 1 });
  a.tell("crash", {});
  await again;
  deepEqual(await a.ask("get", {}), []);
});

test("a spawn whose init a sibling's one_for_all restart interrupts fails instead of hanging", async () => {
  const log = new SharedLog(["a", "x"]);
  const slowInits = new Int32Array(new SharedArrayBuffer(4));
  Atomics.store(slowInits, 0, 1); // a's first init returns only when asked to stop
  const root = tree(actors(log, ["x"]), { strategy: "one_for_all" });
  await using system = await start("interrupted-spawn", root);
  const spawning = system.spawn(Supervised, {
    name: "a",
    placement: "local",
    args: log.args("a", { slowInits }),
  });
  await log.waitFor("start a");
  const back = restarted(system, "/x");
  system.lookup(Supervised, "/x").tell("crash", {});
  await back;
  await rejects(spawning, (error: unknown) => {
    assert(error instanceof SpawnError, String(error));
    equal(error.message, "Cannot start /a: stopped before init returned");
    return true;
  });
  deepEqual(system.supervisor("/").children(), ["x"]);
});

test("a restart whose init throws comes back as a crash and is retried through the queue", async () => {
  const log = new SharedLog(["a"]);
  const failures = new Int32Array(new SharedArrayBuffer(4));
  const root = tree([
    child("a", Supervised, { placement: "local", args: log.args("a", { failures }) }),
  ]);
  await using system = await start("failed-restart", root);
  const seen = watch(system);
  Atomics.store(failures, 0, 2); // the next two inits throw
  const done = restarted(system, "/a");
  system.lookup(Supervised, "/a").tell("crash", {});
  await done;
  deepEqual(seen, ["crashed /a", "crashed /a", "crashed /a", "restarted /a"]);
  deepEqual(log.entries(), ["start a", "start a", "restart a"]);
  deepEqual(await system.lookup(Supervised, "/a").ask("get", {}), []);
});

test("a restart that keeps failing counts against the intensity until the supervisor gives up", async () => {
  const log = new SharedLog(["a"]);
  const failures = new Int32Array(new SharedArrayBuffer(4));
  const root = tree([
    child("a", Supervised, { placement: "local", args: log.args("a", { failures }) }),
  ], {
    intensity: { maxRestarts: 3, periodMs: 60_000 },
  });
  const system = await start("failing-restarts", root);
  const seen = watch(system, ["crashed", "restarted", "escalated"]);
  Atomics.store(failures, 0, 1_000);
  system.lookup(Supervised, "/a").tell("crash", {});
  const error = await system.closed();
  assert(error instanceof RestartIntensityError, String(error));
  equal((error.cause as Error).message, "init refused again");
  deepEqual(seen, ["crashed /a", "crashed /a", "crashed /a", "crashed /a", "escalated /"]);
});

test(
  "ref.stop() during a restart's backoff cancels that restart: no restarted event follows",
  async () => {
    const log = new SharedLog(["a"]);
    const root = supervisor({
      backoff: { initialMs: 100, jitter: 0 },
      children: actors(log, ["a"]),
    });
    await using system = await start("stop-during-backoff", root);
    const seen = watch(system);
    const a = system.lookup(Supervised, "/a");
    const crashed = nextEvent(system.events, "crashed");
    a.tell("crash", {});
    await crashed;
    await a.stop();
    await new Promise((resolve) => setTimeout(resolve, 200)); // past the backoff
    deepEqual(seen, ["crashed /a", "stopped /a"]);
    // As OTP's terminate: a cell that crashed gets no onStop.
    deepEqual(log.entries(), ["start a"]);
    deepEqual(system.supervisor("/").children(), []);
  },
);

// ---- intensity and escalation -------------------------------------------------------------------

test("intensity exceeded at a nested supervisor escalates to its parent, which restarts that subtree", async () => {
  const log = new SharedLog(["db", "w1", "w2"]);
  const jobs = tree(actors(log, ["w1", "w2"]), { intensity: { maxRestarts: 1, periodMs: 60_000 } });
  const root = tree([...actors(log, ["db"]), child("jobs", jobs)]);
  await using system = await start("escalate", root);
  const w1 = system.lookup(Supervised, "/jobs/w1");
  const seen = watch(system);
  const escalated = nextEvent(system.events, "escalated");

  const first = restarted(system, "/jobs/w1");
  w1.tell("crash", {});
  await first;
  const subtree = restarted(system, "/jobs/w2");
  w1.tell("crash", {}); // the second restart within the window: more than maxRestarts 1
  await subtree;

  deepEqual(seen, [
    "crashed /jobs/w1",
    "restarted /jobs/w1",
    "crashed /jobs/w1",
    "escalated /jobs",
    "restarted /jobs/w1",
    "restarted /jobs/w2",
  ]);
  const { error } = await escalated;
  assert(error instanceof RestartIntensityError);
  equal(
    error.message,
    'Cannot restart child "w1" of /jobs: restart intensity 1 in 60000 ms exceeded',
  );
  equal(error.path, "/jobs");
  equal(error.child, "w1");
  equal((error.cause as Error).message, "boom in /jobs/w1");
  const entries = log.entries();
  deepEqual(entries.slice(0, 5), ["start db", "start w1", "start w2", "start w1", "restart w1"]);
  // The subtree's children end right to left, then start left to right; db is left alone. (w1's
  // crashed incarnation also gets its onStop when the supervisor gives up; not asserted here.)
  deepEqual(entries.slice(5).filter((entry) => entry !== "stop w1"), [
    "stop w2",
    "start w1",
    "start w2",
  ]);
  assert(!entries.includes("stop db"));

  // The restarted supervisor has a fresh window: one more crash is tolerated again.
  const third = restarted(system, "/jobs/w1");
  w1.tell("crash", {});
  await third;
  equal(seen.filter((entry) => entry.startsWith("escalated")).length, 1);
  assert(!(await settled(system.closed())));
});

test("restart intensity counts the restarts of every child of the supervisor together", async () => {
  const log = new SharedLog(["a", "b"]);
  const sub = tree(actors(log, ["a", "b"]), { intensity: { maxRestarts: 1, periodMs: 60_000 } });
  await using system = await start("intensity-shared", tree([child("sub", sub)]));
  const escalated = nextEvent(system.events, "escalated");
  const once = restarted(system, "/sub/a");
  system.lookup(Supervised, "/sub/a").tell("crash", {});
  await once;
  system.lookup(Supervised, "/sub/b").tell("crash", {});
  const { error } = await escalated;
  equal(
    error.message,
    'Cannot restart child "b" of /sub: restart intensity 1 in 60000 ms exceeded',
  );
});

test("maxRestarts 0: the first crash makes the supervisor give up", async () => {
  const log = new SharedLog(["a"]);
  const sub = tree(actors(log, ["a"]), { intensity: { maxRestarts: 0 } });
  await using system = await start("intensity-zero", tree([child("sub", sub)]));
  const escalated = nextEvent(system.events, "escalated");
  system.lookup(Supervised, "/sub/a").tell("crash", {});
  const { path, error } = await escalated;
  equal(path, "/sub");
  equal(error.message, 'Cannot restart child "a" of /sub: restart intensity 0 in 5000 ms exceeded');
});

test("worker: intensity exceeded at the root shuts the system down and closed() resolves with the error", async () => {
  const before = liveWorkers();
  const log = new SharedLog(["a", "b"]);
  const root = tree(actors(log, ["a", "b"], { placement: "worker" }), {
    intensity: { maxRestarts: 1, periodMs: 60_000 },
  });
  await using system = await start("root-intensity", root);
  equal(liveWorkers(), before + 2);
  const seen = watch(system);
  const a = system.lookup(Supervised, "/a");
  const once = restarted(system, "/a");
  a.tell("crash", {});
  await once;
  a.tell("crash", {});
  const error = await system.closed();
  assert(error instanceof RestartIntensityError, String(error));
  equal(error.message, 'Cannot restart child "a" of /: restart intensity 1 in 60000 ms exceeded');
  equal(error.path, "/");
  equal((error.cause as Error).message, "boom in /a");
  deepEqual(seen, [
    "crashed /a",
    "restarted /a",
    "crashed /a",
    "escalated /",
    "shutdown /",
    "stopped /b",
    "stopped /a",
  ]);
  assert(system.signal.aborted);
  equal(system.signal.reason, error);
  equal(system.stats().actors.length, 0);
  equal(liveWorkers(), before);
  await rejects(a.ask("get", {}), ActorStoppedError);
});

test("the intensity window slides with the clock: restarts older than periodMs stop counting", async () => {
  const clock = FakeTimers.install({ toFake: ["performance"] });
  try {
    const log = new SharedLog(["a"]);
    const root = tree(actors(log, ["a"]), { intensity: { maxRestarts: 1, periodMs: 1_000 } });
    const system = await start("sliding", root);
    const a = system.lookup(Supervised, "/a");
    const once = restarted(system, "/a");
    a.tell("crash", {});
    await once;
    clock.tick(1_001); // the first restart leaves the window
    const twice = restarted(system, "/a");
    a.tell("crash", {});
    await twice;
    clock.tick(999); // still inside: the next one is the second within 1000 ms
    a.tell("crash", {});
    const error = await system.closed();
    assert(error instanceof RestartIntensityError, String(error));
    deepEqual(log.entries().filter((entry) => entry === "restart a"), ["restart a", "restart a"]);
  } finally {
    clock.uninstall();
  }
});

// ---- backoff ------------------------------------------------------------------------------------

test("restarts wait an exponential backoff per consecutive restart, capped at maxMs", async () => {
  using time = new FakeTime();
  const log = new SharedLog(["a"]);
  const backoff = { initialMs: 40, factor: 3, maxMs: 100, jitter: 0 };
  const root = supervisor({
    backoff,
    intensity: { maxRestarts: 10, periodMs: 60_000 },
    children: actors(log, ["a"]),
  });
  await using system = await start("backoff", root);
  const a = system.lookup(Supervised, "/a");
  // 40, then 40 × 3 = 120 capped to 100, then 40 × 9 = 360 capped to 100.
  for (const waitMs of [40, 100, 100]) {
    const crashed = nextEvent(system.events, "crashed");
    let done = false;
    const back = restarted(system, "/a").then(() => done = true);
    a.tell("crash", {});
    await crashed;
    await time.tickAsync(waitMs - 1);
    equal(done, false, `restarted before ${waitMs} ms`);
    await time.tickAsync(1);
    await back;
  }
  deepEqual(log.entries().filter((entry) => entry === "restart a").length, 3);
});

test("a shutdown during a long backoff cancels the pending restart at once", async () => {
  const log = new SharedLog(["a"]);
  const backoffMs = 10_000;
  const root = supervisor({
    backoff: { initialMs: backoffMs, jitter: 0 },
    children: actors(log, ["a"]),
  });
  const system = await start("backoff-shutdown", root);
  const seen = watch(system);
  const crashed = nextEvent(system.events, "crashed");
  system.lookup(Supervised, "/a").tell("crash", {});
  await crashed;
  await new Promise((resolve) => setTimeout(resolve, 20)); // the supervisor is now waiting
  const began = performance.now();
  await system.shutdown();
  const elapsed = performance.now() - began;
  assert(elapsed < 0.2 * backoffMs, `shutdown took ${elapsed} ms`);
  equal(await system.closed(), undefined);
  deepEqual(seen, ["crashed /a", "shutdown /", "stopped /a"]); // never restarted
  assert(!log.entries().includes("restart a"));
});

// ---- shutdown -----------------------------------------------------------------------------------

for (const placement of ["local", "worker"] as Placement[]) {
  test(`${placement}: children start in order and stop in reverse order across a nested tree`, async () => {
    const before = liveWorkers();
    const log = new SharedLog(["a", "b", "c", "d"]);
    const root = tree([
      ...actors(log, ["a"], { placement }),
      child("sub", tree(actors(log, ["b", "c"], { placement }))),
      ...actors(log, ["d"], { placement }),
    ]);
    const system = await start(`order-${placement}`, root);
    deepEqual(log.entries(), ["start a", "start b", "start c", "start d"]);
    deepEqual(system.stats().actors.map((actor) => actor.path), ["/a", "/sub/b", "/sub/c", "/d"]);
    const seen = watch(system, ["shutdown", "stopped"]);
    await system.shutdown();
    deepEqual(log.entries().slice(4), ["stop d", "stop c", "stop b", "stop a"]);
    deepEqual(seen, [
      "shutdown /",
      "stopped /d",
      "stopped /sub/c",
      "stopped /sub/b",
      "stopped /sub",
      "stopped /a",
    ]);
    equal(await system.closed(), undefined);
    equal(liveWorkers(), before);
  });
}

test("worker: a child slower than its shutdownMs to stop is killed and shutdown still completes", async () => {
  const before = liveWorkers();
  const log = new SharedLog(["b", "slow"]);
  const stopDelayMs = 10_000;
  const root = tree([
    ...actors(log, ["b"], { placement: "worker" }),
    child("slow", Supervised, {
      placement: "worker",
      shutdownMs: 200,
      args: log.args("slow", { stopDelayMs }),
    }),
  ]);
  const system = await start("slow-stop", root);
  equal(liveWorkers(), before + 2);
  const began = performance.now();
  await system.shutdown();
  const elapsed = performance.now() - began;
  assert(elapsed >= 195, `shutdown took only ${elapsed} ms`);
  assert(elapsed < 0.2 * stopDelayMs, `shutdown took ${elapsed} ms`);
  deepEqual(log.entries(), ["start b", "start slow", "stop slow", "stop b"]);
  equal(liveWorkers(), before); // the slow one's worker was terminated
  equal(await system.closed(), undefined);
});

// ---- dynamic children ---------------------------------------------------------------------------

test("system.supervisor(path).spawn adds a dynamic child that lookup finds under that path", async () => {
  const log = new SharedLog(["w1", "w2"]);
  const root = tree([child("jobs", tree([]))]);
  await using system = await start("dynamic", root);
  const jobs = system.supervisor("/jobs");
  equal(jobs.path, "/jobs");
  const started = nextEvent(system.events, "started");
  const w1 = await jobs.spawn(Supervised, { name: "w1", placement: "local", args: log.args("w1") });
  deepEqual(await started, { type: "started", path: "/jobs/w1", placement: "local" });
  equal(w1.path, "/jobs/w1");
  equal(system.lookup(Supervised, "/jobs/w1"), w1);
  const unnamed = await jobs.spawn(Supervised, { placement: "local", args: log.args("w2") });
  equal(unnamed.path, "/jobs/supervised");
  deepEqual(jobs.children(), ["w1", "supervised"]);
  deepEqual(system.supervisor("/").children(), ["jobs"]);
  deepEqual(system.stats().actors.map((actor) => actor.path), ["/jobs/w1", "/jobs/supervised"]);
  await rejects(jobs.spawn(Supervised, { name: "w1", placement: "local", args: log.args("w1") }), {
    name: "TypeError",
    message: 'Cannot spawn "w1": the path /jobs/w1 is taken',
  });

  // Transient by default: restarted after a crash, removed after a normal exit.
  w1.tell("push", { value: 1 });
  const back = restarted(system, "/jobs/w1");
  w1.tell("crash", {});
  await back;
  deepEqual(await w1.ask("get", {}), []);
  const gone = stopped(system, "/jobs/w1");
  w1.tell("exitNormally", {});
  await gone;
  deepEqual(jobs.children(), ["supervised"]);
  throws(() => system.lookup(Supervised, "/jobs/w1"), { message: "Cannot find actor /jobs/w1" });

  throws(() => system.supervisor("/nope"), {
    name: "TypeError",
    message: "Cannot find supervisor /nope",
  });
  throws(() => system.supervisor("/jobs/supervised"), {
    name: "TypeError",
    message: "Cannot find supervisor /jobs/supervised",
  });
});

// ---- start failures -----------------------------------------------------------------------------

for (const placement of ["local", "worker"] as Placement[]) {
  test(`${placement}: a child that fails to start rejects ActorSystem.start with SpawnError and stops the others`, async () => {
    const before = liveWorkers();
    const log = new SharedLog(["a", "b", "c", "d"]);
    const root = tree([
      ...actors(log, ["a"], { placement }),
      child(
        "sub",
        tree([
          ...actors(log, ["b"], { placement }),
          child("c", Supervised, { placement, args: log.args("c", { failInit: true }) }),
        ]),
      ),
      ...actors(log, ["d"], { placement }),
    ]);
    await rejects(start(`start-fails-${placement}`, root), (error: unknown) => {
      assert(error instanceof SpawnError, String(error));
      equal(error.message, "Cannot start /sub/c: init failed: init refused");
      equal((error.cause as Error).message, "init refused");
      return true;
    });
    // d never started; b and a stopped in reverse order.
    deepEqual(log.entries(), ["start a", "start b", "stop b", "stop a"]);
    equal(liveWorkers(), before);
  });
}

// ---- specs --------------------------------------------------------------------------------------

test("specs merge their defaults: one_for_one, 10 restarts in 5 s, backoff 10 ms × 2 up to 2 s ± 20 %", () => {
  const spec = supervisor();
  equal(spec.strategy, "one_for_one");
  deepEqual(spec.intensity, { maxRestarts: 10, periodMs: 5_000 });
  deepEqual(spec.backoff, { initialMs: 10, maxMs: 2_000, factor: 2, jitter: 0.2 });
  deepEqual(supervisor({ intensity: { maxRestarts: 2 }, backoff: { initialMs: 0 } }).intensity, {
    maxRestarts: 2,
    periodMs: 5_000,
  });
  const log = new SharedLog(["db"]);
  const db = child("db", Supervised, { args: log.args("db") });
  equal(db.restart, "permanent");
  equal(db.shutdownMs, 5_000);
  equal(db.spare, false);
  const nested = child("jobs", supervisor(), { restart: "transient" });
  equal(nested.restart, "transient");
});

test("bad specs are refused when built, with a TypeError or RangeError naming the child and the field", () => {
  const log = new SharedLog(["db"]);
  const args = log.args("db");
  // deno-lint-ignore no-explicit-any
  const loose = (value: unknown) => value as any;
  const cases: [() => unknown, string, string][] = [
    [
      () => child("db", Supervised, { args, restart: loose("sometimes") }),
      "TypeError",
      'Cannot declare child "db": restart must be one of "permanent", "transient", "temporary", received "sometimes"',
    ],
    [
      () => child("db", Supervised, { args, shutdownMs: 0 }),
      "RangeError",
      'Cannot declare child "db": shutdownMs must be greater than 0, received 0',
    ],
    [
      () => child("db", Supervised, { args, mailbox: { capacity: 0 } }),
      "RangeError",
      'Cannot declare child "db": mailbox.capacity must be greater than 0, received 0',
    ],
    [
      () => child("db", Supervised, { args, placement: "local", spare: true }),
      "TypeError",
      'Cannot declare child "db": spare applies to the "worker" placement only',
    ],
    [
      () => child("db", Supervised, loose({ args, name: "other" })),
      "TypeError",
      `Cannot declare child "db": name is the child's id, do not set it`,
    ],
    [
      () => child("db", Supervised, loose({ args, colour: "red" })),
      "TypeError",
      'Cannot declare child "db": unknown option "colour"',
    ],
    [
      () => child("a/b", Supervised, { args }),
      "TypeError",
      'Cannot declare child: id must use letters, digits, _ . : - only, received "a/b"',
    ],
    [
      () => child("db", loose({ name: "db" })),
      "TypeError",
      'Cannot declare child "db": target must be an actor definition or a supervisor spec',
    ],
    [
      () => child("jobs", supervisor(), loose({ placement: "local" })),
      "TypeError",
      'Cannot declare child "jobs": a supervisor child takes only restart and shutdownMs, received placement',
    ],
    [
      () => supervisor({ intensity: { maxRestarts: -1 } }),
      "RangeError",
      "Cannot declare supervisor: intensity.maxRestarts must be at least 0, received -1",
    ],
    [
      () => supervisor({ intensity: { maxRestarts: 1.5 } }),
      "RangeError",
      "Cannot declare supervisor: intensity.maxRestarts must be an integer, received 1.5",
    ],
    [
      () => supervisor({ intensity: { periodMs: 0 } }),
      "RangeError",
      "Cannot declare supervisor: intensity.periodMs must be greater than 0, received 0",
    ],
    [
      () => supervisor({ strategy: loose("one_for_none") }),
      "TypeError",
      'Cannot declare supervisor: strategy must be one of "one_for_one", "one_for_all", "rest_for_one", received "one_for_none"',
    ],
    [
      () => supervisor({ backoff: { initialMs: 100, maxMs: 10 } }),
      "RangeError",
      "Cannot declare supervisor: backoff.maxMs must be at least backoff.initialMs, received 10",
    ],
    [
      () => supervisor({ backoff: { jitter: 1.5 } }),
      "RangeError",
      "Cannot declare supervisor: backoff.jitter must be at most 1, received 1.5",
    ],
    [
      () => supervisor({ backoff: { factor: 0.5 } }),
      "RangeError",
      "Cannot declare supervisor: backoff.factor must be at least 1, received 0.5",
    ],
    [
      () => supervisor(loose({ colour: "red" })),
      "TypeError",
      'Cannot declare supervisor: unknown option "colour"',
    ],
    [
      () =>
        supervisor({
          children: [
            child("db", Supervised, { args }),
            child("cache", Supervised, { args }),
            child("db", Supervised, { args }),
          ],
        }),
      "TypeError",
      'Cannot declare supervisor: two children have the id "db"',
    ],
    [
      () => supervisor({ children: [loose({ id: "db" })] }),
      "TypeError",
      "Cannot declare supervisor: children.0 must be made by child(), received object",
    ],
  ];
  for (const [build, name, message] of cases) throws(build, { name, message });
});

test("a bad spawn option or root is refused before anything starts", async () => {
  const before = liveWorkers();
  await rejects(
    ActorSystem.start({ name: "bad-root", root: {} as ReturnType<typeof supervisor> }),
    {
      name: "TypeError",
      message: 'Cannot start actor system "bad-root": root must be made by supervisor()',
    },
  );
  const log = new SharedLog(["db"]);
  await using system = await start("bad-spawn", tree([]));
  await rejects(
    // deno-lint-ignore no-explicit-any
    system.spawn(Supervised, { args: log.args("db"), restart: "sometimes" as any }),
    {
      name: "TypeError",
      message:
        'Cannot spawn "supervised": restart must be one of "permanent", "transient", "temporary", received "sometimes"',
    },
  );
  await rejects(system.spawn(Supervised, { args: log.args("db"), shutdownMs: -5 }), {
    name: "RangeError",
    message: 'Cannot spawn "supervised": shutdownMs must be greater than 0, received -5',
  });
  deepEqual(system.supervisor("/").children(), []);
  equal(liveWorkers(), before);
  deepEqual(log.entries(), []);
});

// ---- events -------------------------------------------------------------------------------------

test("events: for await sees crashed (with the error), restarted, shutdown and stopped, then ends", async () => {
  const log = new SharedLog(["a"]);
  const system = await start("events", tree(actors(log, ["a"])));
  const collected = (async () => {
    const out: SystemEvent[] = [];
    for await (const event of system.events) out.push(event);
    return out;
  })();
  const done = restarted(system, "/a");
  system.lookup(Supervised, "/a").tell("crash", {});
  await done;
  await system.shutdown();
  const events = await collected; // the iteration ended when the system closed
  deepEqual(events.map((event) => `${event.type} ${event.path}`), [
    "dead_letter /a", // the crashing tell (at most once)
    "crashed /a",
    "restarted /a",
    "shutdown /",
    "stopped /a",
  ]);
  const [letter, crashed, again, shutdown] = events;
  assert(letter.type === "dead_letter");
  equal(letter.letter.reason, "crashed");
  equal(letter.letter.error?.message, "boom in /a");
  assert(crashed.type === "crashed");
  equal(crashed.error.message, "boom in /a");
  assert(again.type === "restarted");
  equal(again.restarts, 1);
  assert(shutdown.type === "shutdown");
  equal(shutdown.error, undefined);
});
