import { deepEqual, equal, fail, ok as assert, rejects, throws } from "node:assert/strict";
import {
  ActorStoppedError,
  ActorSystem,
  AskTimeoutError,
  InvalidMessageError,
  type Placement,
  SharedEvent,
  SpawnError,
} from "../mod.ts";
import { Counter } from "./fixtures/counter.ts";
import { hiddenDefinition, Probe } from "./fixtures/probe.ts";
import { TestProbe } from "../testing/mod.ts";
import { liveWorkers, nextEvent, test, waitForFlag } from "./_helpers.ts";

const PLACEMENTS: Placement[] = ["local", "worker", "shared"];

for (const placement of PLACEMENTS) {
  test(`${placement}: tells are handled in order and asks see their effect`, async () => {
    await using system = await ActorSystem.start({ name: "order", sharedWorkers: 1 });
    const probe = await system.spawn(Probe, { placement });
    for (let i = 0; i < 1_000; i++) probe.tell("push", { value: i });
    const seen = await probe.ask("log", {});
    deepEqual(seen, Array.from({ length: 1_000 }, (_, i) => i));
  });

  test(`${placement}: init receives its args and the ask replies with the state`, async () => {
    await using system = await ActorSystem.start({ name: "args", sharedWorkers: 1 });
    const counter = await system.spawn(Counter, { placement, args: { start: 40 } });
    counter.tell("add", { n: 2 });
    equal(await counter.ask("get", {}), 42);
    equal(counter.path, "/counter");
  });

  test(`${placement}: an invalid tell goes to dead letters and never reaches the handler`, async () => {
    await using system = await ActorSystem.start({ name: "invalid", sharedWorkers: 1 });
    const counter = await system.spawn(Counter, { placement });
    const letter = nextEvent(system.events, "dead_letter");
    counter.tell("add", { n: 1.5 });
    const event = await letter;
    equal(event.letter.reason, "invalid");
    assert(event.letter.error instanceof InvalidMessageError);
    equal(
      event.letter.error.message,
      'Invalid "add" message for /counter: n: Invalid input: expected int, received number',
    );
    equal(await counter.ask("get", {}), 0);
  });

  test(`${placement}: an invalid ask rejects with InvalidMessageError naming the kind and path`, async () => {
    await using system = await ActorSystem.start({ name: "invalid-ask", sharedWorkers: 1 });
    const counter = await system.spawn(Counter, { placement });
    await rejects(
      // deno-lint-ignore no-explicit-any
      counter.ask("slow", { ms: "soon" } as any),
      (error: unknown) => {
        assert(error instanceof InvalidMessageError);
        equal(error.kind, "slow");
        equal(error.path, "/counter");
        assert(error.message.startsWith('Invalid "slow" message for /counter: ms: '));
        return true;
      },
    );
  });

  test(`${placement}: a reply that breaks its schema rejects the ask, not the actor`, async () => {
    await using system = await ActorSystem.start({ name: "bad-reply", sharedWorkers: 1 });
    const counter = await system.spawn(Counter, { placement, args: { start: 7 } });
    await rejects(counter.ask("badReply", {}), {
      name: "InvalidMessageError",
      message:
        'Invalid "badReply" message for /counter: reply (root): Invalid input: expected number, received string',
    });
    equal(await counter.ask("get", {}), 7);
  });

  test(`${placement}: unknown keys are stripped before the handler sees the message`, async () => {
    await using system = await ActorSystem.start({ name: "strip", sharedWorkers: 1 });
    const counter = await system.spawn(Counter, { placement });
    const data = JSON.parse('{"a": 1, "extra": true, "__proto__": {"polluted": 1}}');
    deepEqual(await counter.ask("keys", { data }), ["a"]);
    equal(({} as Record<string, unknown>).polluted, undefined);
  });

  test(`${placement}: a handler's error reaches the caller intact and the actor keeps serving`, async (t) => {
    await using system = await ActorSystem.start({ name: "errors", sharedWorkers: 1 });
    const counter = await system.spawn(Counter, { placement, args: { start: 5 } });
    await t.step(
      "custom class: name, message, fields, cause and the handler's frames",
      async () => {
        const error = await counter.ask("failAsk", { kind: "quota" }).then(
          () => fail("the ask should reject"),
          (e: unknown) => e as Error & { code: string; limit: number },
        );
        equal(error.name, "QuotaError");
        equal(error.message, "quota exceeded");
        equal(error.code, "E_QUOTA");
        equal(error.limit, 10);
        assert(error.cause instanceof Error);
        equal(error.cause.message, "disk full");
        assert(error.stack?.includes("fixtures/counter.ts"), error.stack);
      },
    );
    await t.step("built-in types keep instanceof", async () => {
      await rejects(counter.ask("failAsk", { kind: "type" }), TypeError);
      await rejects(counter.ask("failAsk", { kind: "range" }), RangeError);
    });
    await t.step(
      "the crash restarted the actor with fresh state, which still answers",
      async () => {
        equal(await counter.ask("get", {}), 5);
        equal(system.stats().actors[0].restarts, 3);
      },
    );
  });

  test(`${placement}: an ask past its timeout rejects with AskTimeoutError`, async () => {
    await using system = await ActorSystem.start({ name: "timeout", sharedWorkers: 1 });
    const counter = await system.spawn(Counter, { placement });
    await rejects(counter.ask("slow", { ms: 200 }, { timeoutMs: 20 }), (error: unknown) => {
      assert(error instanceof AskTimeoutError);
      equal(error.message, 'Ask "slow" to /counter timed out after 20 ms');
      equal(error.timeoutMs, 20);
      return true;
    });
  });

  test(`${placement}: an aborted ask rejects with the signal's reason`, async () => {
    await using system = await ActorSystem.start({ name: "abort", sharedWorkers: 1 });
    const counter = await system.spawn(Counter, { placement });
    const controller = new AbortController();
    const pending = counter.ask("slow", { ms: 100 }, { signal: controller.signal });
    controller.abort(new Error("caller gave up"));
    await rejects(pending, { message: "caller gave up" });
  });

  test(`${placement}: stop aborts ctx.signal, runs onStop and refuses later messages`, async () => {
    await using system = await ActorSystem.start({ name: "stop", sharedWorkers: 1 });
    const probe = await system.spawn(Probe, { placement });
    const running = new Int32Array(new SharedArrayBuffer(4));
    const slow = probe.ask("waitAbort", { running });
    await waitForFlag(running); // the slow handler is running
    const queued = probe.ask("log", {});
    await probe.stop();
    equal(await slow, "aborted");
    await rejects(queued, ActorStoppedError);
    await rejects(probe.ask("log", {}), {
      name: "ActorStoppedError",
      message: "Actor /probe has stopped",
    });
    probe.tell("push", { value: 1 });
    const last = system.deadLetters().at(-1);
    equal(last?.reason, "stopped");
    equal(last?.kind, "push");
  });

  test(`${placement}: ctx.self sends to the actor's own mailbox`, async () => {
    await using system = await ActorSystem.start({ name: "self", sharedWorkers: 1 });
    const probe = await system.spawn(Probe, { placement });
    probe.tell("pushViaSelf", { value: 9 });
    // The self-tell joins the back of the mailbox: poll until it has been handled.
    let log: number[] = [];
    for (let i = 0; i < 100 && log.length === 0; i++) log = await probe.ask("log", {});
    deepEqual(log, [9]);
  });

  test(`${placement}: send waits for room under backpressure and loses nothing`, async () => {
    await using system = await ActorSystem.start({ name: "backpressure", sharedWorkers: 1 });
    const probe = await system.spawn(Probe, { placement, mailbox: { capacity: 4 }, prefetch: 2 });
    const sends: Promise<void>[] = [];
    for (let i = 0; i < 200; i++) sends.push(probe.send("push", { value: i }));
    await Promise.all(sends);
    deepEqual(await probe.ask("log", {}), Array.from({ length: 200 }, (_, i) => i));
  });
}

