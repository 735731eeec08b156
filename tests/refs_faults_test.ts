/**
 * Fault injection for refs (DESIGN §3.1): asks between actors whose target fails mid-ask, in every
 * pair of placements that crosses a thread or a process; timeouts and full mailboxes seen through a
 * ref; `ctx.spawn` children under a failing or stopping parent; watchers told exactly once; guests
 * that forge their `call` frames. `tests/refs_test.ts` shows the same API working.
 */

import { deepEqual, equal, ok } from "node:assert/strict";
import fc from "fast-check";
import {
  type ActorRef,
  ActorSystem,
  MailboxFullError,
  type Placement,
  supervisor,
} from "../mod.ts";
import { FakeTime } from "../testing/mod.ts";
import { test } from "./_helpers.ts";
import { Forwarder, Sink } from "./fixtures/refs.ts";
import {
  Boss,
  Caller,
  ENTERED,
  GATE_BYTES,
  RELEASED,
  releaseLocal,
  Target,
} from "./fixtures/refs_faults.ts";

/** Waits (without blocking this thread) until a handler on another thread sets `gate[ENTERED]`. */
async function entered(gate: Int32Array): Promise<void> {
  while (Atomics.load(gate, ENTERED) === 0) await new Promise((r) => setTimeout(r, 1));
}

function open(gate: Int32Array): void {
  Atomics.store(gate, RELEASED, 1);
  Atomics.notify(gate, RELEASED);
}

/** Holds the target's handler (its `hold` ask) until `open(gate)`: its mailbox fills behind it. */
async function hold(target: ActorRef<typeof Target.protocol>) {
  const gate = new Int32Array(new SharedArrayBuffer(GATE_BYTES));
  const held = target.ask("hold", { gate: gate.buffer as SharedArrayBuffer }, {
    timeoutMs: 60_000,
  });
  await entered(gate);
  return { gate, held };
}

/** The target's `got`, asked again while its mailbox is still full of what the gate held back. */
async function settledGot(target: ActorRef<typeof Target.protocol>): Promise<number[]> {
  for (;;) {
    try {
      return await target.ask("got", {});
    } catch (error) {
      if (!(error instanceof MailboxFullError)) throw error;
      await new Promise((r) => setTimeout(r, 1));
    }
  }
}

// ---- a target that fails mid-ask ----------------------------------------------------------------

const PAIRS: [Placement, Placement][] = [
  ["worker", "worker"],
  ["worker", "process"],
  ["process", "worker"],
  ["shared", "worker"],
  ["worker", "shared"],
  ["process", "shared"],
  ["shared", "process"],
];

/** How the target's guest exiting reads in the asker's error, by the target's placement. */
const EXITED: Partial<Record<Placement, string>> = {
  worker: "The worker guest exited with code 3",
  shared: "The shared guest exited with code 3",
  process: "The subprocess of /target exited with code 3",
};

/** The pairs where a handler that never yields its thread is tried too (each costs a second). */
const SPIN = new Set(["worker>worker", "worker>process", "process>shared"]);

for (const [from, to] of PAIRS) {
  test(`an ask from a ${from} actor to a ${to} actor that fails mid-ask rejects with a typed error; the ref works after the restart`, async () => {
    await using system = await ActorSystem.start({
      name: "faults",
      heartbeat: { intervalMs: 100, timeoutMs: 5_000 },
      root: supervisor({
        backoff: { initialMs: 0 },
        intensity: { maxRestarts: 100, periodMs: 1_000 },
      }),
    });
    const target = await system.spawn(Target, {
      name: "target",
      placement: to,
      restart: "permanent",
      handlerTimeoutMs: 300,
    });
    const caller = await system.spawn(Caller, {
      name: "caller",
      placement: from,
      args: { target },
    });
    const expected: [string, string][] = [
      ["throwSync", "RangeError: target threw on purpose"],
      ["rejectAsync", "TypeError: target rejected on purpose"],
      ["exit", `ActorCrashedError: Actor /target crashed: ${EXITED[to]}`],
      ["never", 'HandlerTimeoutError: Handler of "never" in /target did not settle within 300 ms'],
    ];
    if (SPIN.has(`${from}>${to}`)) {
      expected.push([
        "spin",
        'ActorCrashedError: Actor /target crashed: Handler of "spin" in /target did not settle within 300 ms',
      ]);
    }
    for (const [kind, error] of expected) {
      equal(await caller.ask("ask", { kind, msg: {}, timeoutMs: 20_000 }), error, kind);
      equal(await caller.ask("ask", { kind: "echo", msg: { n: 7 } }), "ok: 7", `after ${kind}`);
    }
    equal(caller.status, "running", "the asking actor was not hurt");
    equal(system.stats().actors.find((a) => a.path === "/caller")?.restarts, 0);
  });
}

