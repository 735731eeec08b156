import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import {
  ActorStoppedError,
  ActorSystem,
  child,
  MailboxFullError,
  type Placement,
  supervisor,
} from "../mod.ts";
import { nextEvent, test } from "./_helpers.ts";
import { Gate } from "./fixtures/stash.ts";

const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

for (const placement of ["local", "worker", "shared", "process"] as Placement[]) {
  test(`${placement}: stashed messages run first after unstashAll, in order, ahead of prefetched ones`, async () => {
    await using system = await ActorSystem.start({ name: "stash", heartbeat: false });
    const gate = await system.spawn(Gate, { name: "gate", placement, prefetch: 16 });
    for (const n of range(1, 200)) gate.tell("put", { n });
    const asked = gate.ask("get", { n: 201 });
    // Sent in the same tick as the open: the guest holds some of these when it unstashes.
    gate.tell("open", {});
    for (const n of range(202, 400)) gate.tell("put", { n });
    equal(await asked, 2010);
    const report = await gate.ask("report", {});
    deepEqual(report.got, range(1, 400));
    equal(report.stashResults.length, 201);
    ok(report.stashResults.every((stashed) => stashed));
    // Neither a stash nor a message dropped by an unstash is charged a delivery.
    ok(report.attempts.every((attempt) => attempt === 1));
    deepEqual(system.deadLetters(), []);
  });
}

test("a stashed ask stays unanswered until it runs again after unstashAll", async () => {
  await using system = await ActorSystem.start({ name: "stash", heartbeat: false });
  const gate = await system.spawn(Gate, { name: "gate", placement: "worker" });
  let answered = false;
  const asked = gate.ask("get", { n: 4 }).then((value) => {
    answered = true;
    return value;
  });
  // The actor handled (and stashed) the ask before it answers this one.
  deepEqual((await gate.ask("report", {})).stashResults, [true]);
  equal(answered, false);
  gate.tell("open", {});
  equal(await asked, 40);
  // unstashAll with an empty stash changes nothing.
  gate.tell("open", {});
  equal(await gate.ask("get", { n: 5 }), 50);
  deepEqual((await gate.ask("report", {})).got, [4, 5]);
});

for (const placement of ["local", "worker"] as Placement[]) {
  test(`${placement}: a crash keeps the stash and puts it back ahead of what was queued`, async () => {
    await using system = await ActorSystem.start({ name: "stash", heartbeat: false });
    const gate = await system.spawn(Gate, { name: "gate", placement, prefetch: 8 });
    for (const n of range(1, 3)) gate.tell("put", { n });
    const asked = gate.ask("get", { n: 4 });
    gate.tell("crash", {});
    for (const n of range(5, 20)) gate.tell("put", { n });
    // After the restart the actor is closed again: the stash (1–4) came back first, then 5–20,
    // and all of them were stashed anew.
    const report = await gate.ask("report", {});
    equal(report.stashResults.length, 20);
    deepEqual(report.got, []);
    gate.tell("open", {});
    equal(await asked, 40);
    deepEqual((await gate.ask("report", {})).got, range(1, 20));
    equal(system.stats().actors.find((a) => a.path === "/gate")?.restarts, 1);
  });
}

test("a recycle (a sibling's crash under one_for_all) keeps the stash and puts it first", async () => {
  const root = supervisor({
    strategy: "one_for_all",
    backoff: { initialMs: 0, jitter: 0 },
    children: [child("gate", Gate), child("sibling", Gate, { placement: "local" })],
  });
  await using system = await ActorSystem.start({ name: "stash", root, heartbeat: false });
  const gate = system.lookup(Gate, "/gate");
  for (const n of range(1, 3)) gate.tell("put", { n });
  const asked = gate.ask("get", { n: 4 });
  deepEqual((await gate.ask("report", {})).stashResults, [true, true, true, true]);
  const restarted = nextEvent(system.events, "restarted", (event) => event.path === "/gate");
  system.lookup(Gate, "/sibling").tell("crash", {});
  await restarted;
  gate.tell("put", { n: 5 });
  gate.tell("open", {});
  equal(await asked, 40);
  const report = await gate.ask("report", {});
  // The new incarnation stashed 1–4 again (they came back first), then 5, and handled them in order.
  deepEqual(report.stashResults, [true, true, true, true, true]);
  deepEqual(report.got, range(1, 5));
});

test("a final stop dead-letters stashed tells and rejects stashed asks with ActorStoppedError", async () => {
  await using system = await ActorSystem.start({ name: "stash", heartbeat: false });
  const gate = await system.spawn(Gate, { name: "gate", placement: "worker" });
  gate.tell("put", { n: 1 });
  const asked = gate.ask("get", { n: 2 });
  gate.tell("put", { n: 3 });
  deepEqual((await gate.ask("report", {})).stashResults, [true, true, true]);
  await gate.stop();
  await rejects(asked, (error: Error) => {
    ok(error instanceof ActorStoppedError);
    equal(error.message, "Actor /gate has stopped");
    return true;
  });
  const letters = system.deadLetters();
  deepEqual(
    letters.map((d) => [d.path, d.kind, d.payload, d.reason]),
    [["/gate", "put", { n: 1 }, "stopped"], ["/gate", "put", { n: 3 }, "stopped"]],
  );
  ok(letters[0].error instanceof ActorStoppedError);
});

test("past stashCapacity, stash() returns false and the message is a dead letter overflow", async () => {
  await using system = await ActorSystem.start({ name: "stash", heartbeat: false });
  const gate = await system.spawn(Gate, { name: "gate", placement: "worker", stashCapacity: 2 });
  for (const n of range(1, 3)) gate.tell("put", { n });
  const asked = gate.ask("get", { n: 4 });
  await rejects(asked, (error: Error) => {
    ok(error instanceof MailboxFullError);
    equal(error.message, "Mailbox of /gate (stash) is full (capacity 2)");
    return true;
  });
  deepEqual((await gate.ask("report", {})).stashResults, [true, true, false, false]);
  deepEqual(
    system.deadLetters().map((d) => [d.kind, d.payload, d.reason]),
    [["put", { n: 3 }, "overflow"], ["get", { n: 4 }, "overflow"]],
  );
  gate.tell("open", {});
  deepEqual((await gate.ask("report", {})).got, [1, 2]);
});

test("stashCapacity must be a positive integer", async () => {
  await using system = await ActorSystem.start({ name: "stash", heartbeat: false });
  await rejects(
    system.spawn(Gate, { name: "gate", stashCapacity: 0 }),
    (error: Error) => error instanceof RangeError && /stashCapacity/.test(error.message),
  );
});

test("ctx.stash() outside a handler throws a TypeError", async () => {
  await using system = await ActorSystem.start({ name: "stash", heartbeat: false });
  const gate = await system.spawn(Gate, { name: "gate", placement: "local" });
  gate.tell("stashLater", {});
  // Its microtask runs once the batch that carried it has been handled.
  await gate.ask("report", {});
  const message =
    "TypeError: Cannot stash from /gate: only a message handler can stash the message it handles";
  deepEqual((await gate.ask("report", {})).errors, [message, message]);
});