test("worker: a SharedArrayBuffer in a message is shared, an ArrayBuffer can be transferred", async () => {
  await using system = await ActorSystem.start({ name: "memory" });
  const probe = await system.spawn(Probe);
  const shared = new Int32Array(new SharedArrayBuffer(8));
  await probe.ask("bump", { cells: shared });
  equal(Atomics.load(shared, 0), 1);
  const buffer = new Uint8Array([1, 2, 3]).buffer;
  const sum = await probe.ask("sum", { bytes: buffer }, { transfer: [buffer] });
  equal(sum, 6);
  equal(buffer.byteLength, 0); // moved, not copied
});

test("worker: a payload that cannot be cloned fails at the caller, naming the kind", async () => {
  await using system = await ActorSystem.start({ name: "clone" });
  const counter = await system.spawn(Counter);
  await rejects(counter.ask("echo", { value: () => 1 }), {
    name: "TypeError",
    message: 'Cannot send "echo" to /counter: the payload could not be cloned',
  });
  equal(await counter.ask("echo", { value: [1, "two"] }).then(JSON.stringify), '[1,"two"]');
});

test("worker: a sandboxed actor's denied access reaches the caller and the actor survives", async () => {
  await using system = await ActorSystem.start({ name: "sandbox" });
  const counter = await system.spawn(Counter, {
    args: { start: 3 },
    permissions: { read: false, write: false, net: false, env: false, run: false, ffi: false },
  });
  await rejects(counter.ask("readFile", { path: "/etc/hostname" }), (error: unknown) => {
    assert(error instanceof Deno.errors.NotCapable, String(error));
    assert((error as Error).message.includes("read access"), (error as Error).message);
    return true;
  });
  equal(await counter.ask("get", {}), 3);
});

