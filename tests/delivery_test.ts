import { deepEqual, equal, ok as assert, rejects, throws } from "node:assert/strict";
import {
  ActorCrashedError,
  ActorSystem,
  child,
  type DeadLetter,
  HandlerTimeoutError,
  supervisor,
  type SystemEvent,
} from "../mod.ts";
import { deserializeError, serializeError } from "../mailbox/wire.ts";
import { Dying, Logged, Rejecting, Slow, Stuck } from "./fixtures/delivery.ts";
import { nextEvent, test, waitForFlag } from "./_helpers.ts";

const calm = supervisor({
  intensity: { maxRestarts: 10_000, periodMs: 1_000 },
  backoff: { initialMs: 0, jitter: 0 },
});

function ints(n: number): Int32Array<SharedArrayBuffer> {
  return new Int32Array(new SharedArrayBuffer(n * 4));
}

function ids(letters: readonly DeadLetter[]): number[] {
  return letters.map((letter) => (letter.payload as { id: number }).id);
}

for (const how of ["exit", "close"] as const) {
  test(`at least once: 3 worker deaths (${how}) by 3 messages charge those alone; a poison message is quarantined`, async () => {
    const total = 1_000;
    const seen = ints(total);
    const attempts = ints(total);
    const died = ints(total);
    const dieOnce = [100, 400, 700];
    const poison = 900;
    await using system = await ActorSystem.start({ name: "deaths", root: calm });
    const dying = await system.spawn(Dying, {
      args: { seen, attempts, died, dieOnce, poison, how },
      delivery: "at_least_once",
      maxDeliveries: 3,
    });
    for (let id = 0; id < total; id++) dying.tell("work", { id });
    equal(await dying.ask("done", {}, { timeoutMs: 60_000 }), true);

    const letters = system.deadLetters();
    deepEqual(letters.map((letter) => [ids([letter])[0], letter.reason]), [[
      poison,
      "quarantined",
    ]]);
    equal(letters[0].errors?.length, 3);
    const innocent = ids(letters).filter((id) => id !== poison);
    deepEqual(innocent, [], "innocent quarantined");
    for (let id = 0; id < total; id++) {
      if (id === poison) continue;
      // Handled exactly once: the deaths charged no message that had run or only been prefetched.
      equal(Atomics.load(seen, id), 1, `message ${id} handled ${Atomics.load(seen, id)} times`);
      // ctx.delivery: the dying messages ran again as their second attempt, the others once.
      equal(Atomics.load(attempts, id), dieOnce.includes(id) ? 2 : 1, `attempt of ${id}`);
    }
    equal(Atomics.load(attempts, poison), 3);
    equal(Atomics.load(seen, poison), 0);
  });
}

test("at most once: one Deno.exit among 5,000 tells dead-letters the running message alone", async () => {
  const total = 5_000;
  const seen = ints(total);
  const died = ints(total);
  await using system = await ActorSystem.start({ name: "exit-once", root: calm });
  const dying = await system.spawn(Dying, {
    args: { seen, attempts: ints(total), died, dieOnce: [2_500], poison: -1, how: "exit" },
    mailbox: { capacity: total },
  });
  for (let id = 0; id < total; id++) dying.tell("work", { id });
  equal(await dying.ask("done", {}, { timeoutMs: 60_000 }), true);

  const letters = system.deadLetters();
  const handledButDead = ids(letters).filter((id) => Atomics.load(seen, id) > 0);
  deepEqual(handledButDead, [], "handled messages reported dead");
  deepEqual(letters.map((letter) => [ids([letter])[0], letter.reason]), [[2_500, "crashed"]]);
  equal(letters[0].error?.message, "The worker guest exited with code 3");
  for (let id = 0; id < total; id++) {
    equal(Atomics.load(seen, id), id === 2_500 ? 0 : 1, `message ${id}`);
  }
});