// ---- timeouts and full mailboxes through a ref --------------------------------------------------

for (const from of ["worker", "process"] as Placement[]) {
  test(`an ask from a ${from} actor with its own timeoutMs rejects with AskTimeoutError`, async () => {
    await using system = await ActorSystem.start({ name: "faults", heartbeat: false });
    const target = await system.spawn(Target, {
      name: "target",
      placement: "worker",
      shutdownMs: 100,
    });
    const caller = await system.spawn(Caller, {
      name: "caller",
      placement: from,
      args: { target },
    });
    equal(
      await caller.ask("ask", { kind: "never", msg: {}, timeoutMs: 50 }),
      'AskTimeoutError: Ask "never" to /target timed out after 50 ms',
    );
    equal(
      await caller.ask("ask", { kind: "echo", msg: { n: 1 }, timeoutMs: -1 }),
      'RangeError: Cannot ask "echo": timeoutMs must be positive, received -1',
    );
  });
}

for (const overflow of ["drop_newest", "reject"] as const) {
  test(`sends and asks through a ref into a full ${overflow} mailbox reject with MailboxFullError; tells are dead letters`, async () => {
    await using system = await ActorSystem.start({ name: "faults", heartbeat: false });
    const target = await system.spawn(Target, {
      name: "target",
      placement: "worker",
      mailbox: { capacity: 2, overflow },
      prefetch: 1,
    });
    const caller = await system.spawn(Caller, {
      name: "caller",
      placement: "worker",
      args: { target },
    });
    const { gate, held } = await hold(target);
    using _open = { [Symbol.dispose]: () => open(gate) }; // even when an assertion fails
    const full = "MailboxFullError: Mailbox of /target is full (capacity 2)";
    deepEqual(await caller.ask("sendMany", { from: 1, to: 4 }), [
      "ok: undefined",
      "ok: undefined",
      full,
      full,
    ]);
    equal(await caller.ask("ask", { kind: "echo", msg: { n: 1 } }), full);
    equal(await caller.ask("tellMany", { from: 5, to: 6 }), "told");
    const letters = system.deadLetters().filter((d) => d.path === "/target");
    deepEqual(letters.map((d) => [d.kind, d.payload, d.reason, d.error?.name]), [
      ["put", { n: 5 }, "overflow", overflow === "reject" ? "MailboxFullError" : undefined],
      ["put", { n: 6 }, "overflow", overflow === "reject" ? "MailboxFullError" : undefined],
    ]);
    open(gate);
    equal(await held, "released");
    deepEqual(await settledGot(target), [1, 2]);
  });
}

test("sends through a ref wait on a full backpressure mailbox and all arrive, in order", async () => {
  await using system = await ActorSystem.start({ name: "faults", heartbeat: false });
  const target = await system.spawn(Target, {
    name: "target",
    placement: "worker",
    mailbox: { capacity: 2, overflow: "backpressure" },
    prefetch: 1,
  });
  const caller = await system.spawn(Caller, {
    name: "caller",
    placement: "process",
    args: { target },
  });
  const { gate, held } = await hold(target);
  using _open = { [Symbol.dispose]: () => open(gate) };
  let settled = false;
  const sends = caller.ask("sendMany", { from: 1, to: 6 }).finally(() => settled = true);
  await new Promise((r) => setTimeout(r, 100)); // time for the sends to reach the full mailbox
  equal(settled, false, "a send into a full backpressure mailbox settled before there was room");
  open(gate);
  equal(await held, "released");
  deepEqual(await sends, Array(6).fill("ok: undefined"));
  deepEqual(await target.ask("got", {}), [1, 2, 3, 4, 5, 6]);
});

