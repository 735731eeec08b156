import { deepEqual, equal, notEqual, ok as assert, rejects } from "node:assert/strict";
import { ActorCrashedError, ActorSystem, HungError, supervisor } from "../mod.ts";
import { Chaos, Fragile } from "./fixtures/chaos.ts";
import { nextEvent, test, waitForFlag } from "./_helpers.ts";

const calm = supervisor({
  intensity: { maxRestarts: 10_000, periodMs: 1_000 },
  backoff: { initialMs: 0, jitter: 0 },
});

test("at least once: 100k messages through an actor that crashes about every 1k lose nothing", async () => {
  const total = 100_000;
  const poison = 25_000; // ids 24_999, 49_999, 74_999, 99_999 always crash
  const seen = new Int32Array(new SharedArrayBuffer(total * 4));
  await using system = await ActorSystem.start({ name: "chaos", root: calm });
  let crashes = 0;
  system.events.on((event) => {
    if (event.type === "crashed") crashes++;
  });
  const chaos = await system.spawn(Chaos, {
    args: { seen, crashRate: 0.001, poison },
    delivery: "at_least_once",
    maxDeliveries: 3,
  });
  for (let id = 0; id < total; id++) await chaos.send("work", { id });
  // Wait until the mailbox is empty and every delivery settled.
  for (let i = 0; i < 10_000; i++) {
    await chaos.ask("done", {}, { timeoutMs: 30_000 });
    const stats = system.stats().actors[0];
    if (stats.mailboxDepth === 0 && stats.status === "running") break;
  }
  const poisoned = [24_999, 49_999, 74_999, 99_999];
  const missing: number[] = [];
  for (let id = 0; id < total; id++) {
    if (!poisoned.includes(id) && Atomics.load(seen, id) === 0) missing.push(id);
  }
  deepEqual(missing, [], `lost ${missing.length} messages`);
  const quarantined = system.deadLetters().filter((letter) => letter.reason === "quarantined");
  deepEqual(quarantined.map((letter) => (letter.payload as { id: number }).id), poisoned);
  for (const letter of quarantined) {
    equal(letter.errors?.length, 3);
    assert(letter.errors?.every((e) => e.message.startsWith("poison ")));
  }
  assert(crashes >= 4 * 3, `only ${crashes} crashes`);
  equal(system.deadLetters().length, poisoned.length, "nothing else became a dead letter");
});

test("at most once: a crash dead-letters the message it was handling, not the queued ones", async () => {
  const seen = new Int32Array(new SharedArrayBuffer(100 * 4));
  await using system = await ActorSystem.start({ name: "at-most-once", root: calm });
  const chaos = await system.spawn(Chaos, {
    placement: "local",
    args: { seen, crashRate: 0, poison: 10 },
  });
  for (let id = 0; id < 100; id++) chaos.tell("work", { id });
  await chaos.ask("done", {});
  const crashed = system.deadLetters().filter((letter) => letter.reason === "crashed");
  deepEqual(crashed.map((letter) => (letter.payload as { id: number }).id), [
    9,
    19,
    29,
    39,
    49,
    59,
    69,
    79,
    89,
    99,
  ]);
  for (let id = 0; id < 100; id++) equal(Atomics.load(seen, id), id % 10 === 9 ? 0 : 1);
});

for (const how of ["Deno.exit", "self.close"] as const) {
  test(`a worker that ends itself with ${how} is noticed at once and replaced`, async () => {
    await using system = await ActorSystem.start({ name: "exit", root: calm, heartbeat: false });
    const fragile = await system.spawn(Fragile);
    const before = await fragile.ask("ping", {});
    const crashed = nextEvent(system.events, "crashed");
    const restarted = nextEvent(system.events, "restarted");
    if (how === "Deno.exit") fragile.tell("exit", { code: 3 });
    else fragile.tell("close", {});
    const event = await crashed;
    equal(
      event.error.message,
      `The worker guest exited with code ${how === "Deno.exit" ? 3 : 0}`,
    );
    await restarted;
    notEqual(await fragile.ask("ping", {}), before);
  });
}

test("an uncaught error outside any handler crashes the worker's actors, which restart", async () => {
  await using system = await ActorSystem.start({ name: "fault", root: calm, heartbeat: false });
  const fragile = await system.spawn(Fragile);
  const before = await fragile.ask("ping", {});
  const crashed = nextEvent(system.events, "crashed");
  fragile.tell("throwLater", {});
  const event = await crashed;
  assert(event.error.message.includes("thrown from a timer"), event.error.message);
  await nextEvent(system.events, "restarted");
  notEqual(await fragile.ask("ping", {}), before);
});

test("a worker that stops answering heartbeats is declared hung, its loop told to stop, and replaced", async () => {
  await using system = await ActorSystem.start({
    name: "hung",
    root: calm,
    heartbeat: { intervalMs: 20, timeoutMs: 300 },
  });
  const fragile = await system.spawn(Fragile);
  const before = await fragile.ask("ping", {});
  const hung = nextEvent(system.events, "hung");
  const running = new Int32Array(new SharedArrayBuffer(4));
  const pending = fragile.ask("ping", {}, { timeoutMs: 10_000 });
  fragile.tell("hang", { running });
  await waitForFlag(running);
  const event = await hung;
  assert(event.error instanceof HungError);
  equal(event.path, "/fragile");
  await rejects(pending, ActorCrashedError);
  await nextEvent(system.events, "restarted");
  notEqual(await fragile.ask("ping", {}), before);
  equal(system.stats().abandonedThreads, 1);
});

for (const drainOnStop of [true, false]) {
  test(`drainOnStop ${drainOnStop}: a stop ${drainOnStop ? "handles" : "dead-letters"} what is queued`, async () => {
    const total = 2_000;
    const seen = new Int32Array(new SharedArrayBuffer(total * 4));
    await using system = await ActorSystem.start({ name: "drain", root: calm });
    const chaos = await system.spawn(Chaos, {
      args: { seen, crashRate: 0, poison: total + 1 },
      mailbox: { capacity: total },
      drainOnStop,
    });
    for (let id = 0; id < total; id++) chaos.tell("work", { id });
    await chaos.stop();
    const handled = seen.reduce((sum, n) => sum + n, 0);
    // deadLetters() keeps the last 1000; the count in stats() covers them all.
    const stopped = system.stats().deadLetters;
    assert(system.deadLetters().every((letter) => letter.reason === "stopped"));
    equal(handled + stopped, total, `handled ${handled} + dead letters ${stopped} of ${total}`);
    if (drainOnStop) equal(handled, total);
    else assert(stopped > 0, "a plain stop dead-letters the queue");
  });
}