test("process: a Deno.exit sends the acks of what was handled first; no handled message is dead", async () => {
  const total = 500;
  const dir = await Deno.makeTempDir();
  try {
    const log = `${dir}/handled.log`;
    await Deno.writeTextFile(log, "");
    await using system = await ActorSystem.start({ name: "process-exit", root: calm });
    const logged = await system.spawn(Logged, {
      placement: "process",
      args: { log, marker: `${dir}/exited`, exitAt: 250 },
      permissions: { read: [dir], write: [dir] },
    });
    const restarted = nextEvent(system.events, "restarted");
    for (let id = 0; id < total; id++) logged.tell("work", { id });
    // An ask sent now could be in flight when the subprocess dies (and so rejected): ask after.
    await restarted;
    equal(await logged.ask("done", {}, { timeoutMs: 60_000 }), true);
    const handled = (await Deno.readTextFile(log)).trim().split("\n").map(Number);
    const dead = ids(system.deadLetters());
    assert(dead.includes(250));
    deepEqual(dead.filter((id) => handled.includes(id)), [], "handled messages reported dead");
    // At most once: every message was handled once or is a dead letter (the subprocess shares no
    // memory, so every unacknowledged message counted as in flight).
    deepEqual([...handled, ...dead].sort((a, b) => a - b), [...Array(total).keys()]);
    assert(system.deadLetters().every((letter) => letter.reason === "crashed"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

test("shared worker: an unhandled rejection is charged to the running message, not to other actors", async () => {
  const total = 1_000;
  const seenA = ints(total);
  const seenB = ints(total);
  await using system = await ActorSystem.start({
    name: "shared-fault",
    root: calm,
    sharedWorkers: 1,
    heartbeat: false,
  });
  const options = { placement: "shared", delivery: "at_least_once" } as const;
  const a = await system.spawn(Rejecting, {
    ...options,
    name: "a",
    args: { seen: seenA, reject: 500 },
    maxDeliveries: 1,
  });
  const b = await system.spawn(Rejecting, {
    ...options,
    name: "b",
    args: { seen: seenB, reject: -1 },
    maxDeliveries: 1,
  });
  for (let id = 0; id < total; id++) {
    a.tell("work", { id });
    b.tell("work", { id });
  }
  equal(await a.ask("done", {}, { timeoutMs: 60_000 }), true);
  equal(await b.ask("done", {}, { timeoutMs: 60_000 }), true);
  const letters = system.deadLetters();
  deepEqual(letters.map((letter) => [letter.path, ids([letter])[0], letter.reason]), [
    ["/a", 500, "quarantined"],
  ]);
  equal(letters[0].error?.message, "Uncaught error in a shared guest: unhandled 500");
  for (let id = 0; id < total; id++) {
    equal(Atomics.load(seenA, id), id === 500 ? 0 : 1, `a: message ${id}`);
    equal(Atomics.load(seenB, id), 1, `b: message ${id}`);
  }
});

test("one_for_all: a tell that throws while a sibling's crash recycles its actor is charged and redelivered", async () => {
  const root = supervisor({
    strategy: "one_for_all",
    intensity: { maxRestarts: 100, periodMs: 1_000 },
    backoff: { initialMs: 0, jitter: 0 },
    children: [
      child("slow", Slow, { delivery: "at_least_once", maxDeliveries: 5 }),
      child("sibling", Slow),
    ],
  });
  await using system = await ActorSystem.start({ name: "recycle", root, heartbeat: false });
  const events: SystemEvent[] = [];
  system.events.on((event) => events.push(event));
  const slow = system.lookup(Slow, "/slow");
  const running = ints(1);
  const runs = ints(1);
  slow.tell("slow", { running, runs });
  await waitForFlag(running);
  const restarted = nextEvent(system.events, "restarted", (event) => event.path === "/slow");
  system.lookup(Slow, "/sibling").tell("crash", {});
  await restarted;
  // The redelivery runs in the new incarnation as attempt 2 (of 5), ahead of this ask.
  deepEqual(await slow.ask("attempts", {}), [2]);
  equal(Atomics.load(runs, 0), 2);
  // The sibling's crashing tell (at most once) is its only dead letter.
  deepEqual(system.deadLetters().map((letter) => [letter.path, letter.reason]), [
    ["/sibling", "crashed"],
  ]);
  const crashes = events.flatMap((event) =>
    event.type === "crashed" ? [[event.path, event.error.message]] : []
  );
  deepEqual(crashes, [["/sibling", "sibling crash"], ["/slow", "interrupted by the recycle"]]);
});

test("one_for_all: a handler that throws once the recycle's stop flag is set, before the stop frame arrives, is a crash", async () => {
  const root = supervisor({
    strategy: "one_for_all",
    intensity: { maxRestarts: 100, periodMs: 1_000 },
    backoff: { initialMs: 0, jitter: 0 },
    children: [child("slow", Slow), child("sibling", Slow)],
  });
  await using system = await ActorSystem.start({ name: "flag", root, heartbeat: false });
  const events: SystemEvent[] = [];
  system.events.on((event) => events.push(event));
  const slow = system.lookup(Slow, "/slow");
  const running = ints(1);
  const runs = ints(1);
  slow.tell("spin", { running, runs });
  await waitForFlag(running);
  const restarted = nextEvent(system.events, "restarted", (event) => event.path === "/slow");
  system.lookup(Slow, "/sibling").tell("crash", {});
  await restarted;
  // At most once: the message that threw is not run again in the new incarnation.
  deepEqual(await slow.ask("attempts", {}), []);
  equal(Atomics.load(runs, 0), 1);
  deepEqual(system.deadLetters().map((letter) => [letter.path, letter.kind, letter.reason]), [
    ["/sibling", "crash", "crashed"],
    ["/slow", "spin", "crashed"],
  ]);
  const crashes = events.flatMap((event) =>
    event.type === "crashed" ? [[event.path, event.error.message]] : []
  );
  deepEqual(crashes, [["/sibling", "sibling crash"], ["/slow", "interrupted by the stop flag"]]);
});

/** The crashed and hung events of a system, as `[type, path, error class, message]`. */
function failures(events: readonly SystemEvent[]): unknown[][] {
  return events.flatMap((event) =>
    event.type === "crashed" || event.type === "hung"
      ? [[event.type, event.path, event.error.constructor.name, event.error.message]]
      : []
  );
}

const beat = { intervalMs: 20, timeoutMs: 10_000 };

for (const placement of ["worker", "shared", "local"] as const) {
  test(`handlerTimeoutMs (${placement}): an async handler that never settles is fenced and restarted in place`, async () => {
    await using system = await ActorSystem.start({ name: "never", root: calm, heartbeat: beat });
    const events: SystemEvent[] = [];
    system.events.on((event) => events.push(event));
    const stuck = await system.spawn(Stuck, {
      placement,
      handlerTimeoutMs: 200,
      delivery: "at_least_once",
      maxDeliveries: 2,
    });
    const before = await stuck.ask("ping", {});
    const cells = await stuck.ask("cells", {});
    const running = ints(1);
    const quarantined = nextEvent(system.events, "dead_letter");
    stuck.tell("never", { running });
    await waitForFlag(running);
    // The heartbeat timer is unref'd: with a local actor nothing else keeps the event loop alive.
    const keepAlive = setInterval(() => {}, 1_000);
    // At least once: charged once per timeout, quarantined after maxDeliveries (2).
    const letter = (await quarantined).letter;
    clearInterval(keepAlive);
    equal(letter.reason, "quarantined");
    equal(letter.errors?.length, 2);
    for (const error of letter.errors ?? []) {
      assert(error instanceof HandlerTimeoutError);
      equal(error.message, 'Handler of "never" in /stuck did not settle within 200 ms');
    }
    assert((await stuck.ask("ping", {})) !== before);
    // The same thread runs the new cells: the guest was kept.
    equal(await stuck.ask("cells", {}), cells + 2);
    const message = 'Handler of "never" in /stuck did not settle within 200 ms';
    deepEqual(failures(events), [
      ["crashed", "/stuck", "HandlerTimeoutError", message],
      ["crashed", "/stuck", "HandlerTimeoutError", message],
    ]);
    equal(system.stats().abandonedThreads, 0);
  });
}

test("handlerTimeoutMs: a synchronous handler past it has its worker replaced and its thread abandoned", async () => {
  await using system = await ActorSystem.start({ name: "spin", root: calm, heartbeat: beat });
  const events: SystemEvent[] = [];
  system.events.on((event) => events.push(event));
  const stuck = await system.spawn(Stuck, { handlerTimeoutMs: 200 });
  const running = ints(1);
  const restarted = nextEvent(system.events, "restarted");
  stuck.tell("spin", { running });
  const pending = stuck.ask("ping", {}, { timeoutMs: 30_000 });
  await waitForFlag(running);
  await restarted;
  // The ask was prefetched behind the spinning tell, never started: redelivered, answered.
  equal(typeof await pending, "string");
  equal(await stuck.ask("cells", {}), 1, "a new worker runs the actor");
  const message = 'Handler of "spin" in /stuck did not settle within 200 ms';
  deepEqual(failures(events), [
    ["hung", "/stuck", "HandlerTimeoutError", message],
    ["crashed", "/stuck", "HandlerTimeoutError", message],
  ]);
  const letters = system.deadLetters();
  deepEqual(letters.map((l) => [l.kind, l.reason, l.error?.message]), [[
    "spin",
    "crashed",
    message,
  ]]);
  assert(letters[0].error instanceof HandlerTimeoutError);
  equal(system.stats().abandonedThreads, 1);
});

test("handlerTimeoutMs: ctx.working() extends the deadline of a long handler", async () => {
  await using system = await ActorSystem.start({ name: "working", root: calm, heartbeat: beat });
  const events: SystemEvent[] = [];
  system.events.on((event) => events.push(event));
  const stuck = await system.spawn(Stuck, { handlerTimeoutMs: 1_000 });
  // Runs 2.5 times its limit, calling ctx.working() every 20 ms.
  const beats = await stuck.ask("long", { ms: 2_500, beatMs: 20 });
  assert(beats > 0);
  deepEqual(failures(events), []);
});

test("handlerTimeoutMs in a subprocess: an async handler is fenced, a synchronous one SIGKILLed", async () => {
  await using system = await ActorSystem.start({ name: "process", root: calm, heartbeat: beat });
  const events: SystemEvent[] = [];
  system.events.on((event) => events.push(event));
  const stuck = await system.spawn(Stuck, { placement: "process", handlerTimeoutMs: 300 });
  const first = await stuck.ask("ping", {});

  let restarted = nextEvent(system.events, "restarted");
  await rejects(stuck.ask("long", { ms: 60_000, beatMs: 60_000 }, { timeoutMs: 30_000 }), {
    name: "HandlerTimeoutError",
    message: 'Handler of "long" in /stuck did not settle within 300 ms',
  });
  await restarted;
  const second = await stuck.ask("ping", {});
  assert(second !== first);
  equal(await stuck.ask("cells", {}), 2, "fenced: the same subprocess runs the new cell");

  restarted = nextEvent(system.events, "restarted");
  await rejects(stuck.ask("burn", { ms: 60_000 }, { timeoutMs: 30_000 }), (error: unknown) => {
    assert(error instanceof ActorCrashedError);
    assert(error.cause instanceof HandlerTimeoutError);
    equal(error.cause.message, 'Handler of "burn" in /stuck did not settle within 300 ms');
    return true;
  });
  await restarted;
  equal(await stuck.ask("cells", {}), 1, "SIGKILLed: a new subprocess runs the actor");
  deepEqual(failures(events).map((f) => f.slice(0, 3)), [
    ["crashed", "/stuck", "HandlerTimeoutError"],
    ["crashed", "/stuck", "HandlerTimeoutError"],
  ]);
  equal(system.stats().abandonedThreads, 0);
});

test("handlerTimeoutMs is validated like the other options", async () => {
  throws(() => child("stuck", Stuck, { handlerTimeoutMs: -1 }), {
    name: "RangeError",
    message: 'Cannot declare child "stuck": handlerTimeoutMs must be greater than 0, received -1',
  });
  await using system = await ActorSystem.start({ name: "options", heartbeat: false });
  await rejects(
    system.spawn(Stuck, { handlerTimeoutMs: "1s" as unknown as number }),
    {
      name: "TypeError",
      message: 'Cannot spawn "stuck": handlerTimeoutMs must be of type number, received "1s"',
    },
  );
});

test("HandlerTimeoutError keeps its class and fields across the error codec", () => {
  const sent = new HandlerTimeoutError("/jobs", "work", 100);
  const received = deserializeError(structuredClone(serializeError(sent)));
  assert(received instanceof HandlerTimeoutError);
  equal(received.message, 'Handler of "work" in /jobs did not settle within 100 ms');
  deepEqual([received.path, received.kind, received.timeoutMs], ["/jobs", "work", 100]);
});
