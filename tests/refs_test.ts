import { deepEqual, equal, ok } from "node:assert/strict";
import { ActorSystem, type DeadLetter, type Placement, refOf, supervisor } from "../mod.ts";
import { FakeTime } from "../testing/mod.ts";
import { test } from "./_helpers.ts";
import { Forwarder, Holder, Parent, Sink, Ticker } from "./fixtures/refs.ts";

const PLACEMENTS: Placement[] = ["local", "worker", "shared", "process"];

for (const from of PLACEMENTS) {
  for (const to of ["worker", "local"] as Placement[]) {
    test(`a ref in args reaches a ${to} actor from a ${from} actor: tells in order, asks answered`, async () => {
      await using system = await ActorSystem.start({ name: "refs", heartbeat: false });
      const sink = await system.spawn(Sink, { name: "sink", placement: to });
      const fwd = await system.spawn(Forwarder, {
        name: "fwd",
        placement: from,
        args: { sink },
      });
      equal(await fwd.ask("argPath", {}), "/sink");
      for (let n = 1; n <= 5; n++) fwd.tell("fwd", { n });
      equal(await fwd.ask("relay", { n: 100 }), 115);
      deepEqual(await sink.ask("got", {}), [1, 2, 3, 4, 5]);
    });
  }
}

test("a burst of tells from an actor arrives whole and in order, from every placement", async () => {
  await using system = await ActorSystem.start({ name: "refs", heartbeat: false });
  const expected = Array.from({ length: 3_000 }, (_, i) => i + 1);
  for (const placement of PLACEMENTS) {
    const sink = await system.spawn(Sink, {
      name: `sink-${placement}`,
      mailbox: { capacity: Infinity },
    });
    const fwd = await system.spawn(Forwarder, {
      name: `fwd-${placement}`,
      placement,
      args: { sink },
    });
    fwd.tell("burst", { count: 3_000 });
    fwd.tell("fwd", { n: 0 });
    equal(await fwd.ask("relay", { n: 0 }), 3_000 * 3_001 / 2, placement);
    deepEqual(await sink.ask("got", {}), [...expected, 0], placement);
  }
});

test('a burst of tells from an actor past a full mailbox: the rest are dead letters "overflow"', async () => {
  await using system = await ActorSystem.start({ name: "refs", heartbeat: false });
  const sink = await system.spawn(Sink, { name: "sink", mailbox: { capacity: 10 } });
  const fwd = await system.spawn(Forwarder, { name: "fwd", args: { sink } });
  const overflow: DeadLetter[] = [];
  system.events.on((event) => {
    if (event.type === "dead_letter" && event.letter.reason === "overflow") {
      overflow.push(event.letter);
    }
  });
  fwd.tell("burst", { count: 3_000 });
  await fwd.ask("argPath", {});
  const got = await sink.ask("got", {});
  ok(overflow.length > 0);
  equal(got.length + overflow.length, 3_000);
  deepEqual(got, Array.from({ length: got.length }, (_, i) => i + 1));
  equal(overflow[0].error?.name, "MailboxFullError");
});

for (const from of ["worker", "shared"] as Placement[]) {
  test(`tells a ${from} actor cannot deliver are dead letters; the others arrive`, async () => {
    await using system = await ActorSystem.start({ name: "refs", heartbeat: false });
    const sink = await system.spawn(Sink, { name: "sink" });
    const fwd = await system.spawn(Forwarder, { name: "fwd", placement: from, args: { sink } });
    fwd.tell("strays", {});
    equal(await fwd.ask("relay", { n: 0 }), 5);
    deepEqual(await sink.ask("got", {}), [1, 4]);
    const letters = system.deadLetters().map((d) => [d.kind, d.reason, d.error?.message]);
    deepEqual(letters.slice(0, 2), [
      ["nope", "invalid", 'Unknown message kind "nope" for /sink'],
      ["put", "invalid", 'Cannot tell "put": the payload could not be cloned'],
    ]);
    equal(letters[2][0], "put");
    equal(letters[2][1], "invalid");
    equal(letters.length, 3);
  });
}