for (const overflow of ["reject", "backpressure"] as const) {
  test(`a timer that finds its actor's ${overflow} mailbox full leaves dead letters and throws nothing`, async () => {
    using time = new FakeTime();
    await using system = await ActorSystem.start({ name: "faults", heartbeat: false });
    const target = await system.spawn(Target, {
      name: "target",
      placement: "local",
      mailbox: { capacity: 2, overflow },
      prefetch: 1,
    });
    target.tell("every", { ms: 10 });
    const held = target.ask("holdLocal", {}, { timeoutMs: 60_000 });
    using _open = { [Symbol.dispose]: releaseLocal };
    await time.tickAsync(50); // five ticks: two queued, three refused
    const letters = system.deadLetters().filter((d) => d.path === "/target");
    deepEqual(letters.map((d) => [d.kind, d.reason, d.error?.message]), [
      ["put", "overflow", "Mailbox of /target is full (capacity 2)"],
      ["put", "overflow", "Mailbox of /target is full (capacity 2)"],
      ["put", "overflow", "Mailbox of /target is full (capacity 2)"],
    ]);
    releaseLocal();
    equal(await held, "released");
    await target.stop();
  });
}

// ---- ctx.spawn children -------------------------------------------------------------------------

const KID_PLACEMENTS: Placement[] = ["local", "worker", "shared", "process"];

/** A worker actor with one child in each placement. */
async function bossWithKids(system: ActorSystem, placement: Placement = "worker") {
  const boss = await system.spawn(Boss, { name: "boss", placement, restart: "permanent" });
  const kids = [];
  for (const where of KID_PLACEMENTS) {
    kids.push(await boss.ask("spawn", { name: where, placement: where }, { timeoutMs: 30_000 }));
  }
  deepEqual(kids.map((kid) => kid.path), KID_PLACEMENTS.map((where) => `/boss/${where}`));
  for (const kid of kids) equal(await kid.ask("echo", { n: 1 }), 1);
  return { boss, kids };
}

test("ctx.spawn children in every placement stop when their parent stops", async () => {
  await using system = await ActorSystem.start({ name: "faults", heartbeat: false });
  const { boss, kids } = await bossWithKids(system);
  await boss.stop();
  for (const kid of kids) deepEqual(await kid.stopped(), { reason: "stopped" }, kid.path);
  deepEqual(system.stats().actors.map((a) => a.path), []);
});

test("ctx.spawn children in every placement stop when their parent crashes; the parent restarts", async () => {
  await using system = await ActorSystem.start({ name: "faults", heartbeat: false });
  const { boss, kids } = await bossWithKids(system);
  boss.tell("crash", {});
  for (const kid of kids) deepEqual(await kid.stopped(), { reason: "stopped" }, kid.path);
  deepEqual(await boss.ask("downs", {}), []);
  equal(system.stats().actors.find((a) => a.path === "/boss")?.restarts, 1);
  deepEqual(system.stats().actors.map((a) => a.path), ["/boss"]);
});

test("system.shutdown() stops ctx.spawn children in every placement, a process parent's too", async () => {
  const system = await ActorSystem.start({ name: "faults", heartbeat: false });
  const { kids } = await bossWithKids(system, "process");
  await system.shutdown();
  for (const kid of kids) deepEqual(await kid.stopped(), { reason: "stopped" }, kid.path);
});

