import { deepEqual, equal } from "node:assert/strict";
import { ActorSystem, child, type DeadLetter, supervisor, type SystemEvent } from "../mod.ts";
import { Dying, Slow } from "./fixtures/delivery.ts";
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