test("a ref in a message and in a reply arrives working, in every placement", async () => {
  await using system = await ActorSystem.start({ name: "refs", heartbeat: false });
  for (const placement of PLACEMENTS) {
    const sink = await system.spawn(Sink, { name: `sink-${placement}`, placement });
    const fwd = await system.spawn(Forwarder, { name: `fwd-${placement}`, placement, args: {} });
    fwd.tell("use", { sink });
    equal(await fwd.ask("relay", { n: 1 }), 1, placement);
    const back = await fwd.ask("sinkOf", {});
    equal(back?.path, sink.path);
    equal(back?.uid, sink.uid);
    back!.tell("put", { n: 7 });
    deepEqual(await sink.ask("got", {}), [7]);
    const self = await sink.ask("self", {});
    equal(self.uid, sink.uid);
    equal(await self.ask("sum", { n: 1 }), 8);
  }
});

test("an ask to a crashing actor from another actor rejects with the handler's error", async () => {
  await using system = await ActorSystem.start({ name: "refs", heartbeat: false });
  const sink = await system.spawn(Sink, { name: "sink" });
  const fwd = await system.spawn(Forwarder, { name: "fwd", args: { sink } });
  equal(await fwd.ask("crashRelay", {}), "Error: sink crashed on purpose");
  // The sink restarted; the ref still works.
  equal(await fwd.ask("relay", { n: 2 }), 2);
});

test("a ref to a stopped actor behaves as one held by the host", async () => {
  await using system = await ActorSystem.start({ name: "refs", heartbeat: false });
  const sink = await system.spawn(Sink, { name: "sink" });
  const fwd = await system.spawn(Forwarder, { name: "fwd", args: { sink } });
  await sink.stop();
  equal(sink.status, "stopped");
  deepEqual(await sink.stopped(), { reason: "stopped" });
  const answer = fwd.ask("relay", { n: 1 });
  await answer.then(
    () => ok(false, "resolved"),
    (error) => {
      equal(error.name, "ActorStoppedError");
      equal(error.message, "Actor /sink has stopped");
    },
  );
  fwd.tell("fwd", { n: 3 });
  await fwd.ask("argPath", {});
  ok(system.deadLetters().some((d) => d.path === "/sink" && d.kind === "put"));
});

test("ctx.spawn from a worker actor: children at ${path}/${name}, supervised, stopped before their parent", async () => {
  await using system = await ActorSystem.start({ name: "refs", heartbeat: false });
  const parent = await system.spawn(Parent, { name: "parent" });
  const kid = await parent.ask("spawnKid", { name: "kid" });
  equal(kid.path, "/parent/kid");
  const local = await parent.ask("spawnKid", { placement: "local" });
  equal(local.path, "/parent/sink");
  const second = await parent.ask("spawnKid", { placement: "process" });
  equal(second.path, "/parent/sink-2");
  equal(system.lookup(Sink, "/parent/kid").uid, kid.uid);
  kid.tell("put", { n: 4 });
  equal(await kid.ask("sum", { n: 1 }), 5);
  const kidParent = await system.spawn(Parent, { name: "probe" });
  equal(await kidParent.ask("parentPath", {}), "none");
  await parent.stop();
  deepEqual(await kid.stopped(), { reason: "stopped" });
  deepEqual(await second.stopped(), { reason: "stopped" });
  equal(local.status, "stopped");
});