test("children crashing past their restart intensity make their parent crash and restart", async () => {
  await using system = await ActorSystem.start({ name: "faults", heartbeat: false });
  const boss = await system.spawn(Boss, {
    name: "boss",
    placement: "worker",
    restart: "permanent",
  });
  const kids = [];
  for (let i = 0; i < 11; i++) {
    kids.push(await boss.ask("spawn", { name: `k${i}`, placement: "local", restart: "permanent" }));
  }
  // Eleven restarts at once, past the kids' supervisor's 10 in 5 s.
  const crashes = await Promise.all(kids.map((kid) => kid.ask("throwSync", {}).catch(String)));
  deepEqual(new Set(crashes), new Set(["RangeError: target threw on purpose"]));
  // The one past the intensity ends crashed; its siblings are stopped with their supervisor.
  const ends = await Promise.all(kids.map((kid) => kid.stopped()));
  deepEqual(ends.map((end) => end.reason).sort(), ["crashed", ...Array(10).fill("stopped")]);
  equal(ends.find((end) => end.reason === "crashed")?.error?.message, "target threw on purpose");
  equal(await boss.ask("incarnation", {}), 1, "the parent runs again, a new incarnation");
  const stats = system.stats().actors;
  deepEqual(stats.map((a) => [a.path, a.restarts, a.status]), [["/boss", 1, "running"]]);
});

// ---- watchers -----------------------------------------------------------------------------------

for (const placement of ["worker", "process"] as Placement[]) {
  test(`a ${placement} watcher is told once of a target watched twice, restarted, then stopped`, async () => {
    await using system = await ActorSystem.start({ name: "faults", heartbeat: false });
    const boss = await system.spawn(Boss, { name: "boss", placement });
    const target = await system.spawn(Target, { name: "target", placement: "worker" });
    boss.tell("watch", { target });
    boss.tell("watch", { target });
    await boss.ask("downs", {}); // both watches have reached the host
    await target.ask("throwSync", {}).catch(() => {});
    equal(await target.ask("echo", { n: 1 }), 1); // restarted: not a death
    await target.stop();
    await boss.ask("downs", {}); // the notice is queued ahead of this ask
    deepEqual(await boss.ask("downs", {}), ["/target stopped"]);
  });
}

test("a watcher restarting when its target stops is told once, by its next incarnation", async () => {
  await using system = await ActorSystem.start({
    name: "faults",
    heartbeat: false,
    root: supervisor({ backoff: { initialMs: 200, jitter: 0 } }),
  });
  const boss = await system.spawn(Boss, {
    name: "boss",
    placement: "worker",
    restart: "permanent",
  });
  const target = await system.spawn(Target, { name: "target", placement: "worker" });
  boss.tell("watch", { target });
  await boss.ask("downs", {});
  boss.tell("crash", {});
  while (boss.status !== "restarting") await new Promise((r) => setTimeout(r, 1));
  await target.stop();
  equal(boss.status, "restarting");
  deepEqual(await boss.ask("downs", {}), ["/target stopped"]);
  await boss.ask("downs", {});
  deepEqual(await boss.ask("downs", {}), ["/target stopped"]);
  equal(system.stats().actors.find((a) => a.path === "/boss")?.restarts, 1);
});

test("a watcher and its target stopped at once: both stop cleanly, nothing is told twice", async () => {
  await using system = await ActorSystem.start({ name: "faults", heartbeat: false });
  const boss = await system.spawn(Boss, { name: "boss", placement: "worker" });
  const target = await system.spawn(Target, { name: "target", placement: "worker" });
  const other = await system.spawn(Boss, { name: "other", placement: "process" });
  boss.tell("watch", { target });
  other.tell("watch", { target });
  other.tell("watch", { target: boss });
  await boss.ask("downs", {});
  await other.ask("downs", {});
  await Promise.all([boss.stop(), target.stop()]);
  deepEqual(await boss.stopped(), { reason: "stopped" });
  deepEqual(await target.stopped(), { reason: "stopped" });
  await other.ask("downs", {});
  deepEqual((await other.ask("downs", {})).sort(), ["/boss stopped", "/target stopped"]);
  deepEqual(system.deadLetters(), []);
  deepEqual(system.stats().actors.map((a) => a.path), ["/other"]);
});

// ---- hostile guests -----------------------------------------------------------------------------

/** A ref's cloned form naming any uid: what a guest can forge. */
function forged(uid: string, path = "/ghost") {
  return { "~troupe": "ref", path, uid, def: "file:///nowhere.ts#target" };
}

