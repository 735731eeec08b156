import { AssertionError } from "node:assert";
import { deepEqual, equal, ok as assert, rejects, throws } from "node:assert/strict";
import { z } from "zod";
import {
  type ActorRef,
  ActorSystem,
  ask,
  AskTimeoutError,
  defineActor,
  supervisor,
} from "../mod.ts";
import { child } from "../supervisors/mod.ts";
import { FakeTime, TestProbe, trackWorkers, withLeakCheck } from "../testing/mod.ts";
import { Counter } from "./fixtures/counter.ts";
import { nextEvent, test } from "./_helpers.ts";

/** An actor that hands work to a counter given at spawn, as code under test would. */
const Reporter = defineActor({
  name: "reporter",
  url: import.meta.url,
  protocol: { report: ask(z.object({ n: z.number() }), z.number()) },
  init: (args: { counter: ActorRef<typeof Counter.protocol> }) => args,
  handlers: {
    async report(state, msg) {
      state.counter.tell("add", { n: msg.n });
      return await state.counter.ask("get", {});
    },
  },
});

/** An ask that is never answered until the actor stops, and a tell that crashes. */
const Stuck = defineActor({
  name: "stuck",
  url: import.meta.url,
  protocol: { wait: ask(z.object({}), z.number()), crash: z.object({}) },
  init: () => ({}),
  handlers: {
    wait: (_state, _msg, ctx) =>
      new Promise<number>((_resolve, reject) => {
        ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason), { once: true });
      }),
    crash() {
      throw new Error("crash on purpose");
    },
  },
});

function start(name: string): Promise<ActorSystem> {
  return ActorSystem.start({ name, heartbeat: false });
}

// ---- TestProbe ----------------------------------------------------------------------------------

test("a probe records tells in the order they arrived", async () => {
  await using system = await start("probe-order");
  await using probe = await TestProbe.spawn(system, Counter);
  equal(probe.ref.path, "/counter-probe");
  for (let n = 1; n <= 5; n++) probe.ref.tell("add", { n });
  for (let n = 1; n <= 5; n++) deepEqual(await probe.expectMessage("add"), { n });
  deepEqual(probe.received.map((m) => m.msg), [1, 2, 3, 4, 5].map((n) => ({ n })));
  deepEqual(probe.received.map((m) => m.kind), ["add", "add", "add", "add", "add"]);
});

test("a probe answers asks with its responder, and says which reply is missing", async () => {
  await using system = await start("probe-asks");
  await using probe = await TestProbe.spawn(system, Counter, { name: "counter" });
  probe.reply("get", () => 41).reply("echo", async (msg) => await Promise.resolve(msg.value));
  equal(await probe.ref.ask("get", {}), 41);
  deepEqual(await probe.ref.ask("echo", { value: [1, "a"] }), [1, "a"]);
  const crashes: string[] = [];
  system.events.on((event) => {
    if (event.type === "crashed") crashes.push(event.path);
  });
  await rejects(probe.ref.ask("slow", { ms: 1 }), {
    name: "Error",
    message: 'Test probe /counter has no reply for "slow": call probe.reply("slow", …)',
  });
  deepEqual(crashes, ["/counter"]); // a failing handler is a crash: the probe restarted
  // What it recorded survives its restart, and the restarted probe still answers.
  equal(await probe.ref.ask("get", {}), 41);
  deepEqual(probe.received.map((m) => m.kind), ["get", "echo", "slow", "get"]);
  deepEqual(await probe.expectMessage(), { kind: "get", msg: {} });
});

test("expectMessage fails on timeout naming the kind and the time waited", async () => {
  await using system = await start("probe-timeout");
  await using probe = await TestProbe.spawn(system, Counter);
  await rejects(probe.expectMessage("add", { timeoutMs: 20 }), (error) => {
    assert(error instanceof AssertionError);
    equal(
      error.message,
      '/counter-probe expected a "add" message within 20 ms, received nothing',
    );
    return true;
  });
  await rejects(probe.expectMessage({ timeoutMs: 1 }), {
    message: "/counter-probe expected a message within 1 ms, received nothing",
  });
});

test("expectMessage fails at once on another kind, naming what came, and takes it", async () => {
  await using system = await start("probe-wrong");
  await using probe = await TestProbe.spawn(system, Counter);
  const expected = probe.expectMessage("add", { timeoutMs: 10_000 });
  probe.ref.tell("fail", { message: "x" });
  await rejects(expected, {
    name: "AssertionError",
    message: '/counter-probe expected a "add" message, received "fail" {"message":"x"}',
  });
  probe.ref.tell("add", { n: 2 });
  deepEqual(await probe.expectMessage("add"), { n: 2 });
});