test("a parent's crash stops its ctx.spawn children; the restarted parent spawns afresh", async () => {
  await using system = await ActorSystem.start({ name: "refs", heartbeat: false });
  const parent = await system.spawn(Parent, { name: "parent", restart: "permanent" });
  const kid = await parent.ask("spawnKid", { name: "kid" });
  parent.tell("crash", {});
  deepEqual(await kid.stopped(), { reason: "stopped" });
  // A later actor at the same path is another actor: the old ref does not reach it.
  const again = await parent.ask("spawnKid", { name: "kid" });
  equal(again.path, kid.path);
  ok(again.uid !== kid.uid);
  await kid.ask("got", {}).then(
    () => ok(false, "the old ref reached the new actor"),
    (error) => equal(error.name, "ActorStoppedError"),
  );
});

test("a watcher's onDown runs exactly once when the watched actor stops, and at once for a dead ref", async () => {
  await using system = await ActorSystem.start({ name: "refs", heartbeat: false });
  const watcher = await system.spawn(Parent, { name: "watcher" });
  const sink = await system.spawn(Sink, { name: "sink" });
  watcher.tell("watch", { target: sink });
  watcher.tell("watch", { target: sink }); // twice: still one notice
  equal(await watcher.ask("status", { target: sink }), "running");
  await sink.stop();
  equal(await watcher.ask("join", { target: sink }), "stopped");
  deepEqual(await watcher.ask("downs", {}), [{ path: "/sink", reason: "stopped" }]);
  watcher.tell("watch", { target: sink }); // already gone: reported at once
  await watcher.ask("parentPath", {}); // the watch has reached the host: its notice is queued
  deepEqual(await watcher.ask("downs", {}), [
    { path: "/sink", reason: "stopped" },
    { path: "/sink", reason: "stopped" },
  ]);
  const other = await system.spawn(Sink, { name: "other" });
  watcher.tell("watch", { target: other });
  watcher.tell("unwatch", { target: other });
  await watcher.ask("parentPath", {}); // the unwatch has reached the host
  await other.stop();
  await watcher.ask("parentPath", {});
  equal((await watcher.ask("downs", {})).length, 2);
});

test("a watched actor that crashes and is not restarted is down as crashed; restarts are not downs", async () => {
  await using system = await ActorSystem.start({ name: "refs", heartbeat: false });
  const watcher = await system.spawn(Parent, { name: "watcher" });
  const restarted = await system.spawn(Sink, { name: "restarted" });
  const temporary = await system.spawn(Sink, { name: "temporary", restart: "temporary" });
  watcher.tell("watch", { target: restarted });
  watcher.tell("watch", { target: temporary });
  await watcher.ask("parentPath", {});
  await restarted.ask("crash", {}).catch(() => {});
  await temporary.ask("crash", {}).catch(() => {});
  const exit = await temporary.stopped();
  equal(exit.reason, "crashed");
  equal(exit.error?.message, "sink crashed on purpose");
  equal(await watcher.ask("join", { target: temporary }), "crashed: sink crashed on purpose");
  equal(await restarted.ask("sum", { n: 1 }), 1); // restarted, alive
  deepEqual(await watcher.ask("downs", {}), [{ path: "/temporary", reason: "crashed" }]);
});

test("ctx.timers live on the host: fake time drives them, a key replaces, a restart cancels", async () => {
  using time = new FakeTime();
  await using system = await ActorSystem.start({
    name: "timers",
    heartbeat: false,
    root: supervisor({ backoff: { initialMs: 0 } }),
  });
  const ticker = await system.spawn(Ticker, { name: "ticker", restart: "permanent" });
  ticker.tell("every", { key: "a", ms: 100 });
  deepEqual(await ticker.ask("ticks", {}), []); // the timer has reached the host
  time.tick(250);
  deepEqual(await ticker.ask("ticks", {}), ["a", "a"]);
  ticker.tell("cancel", { key: "a" });
  ticker.tell("every", { key: "c", ms: 100 });
  ticker.tell("once", { key: "c", ms: 10 }); // replaces the repeating timer of that key
  await ticker.ask("ticks", {});
  time.tick(1_000);
  deepEqual(await ticker.ask("ticks", {}), ["a", "a", "c"]);
  equal(
    await ticker.ask("bad", {}),
    'InvalidMessageError: Invalid "tick" message for /ticker: key: Invalid input: expected string, received number',
  );
  ticker.tell("every", { key: "d", ms: 100 });
  await ticker.ask("ticks", {});
  ticker.tell("crash", {});
  deepEqual(await ticker.ask("ticks", {}), []); // a new incarnation
  time.tick(1_000);
  deepEqual(await ticker.ask("ticks", {}), [], "a timer outlived the incarnation that started it");
});