/** An untrusted caller (a worker) and its target, for the forged-frame tests. */
async function forgers(system: ActorSystem) {
  const target = await system.spawn(Target, { name: "target", placement: "worker" });
  const caller = await system.spawn(Caller, {
    name: "caller",
    placement: "worker",
    restart: "permanent",
    args: { target },
  });
  return { target, caller };
}

/** The caller's next call frame rewritten by `change` (`null` removes a key); how it settled. */
function forge(caller: ActorRef<typeof Caller.protocol>, change: Record<string, unknown>) {
  const { nest, ...rest } = change as { nest?: number };
  return caller.ask("forge", { change: rest, op: "ask", nest }, { timeoutMs: 10_000 }).catch(
    (error) => `rejected ${error.name}: ${error.message}`,
  );
}

test("forged call frames from a guest each end in a typed error; the host survives and imports nothing", async () => {
  await using system = await ActorSystem.start({ name: "faults", heartbeat: false });
  const { target, caller } = await forgers(system);
  const evil = "data:text/javascript,globalThis.troupePwned=1#evil";
  const malformed =
    "rejected ActorCrashedError: Actor /caller crashed: The worker guest /caller sent a malformed frame: frame 0:";
  const cases: [Record<string, unknown>, string][] = [
    [{ to: forged("no-such-uid") }, "ActorStoppedError: Actor /ghost has stopped"],
    [{ to: forged(target.uid, "/elsewhere") }, "ok: 1"], // the uid names the actor, not the path
    [{ kind: "constructor" }, 'TypeError: Unknown message kind "constructor" for /target'],
    [{ kind: "__proto__" }, 'TypeError: Unknown message kind "__proto__" for /target'],
    [{ kind: "toString" }, 'TypeError: Unknown message kind "toString" for /target'],
    [{ op: "tell", kind: "hasOwnProperty" }, 'ok: "told"'], // a dead letter, below
    [{ timeoutMs: NaN }, 'RangeError: Cannot ask "echo": timeoutMs must be positive, received NaN'],
    [{ timeoutMs: -5 }, 'RangeError: Cannot ask "echo": timeoutMs must be positive, received -5'],
    [
      { payload: { n: "x".repeat(1_000_000) } },
      'InvalidMessageError: Invalid "echo" message for /target: n: Invalid input: expected number, received string',
    ],
    [
      { op: "lookup", payload: null },
      "TypeError: Cannot look up from /caller: path and definition must be strings",
    ],
    [
      { op: "lookup", payload: { path: 5, def: "x" } },
      "TypeError: Cannot look up from /caller: path and definition must be strings",
    ],
    [
      { op: "spawn", payload: { def: evil, options: {} } },
      `TypeError: Cannot spawn "evil" from /caller: its definition (${evil}) is not loaded where the system runs; import its module there (from the parent's module, say)`,
    ],
    [
      { op: "spawn", payload: null },
      "TypeError: Cannot spawn from /caller: a definition and options are needed",
    ],
    [
      { op: "spawn", payload: { def: `${Target.url}#target`, options: { placement: "mars" } } },
      'TypeError: Cannot spawn "target": placement must be one of "local", "worker", "shared", "process", received "mars"',
    ],
    [
      { op: "stopped", to: null },
      'TypeError: Cannot serve "stopped" from /caller: the call names no actor',
    ],
    [
      { op: "watch", to: null },
      'TypeError: Cannot serve "watch" from /caller: the call names no actor',
    ],
    [
      { op: "unwatch", to: null },
      'TypeError: Cannot serve "unwatch" from /caller: the call names no actor',
    ],
    [
      { op: "timer", payload: null },
      "TypeError: Cannot start a timer of /caller: key must be a string",
    ],
    [
      { op: "timer", payload: { key: "t", msg: {}, ms: "soon" } },
      "TypeError: Cannot start a timer of /caller: ms must be a finite number, received soon",
    ],
    [{ op: "stop", to: forged("no-such-uid") }, "ok: undefined"],
    [{ id: 999 }, "TypeError: Cannot serve a call of actor 999: not on this guest"],
    [{ op: "explode" }, `${malformed} call.op is "explode"`],
    [{ to: { ...forged("x"), path: 5 } }, `${malformed} call.to is not a ref`],
    [{ kind: 5 }, `${malformed} call.kind is the number 5`],
    [
      { nest: 600 }, // deeper than a guest lets a payload go
      'InvalidMessageError: Invalid "echo" message for /target: n: Invalid input: expected number, received object',
    ],
    [
      { op: "spawn", nest: 600 },
      "TypeError: Cannot spawn from /caller: a definition and options are needed",
    ],
  ];
  for (const [change, expected] of cases) {
    equal(await forge(caller, change), expected, JSON.stringify(change).slice(0, 100));
    equal(await caller.ask("ask", { kind: "echo", msg: { n: 2 } }), "ok: 2");
  }
  equal((globalThis as { troupePwned?: unknown }).troupePwned, undefined);
  deepEqual(
    system.deadLetters().map((d) => [d.path, d.kind, d.reason, d.error?.message]),
    [["/target", "hasOwnProperty", "invalid", 'Unknown message kind "hasOwnProperty" for /target']],
  );
  equal(await target.ask("echo", { n: 3 }), 3);
});