test("worker: ctx.shouldStop flips for a synchronous loop when the actor is stopped", async () => {
  await using system = await ActorSystem.start({ name: "should-stop" });
  const probe = await system.spawn(Probe);
  const running = new Int32Array(new SharedArrayBuffer(4));
  const spin = probe.ask("spinUntilStopped", { running }, { timeoutMs: 10_000 });
  await waitForFlag(running);
  // The worker's thread is busy in the loop: only the shared flag can reach it.
  await probe.stop({ timeoutMs: 5_000 });
  equal(await spin, "stopped");
});

test("spawning reports a missing export or a failing init as SpawnError", async (t) => {
  await using system = await ActorSystem.start({ name: "spawn-errors" });
  await t.step("init throws", async () => {
    await rejects(system.spawn(Probe, { args: { failInit: true } }), (error: unknown) => {
      assert(error instanceof SpawnError);
      equal(error.message, "Cannot start /probe: init failed: init refused");
      return true;
    });
  });
  await t.step("the definition is not exported by its module", async () => {
    await rejects(system.spawn(hiddenDefinition()), (error: unknown) => {
      assert(error instanceof SpawnError);
      assert(error.message.includes('does not export an actor named "hidden"'), error.message);
      return true;
    });
  });
  equal(system.stats().actors.length, 0);
});

test("spawn options are validated before anything starts", async () => {
  await using system = await ActorSystem.start({ name: "options" });
  const before = liveWorkers();
  await rejects(system.spawn(Counter, { mailbox: { capacity: 0 } }), {
    name: "RangeError",
    message: 'Cannot spawn "counter": mailbox.capacity must be greater than 0, received 0',
  });
  await rejects(
    // deno-lint-ignore no-explicit-any
    system.spawn(Counter, { placement: "moon" as any }),
    {
      name: "TypeError",
      message:
        'Cannot spawn "counter": placement must be one of "local", "worker", "shared", "process", received "moon"',
    },
  );
  // deno-lint-ignore no-explicit-any
  await rejects(system.spawn(Counter, { colour: "red" } as any), {
    name: "TypeError",
    message: 'Cannot spawn "counter": unknown option "colour"',
  });
  await system.spawn(Counter, { name: "taken", placement: "local" });
  await rejects(system.spawn(Counter, { name: "taken", placement: "local" }), {
    name: "TypeError",
    message: 'Cannot spawn "taken": the path /taken is taken',
  });
  equal(liveWorkers(), before);
});

test("validation runs before any handler: a probe records the valid messages only, in order", async () => {
  await using system = await ActorSystem.start({ name: "validated", heartbeat: false });
  await using probe = await TestProbe.spawn(system, Counter);
  const letter = nextEvent(system.events, "dead_letter");
  probe.ref.tell("add", { n: 1 });
  probe.ref.tell("add", { n: 1.5 });
  probe.ref.tell("add", { n: 2, extra: true } as { n: number });
  equal((await letter).letter.reason, "invalid");
  deepEqual(await probe.expectMessage("add"), { n: 1 });
  deepEqual(await probe.expectMessage("add"), { n: 2 }); // the unknown key stripped
  await probe.expectNoMessage(20);
  equal(probe.received.length, 2);
});

test("lookup finds a live actor by path and refuses another definition", async () => {
  await using system = await ActorSystem.start({ name: "lookup" });
  await system.spawn(Counter, { placement: "local", args: { start: 2 } });
  equal(await system.lookup(Counter, "/counter").ask("get", {}), 2);
  throws(() => system.lookup(Probe, "/counter"), {
    name: "TypeError",
    message: 'Actor /counter is a "counter", not a "probe"',
  });
  throws(() => system.lookup(Counter, "/nobody"), { message: "Cannot find actor /nobody" });
});

test("shutdown stops every actor, ends every worker and resolves closed()", async () => {
  const system = await ActorSystem.start({ name: "shutdown", sharedWorkers: 2 });
  const before = liveWorkers();
  await system.spawn(Counter);
  await system.spawn(Counter, { placement: "shared" });
  await system.spawn(Counter, { placement: "shared" });
  await system.spawn(Counter, { placement: "local" });
  equal(liveWorkers(), before + 3);
  assert(!system.signal.aborted);
  await system.shutdown();
  assert(system.signal.aborted);
  equal(await system.closed(), undefined);
  equal(liveWorkers(), before);
  equal(system.stats().actors.length, 0);
});

for (const placement of PLACEMENTS) {
  test(`${placement}: a SharedEvent in args and in messages arrives usable`, async () => {
    await using system = await ActorSystem.start({ name: "events", sharedWorkers: 1 });
    const fromArgs = new SharedEvent();
    const probe = await system.spawn(Probe, { placement, args: { event: fromArgs } });
    const waiting = probe.ask("waitArgsEvent", { timeoutMs: 5_000 });
    fromArgs.set();
    equal(await waiting, true);
    const inMessage = new SharedEvent();
    probe.tell("setEvent", { event: inMessage });
    await probe.ask("log", {});
    equal(inMessage.isSet(), true);
  });
}