test("the live view's tree shows the children an actor spawned", async () => {
  await using system = await ActorSystem.start({ name: "refs", heartbeat: false });
  const parent = await system.spawn(Parent, { name: "parent" });
  await parent.ask("spawnKid", { name: "kid", placement: "local" });
  const observer = await system.observe({ port: 0 });
  try {
    const stats = await (await fetch(new URL("/stats", observer.url))).json();
    const node = stats.tree.children.find((child: { path: string }) => child.path === "/parent");
    deepEqual(node.children.map((child: { path: string }) => child.path), ["/parent/kid"]);
  } finally {
    await observer.close();
  }
  deepEqual(system.stats().actors.map((actor) => actor.path), ["/parent", "/parent/kid"]);
});

test("a sandboxed actor's children run with its permissions, never the host's", async () => {
  await using system = await ActorSystem.start({ name: "refs", heartbeat: false });
  const parent = await system.spawn(Parent, {
    name: "parent",
    permissions: { read: [new URL("./fixtures/", import.meta.url)] },
  });
  await parent.ask("spawnKid", { name: "kid", placement: "local" }).then(
    () => ok(false, "a local child was spawned"),
    (error) => {
      equal(error.name, "TypeError");
      equal(
        error.message,
        'Cannot spawn "sink" from /parent: it runs with restricted permissions, and a "local" child would run with the host\'s',
      );
    },
  );
  const kid = await parent.ask("spawnKid", { name: "kid" });
  equal(await kid.ask("sum", { n: 2 }), 2);
});

test("a tell through a ref that the target's mailbox refuses is a dead letter: nothing is lost silently", async () => {
  await using system = await ActorSystem.start({ name: "refs", heartbeat: false });
  const sink = await system.spawn(Sink, {
    name: "sink",
    mailbox: { capacity: 1, overflow: "reject" },
  });
  const fwd = await system.spawn(Forwarder, { name: "fwd", args: { sink } });
  for (let n = 1; n <= 10; n++) fwd.tell("fwd", { n });
  await fwd.ask("argPath", {}); // every tell has reached the host
  const refused = system.deadLetters().filter((d) => d.path === "/sink" && d.kind === "put");
  ok(refused.length > 0, "a full mailbox refused nothing");
  for (const letter of refused) {
    equal(letter.reason, "overflow");
    equal(letter.error?.name, "MailboxFullError");
  }
  const got = await sink.ask("got", {});
  equal(got.length + refused.length, 10);
});

test("ctx.spawn works from init, and a restart spawns the children again", async () => {
  await using system = await ActorSystem.start({ name: "refs", heartbeat: false });
  const parent = await system.spawn(Parent, {
    name: "parent",
    restart: "permanent",
    args: { kid: "early" },
  });
  const early = system.lookup(Sink, "/parent/early");
  equal(await early.ask("sum", { n: 3 }), 3);
  parent.tell("crash", {});
  deepEqual(await early.stopped(), { reason: "stopped" });
  await parent.ask("parentPath", {}); // restarted: init ran again
  const again = system.lookup(Sink, "/parent/early");
  ok(again.uid !== early.uid);
  equal(again.status, "running");
});