/** The ops a guest may call; `stopped` of a live actor waits for its end, as it should: not here. */
const OPS = ["tell", "send", "ask", "watch", "unwatch", "lookup", "spawn", "timer"];

const change: fc.Arbitrary<Record<string, unknown>> = fc.record({
  op: fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...OPS) },
    { weight: 1, arbitrary: fc.constantFrom("cancel_timer", "", "ASK", 7) },
  ),
  kind: fc.oneof(
    fc.constantFrom("echo", "put", "got", "incarnation", "__proto__", "constructor"),
    fc.string({ maxLength: 6 }),
  ),
  payload: fc.oneof(
    fc.anything({ maxDepth: 3 }),
    fc.record({ path: fc.anything({ maxDepth: 1 }), def: fc.anything({ maxDepth: 1 }) }),
    fc.record({
      key: fc.anything({ maxDepth: 0 }),
      msg: fc.anything({ maxDepth: 1 }),
      ms: fc.anything({ maxDepth: 0 }),
    }),
  ),
  to: fc.oneof(
    { weight: 3, arbitrary: fc.constant(null) },
    { weight: 3, arbitrary: fc.string({ maxLength: 8 }).map((uid) => forged(uid)) },
    { weight: 1, arbitrary: fc.anything({ maxDepth: 1 }) },
  ),
  nest: fc.integer({ min: 1, max: 3_000 }),
  timeoutMs: fc.oneof(
    { weight: 3, arbitrary: fc.constant(null) },
    { weight: 3, arbitrary: fc.double() },
    { weight: 3, arbitrary: fc.constantFrom(Infinity, -Infinity, 0, 2 ** 31, 1) },
    { weight: 1, arbitrary: fc.string({ maxLength: 3 }) },
  ),
}, { requiredKeys: [] });

test("property: any forged call from a guest ends in an answer or that guest's crash; the host and the ref go on", async () => {
  await using system = await ActorSystem.start({
    name: "faults",
    heartbeat: false,
    // A malformed frame kills the guest: restart it at once, however often.
    root: supervisor({
      backoff: { initialMs: 0, maxMs: 0 },
      intensity: { maxRestarts: 1_000, periodMs: 1_000 },
    }),
  });
  const { target, caller } = await forgers(system);
  await fc.assert(
    fc.asyncProperty(change, async (change) => {
      const outcome = await forge(caller, change);
      ok(
        /^(ok: |[A-Za-z]*Error: |rejected ActorCrashedError: Actor \/caller crashed: )/
          .test(outcome),
        outcome,
      );
      equal(await caller.ask("ask", { kind: "echo", msg: { n: 2 } }), "ok: 2");
      equal(await target.ask("echo", { n: 3 }), 3);
    }),
    { numRuns: 50 },
  );
});

