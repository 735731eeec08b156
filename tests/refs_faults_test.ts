/**
 * Fault injection for refs (DESIGN §3.1): asks between actors whose target fails mid-ask, in every
 * pair of placements that crosses a thread or a process; timeouts and full mailboxes seen through a
 * ref; `ctx.spawn` children under a failing or stopping parent; watchers told exactly once; guests
 * that forge their `call` frames. `tests/refs_test.ts` shows the same API working.
 */

import { deepEqual, equal } from "node:assert/strict";
import {
  type ActorRef,
  ActorSystem,
  MailboxFullError,
  type Placement,
  supervisor,
} from "../mod.ts";
import { FakeTime } from "../testing/mod.ts";
import { test } from "./_helpers.ts";
import {
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
    const gate = new Int32Array(new SharedArrayBuffer(GATE_BYTES));
    const held = target.ask("hold", { gate: gate.buffer as SharedArrayBuffer }, {
      timeoutMs: 60_000,
    });
    await entered(gate);
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
  const gate = new Int32Array(new SharedArrayBuffer(GATE_BYTES));
  const held = target.ask("hold", { gate: gate.buffer as SharedArrayBuffer }, {
    timeoutMs: 60_000,
  });
  await entered(gate);
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