for (const placement of ["process", "worker"] as Placement[]) {
  test(`ref.stopped() of a ${placement} actor that exited by itself and was not restarted reports the exit code`, async () => {
    await using system = await ActorSystem.start({ name: "refs", heartbeat: false });
    const sink = await system.spawn(Sink, { name: "sink", placement, restart: "temporary" });
    sink.tell("exit", { code: 3 });
    const exit = await sink.stopped();
    equal(exit.reason, "crashed");
    equal(exit.exitCode, 3);
    equal(
      exit.error?.message,
      placement === "process"
        ? "The subprocess of /sink exited with code 3"
        : "The worker guest exited with code 3",
    );
    equal(sink.status, "stopped");
  });
}

for (const placement of ["worker", "process", "local"] as Placement[]) {
  test(`a ${placement} actor gets working refs nested deep and inside a Map, with the status the sender knew`, async () => {
    await using system = await ActorSystem.start({ name: "refs", heartbeat: false });
    const sink = await system.spawn(Sink, { name: "sink" });
    const holder = await system.spawn(Holder, { name: "holder", placement });
    const w = sink;
    equal(
      await holder.ask("deep", {
        a: { b: { c: { d: { e: { f: { g: { h: { i: { w } } } } } } } } },
      }),
      1,
    );
    equal(await holder.ask("map", { m: new Map([["x", sink]]) }), 2);
    equal(await holder.ask("status", { r: sink }), "running");
    await sink.stop();
    equal(await holder.ask("status", { r: sink }), "stopped");
  });
}

test("a cloned ref that was never revived is refused by refOf, not handed over without methods", () => {
  const schema = refOf(Sink);
  const cloned = { "~troupe": "ref", path: "/sink", uid: "u.1", def: `${Sink.url}#sink` };
  equal(schema.safeParse(cloned).success, false);
});

test("ctx.timers: a delay past setTimeout's limit waits its whole time; an actor holds at most 1,000 timers", async () => {
  using time = new FakeTime();
  await using system = await ActorSystem.start({ name: "timers", heartbeat: false });
  const ticker = await system.spawn(Ticker, {
    name: "ticker",
    placement: "local",
    mailbox: { capacity: 2_000 },
  });
  ticker.tell("once", { key: "far", ms: 3_000_000_000 });
  await ticker.ask("ticks", {});
  time.tick(2 ** 31);
  deepEqual(await ticker.ask("ticks", {}), []);
  time.tick(3_000_000_000 - 2 ** 31);
  deepEqual(await ticker.ask("ticks", {}), ["far"]);
  for (let i = 0; i < 1_001; i++) ticker.tell("every", { key: `k${i}`, ms: 60_000 });
  await ticker.ask("ticks", {});
  const refused = system.deadLetters().filter((d) => d.path === "/ticker" && d.kind === "tick");
  equal(refused.length, 1);
  equal(refused[0].reason, "overflow");
  equal(refused[0].error?.message, "Cannot start a timer of /ticker: it has 1000 timers already");
});

test("fake time with heartbeats on: a worker actor's timer fires when ticked, and no guest looks hung", async () => {
  using time = new FakeTime();
  await using system = await ActorSystem.start({ name: "timers" }); // heartbeats on
  const hung: string[] = [];
  system.events.on((event) => {
    if (event.type === "hung") hung.push(event.path);
  });
  const ticker = await system.spawn(Ticker, { name: "ticker" });
  ticker.tell("once", { key: "later", ms: 60_000 });
  await ticker.ask("ticks", {});
  await time.tickAsync(60_000);
  deepEqual(await ticker.ask("ticks", {}), ["later"]);
  deepEqual(hung, []);
  equal(system.stats().actors[0].restarts, 0);
});

test("an ask to a local actor that never answers ends with its timeout, with nothing else pending", async () => {
  await using system = await ActorSystem.start({ name: "refs", heartbeat: false });
  const sink = await system.spawn(Sink, { name: "sink", placement: "local", shutdownMs: 100 });
  await sink.ask("hang", {}, { timeoutMs: 50 }).then(
    () => ok(false, "answered"),
    (error) => equal(error.message, 'Ask "hang" to /sink timed out after 50 ms'),
  );
});