test("many calls through a ref from a guest: every send arrives, in order, through a bounded mailbox", async () => {
  await using system = await ActorSystem.start({ name: "faults", heartbeat: false });
  const target = await system.spawn(Target, {
    name: "target",
    placement: "worker",
    mailbox: { capacity: 100 },
  });
  const caller = await system.spawn(Caller, {
    name: "caller",
    placement: "process",
    args: { target },
  });
  const sent = await caller.ask("sendMany", { from: 1, to: 3_000 }, { timeoutMs: 60_000 });
  equal(sent.length, 3_000);
  ok(sent.every((outcome) => outcome === "ok: undefined"));
  const got = await target.ask("got", {});
  deepEqual(got, Array.from({ length: 3_000 }, (_, i) => i + 1));
});

// ---- more placements --------------------------------------------------------------------------

for (const placement of ["process", "shared"] as Placement[]) {
  test(`ctx.timers of a ${placement} actor fire under fake time and end with its incarnation`, async () => {
    using time = new FakeTime();
    await using system = await ActorSystem.start({
      name: "faults",
      heartbeat: false,
      root: supervisor({ backoff: { initialMs: 0 } }),
    });
    const target = await system.spawn(Target, { name: "target", placement, restart: "permanent" });
    target.tell("every", { ms: 100 });
    deepEqual(await target.ask("got", {}), []); // the timer has reached the host
    time.tick(250);
    deepEqual(await target.ask("got", {}), [0, 0]);
    await target.ask("throwSync", {}).catch(() => {});
    deepEqual(await target.ask("got", {}), []); // a new incarnation
    time.tick(1_000);
    deepEqual(await target.ask("got", {}), [], "a timer outlived the incarnation that started it");
  });
}

test("a target whose worker stops answering heartbeats: the asking actor sees the crash, the ref works after", async () => {
  await using system = await ActorSystem.start({
    name: "faults",
    heartbeat: { intervalMs: 100, timeoutMs: 500 },
    root: supervisor({ backoff: { initialMs: 0 } }),
  });
  const target = await system.spawn(Target, {
    name: "target",
    placement: "worker",
    restart: "permanent",
  });
  const caller = await system.spawn(Caller, {
    name: "caller",
    placement: "process",
    args: { target },
  });
  const answer = await caller.ask("ask", { kind: "spin", msg: {}, timeoutMs: 20_000 });
  ok(
    // The silence is measured: its length varies with the heartbeat's ticks.
    /^ActorCrashedError: Actor \/target crashed: Guest of \/target answered no heartbeat for \d+ ms$/
      .test(answer),
    answer,
  );
  equal(await caller.ask("ask", { kind: "echo", msg: { n: 5 } }), "ok: 5");
});

test("ref.stopped() from a process actor resolves when the target stops, with how it ended", async () => {
  await using system = await ActorSystem.start({ name: "faults", heartbeat: false });
  const target = await system.spawn(Target, { name: "target", placement: "worker" });
  const caller = await system.spawn(Caller, {
    name: "caller",
    placement: "process",
    args: { target },
  });
  equal(await caller.ask("lookup", { path: "/target" }), `ok: "${target.uid}"`);
  // The caller is busy until the target's end: whether its call reaches the host before or after
  // the stop, it resolves the same way.
  const joined = caller.ask("forge", { change: {}, op: "stopped" }, { timeoutMs: 30_000 });
  await target.stop();
  equal(await joined, 'ok: {"reason":"stopped"}');
  equal(await caller.ask("lookup", { path: "/target" }), "TypeError: Cannot find actor /target");
  equal(
    await caller.ask("ask", { kind: "echo", msg: { n: 1 } }),
    "ActorStoppedError: Actor /target has stopped",
  );
});

for (const placement of ["worker", "shared", "process", "local"] as Placement[]) {
  test(`a ${placement} child stopping its parent through ctx.parent goes on, and both stop`, async () => {
    await using system = await ActorSystem.start({ name: "faults", heartbeat: false });
    const boss = await system.spawn(Boss, { name: "boss", placement: "worker" });
    const kid = await boss.ask("spawn", { name: "kid", placement });
    // The parent stops its children first, this one included: the stop cannot wait for itself.
    equal(await kid.ask("stopParent", {}, { timeoutMs: 30_000 }), "stopped /boss");
    deepEqual(await kid.stopped(), { reason: "stopped" });
    deepEqual(await boss.stopped(), { reason: "stopped" });
  });
}