test("expectNoMessage passes on silence and fails as soon as a message comes", async () => {
  await using system = await start("probe-quiet");
  await using probe = await TestProbe.spawn(system, Counter);
  await probe.expectNoMessage(10);
  const began = performance.now();
  const quiet = probe.expectNoMessage(10_000);
  probe.ref.tell("add", { n: 3 });
  await rejects(quiet, {
    name: "AssertionError",
    message: '/counter-probe expected no message for 10000 ms, received "add" {"n":3}',
  });
  assert(performance.now() - began < 5_000);
  deepEqual(await probe.expectMessage("add"), { n: 3 }); // left for the next expectation
  throws(() => probe.expectNoMessage(-1), RangeError);
});

test("a probe stands in for a definition beside a real actor of it", async () => {
  await using system = await start("probe-stand-in");
  // Both are local actors of the same url#name, started in one tick: each keeps its own definition.
  const [real, probe] = await Promise.all([
    system.spawn(Counter, { placement: "local", name: "real" }),
    TestProbe.spawn(system, Counter),
  ]);
  await using _probe = probe;
  probe.reply("get", () => 100);
  real.tell("add", { n: 2 });
  equal(await real.ask("get", {}), 2);
  // Typed as what lookup returns for the real definition.
  const typed: ActorRef<typeof Counter.protocol> = probe.ref;
  const looked: typeof typed = system.lookup(Counter, "/real");
  equal(looked, real);
  const reporter = await system.spawn(Reporter, {
    placement: "local",
    args: { counter: typed },
  });
  equal(await reporter.ask("report", { n: 5 }), 100);
  deepEqual(await probe.expectMessage("add"), { n: 5 });
  deepEqual(await probe.expectMessage("get"), {});
  equal(await real.ask("get", {}), 2);
  // Definitions are compared by `url#name`: the probe is found as a "counter".
  equal(system.lookup(Counter, probe.ref.path).uid, probe.ref.uid);
});

// ---- FakeTime -----------------------------------------------------------------------------------

test("fake time drives an ask timeout: it rejects only once the clock reaches it", async () => {
  using time = new FakeTime();
  await using system = await start("fake-ask");
  const stuck = await system.spawn(Stuck, { placement: "local", askTimeoutMs: 30_000 });
  let settled = false;
  const answer = stuck.ask("wait", {}).finally(() => settled = true);
  answer.catch(() => {});
  await time.tickAsync(29_999);
  equal(settled, false);
  await time.tickAsync(1);
  await rejects(answer, AskTimeoutError);
});

test("fake time drives a supervisor's backoff: the restart waits exactly the clock", async () => {
  using time = new FakeTime();
  const root = supervisor({
    backoff: { initialMs: 10_000, maxMs: 10_000, jitter: 0 },
    children: [child("stuck", Stuck, { placement: "local" })],
  });
  await using system = await ActorSystem.start({ name: "fake-backoff", root });
  const crashed = nextEvent(system.events, "crashed");
  let restarted = false;
  const done = nextEvent(system.events, "restarted").then(() => restarted = true);
  system.lookup(Stuck, "/stuck").tell("crash", {});
  await crashed;
  await time.tickAsync(9_999);
  equal(restarted, false);
  await time.tickAsync(1);
  await done;
  equal(restarted, true);
});

test("FakeTime refuses a second clock and puts the real timers back", () => {
  const realSetTimeout = globalThis.setTimeout;
  const time = new FakeTime({ now: 1_000 });
  equal(Date.now(), 1_000);
  assert(globalThis.setTimeout !== realSetTimeout);
  throws(() => new FakeTime(), {
    name: "TypeError",
    message: "Cannot install FakeTime: another one is installed, restore it first",
  });
  let fired = 0;
  setTimeout(() => fired++, 50);
  time.tick(49);
  equal(fired, 0);
  time.tick(1);
  equal(fired, 1);
  equal(time.now, 1_050);
  throws(() => time.tick(-1), RangeError);
  time.restore();
  time.restore();
  equal(globalThis.setTimeout, realSetTimeout);
});

// ---- worker-leak check --------------------------------------------------------------------------

test("the leak check fails a test that leaves a worker alive, and terminates it", async () => {
  using tracker = trackWorkers();
  let leaked: Worker | undefined;
  const leaky = withLeakCheck(() => {
    leaked = new Worker("data:application/javascript,", { type: "module" });
  });
  await rejects(leaky({} as Deno.TestContext), {
    message: "1 worker(s) were left alive by the test",
  });
  assert(leaked !== undefined);
  equal(tracker.live.size, 0); // terminated by the check
  // The test's own failure wins over the leak.
  const failing = withLeakCheck(() => {
    new Worker("data:application/javascript,", { type: "module" });
    throw new Error("the test's own failure");
  });
  await rejects(failing({} as Deno.TestContext), { message: "the test's own failure" });
  equal(tracker.live.size, 0);
  await withLeakCheck(() => {
    new Worker("data:application/javascript,", { type: "module" }).terminate();
  })({} as Deno.TestContext);
});

test("the leak check sees the workers a system starts, and none after its shutdown", async () => {
  using tracker = trackWorkers();
  const system = await start("leaks-system");
  const counter = await system.spawn(Counter);
  equal(await counter.ask("get", {}), 0);
  equal(tracker.live.size, 1);
  await system.shutdown();
  tracker.assertNone();
});