test("an actor stopping itself through a ref to itself (not ctx.self) goes on, and stops", async () => {
  await using system = await ActorSystem.start({ name: "faults", heartbeat: false });
  const { caller } = await forgers(system);
  const self = forged(caller.uid, "/caller");
  equal(await forge(caller, { op: "stop", to: self }), "ok: undefined");
  deepEqual(await caller.stopped(), { reason: "stopped" });
});

for (const placement of ["worker", "process"] as Placement[]) {
  test(`a ${placement} watcher whose guest exits keeps its watch: its next guest is told once`, async () => {
    await using system = await ActorSystem.start({
      name: "faults",
      heartbeat: false,
      root: supervisor({ backoff: { initialMs: 0 } }),
    });
    const boss = await system.spawn(Boss, { name: "boss", placement, restart: "permanent" });
    const target = await system.spawn(Target, { name: "target", placement: "worker" });
    boss.tell("watch", { target });
    await boss.ask("downs", {});
    boss.tell("exit", {});
    // A subprocess shares no memory: an ask it had taken counts as running when it dies.
    await boss.ask("downs", {}).catch(() => {});
    deepEqual(await boss.ask("downs", {}), []); // a new guest, the watch still held by the host
    equal(system.stats().actors.find((a) => a.path === "/boss")?.restarts, 1);
    await target.stop();
    await boss.ask("downs", {});
    deepEqual(await boss.ask("downs", {}), ["/target stopped"]);
  });
}

test("sends through a ref waiting on a full mailbox reject when the target stops; what it held is dead", async () => {
  await using system = await ActorSystem.start({ name: "faults", heartbeat: false });
  const target = await system.spawn(Target, {
    name: "target",
    placement: "worker",
    mailbox: { capacity: 2 },
    prefetch: 1,
    shutdownMs: 100,
  });
  const caller = await system.spawn(Caller, {
    name: "caller",
    placement: "process",
    args: { target },
  });
  const { gate, held } = await hold(target);
  using _open = { [Symbol.dispose]: () => open(gate) };
  const sends = caller.ask("sendMany", { from: 1, to: 5 }, { timeoutMs: 30_000 });
  // The first two fit; wait until the other three wait for room.
  while (system.stats().actors.find((a) => a.path === "/target")!.mailboxDepth < 3) {
    await new Promise((r) => setTimeout(r, 1));
  }
  await target.stop(); // the held handler never returns: its worker is ended after shutdownMs
  const stopped = "ActorStoppedError: Actor /target has stopped";
  deepEqual(await sends, ["ok: undefined", "ok: undefined", stopped, stopped, stopped]);
  await held.then(
    () => ok(false, "the held ask resolved"),
    (error) => equal(error.message, "Actor /target has stopped"),
  );
  deepEqual(
    system.deadLetters().map((d) => [d.kind, d.payload, d.reason]),
    [["put", { n: 1 }, "stopped"], ["put", { n: 2 }, "stopped"]],
  );
});

test("a ref in args reaches shared and process actors from every placement (refs_test covers worker and local)", async () => {
  await using system = await ActorSystem.start({ name: "refs", heartbeat: false });
  for (const to of ["shared", "process"] as Placement[]) {
    for (const from of ["local", "worker", "shared", "process"] as Placement[]) {
      const sink = await system.spawn(Sink, { name: `sink-${to}-${from}`, placement: to });
      const fwd = await system.spawn(Forwarder, {
        name: `fwd-${to}-${from}`,
        placement: from,
        args: { sink },
      });
      equal(await fwd.ask("argPath", {}), sink.path);
      for (let n = 1; n <= 5; n++) fwd.tell("fwd", { n });
      equal(await fwd.ask("relay", { n: 100 }), 115, `${from} -> ${to}`);
      deepEqual(await sink.ask("got", {}), [1, 2, 3, 4, 5]);
      equal((await fwd.ask("sinkOf", {}))?.uid, sink.uid);
      await fwd.stop();
      await sink.stop();
    }
  }
});
