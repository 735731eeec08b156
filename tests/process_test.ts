import { deepEqual, equal, fail, ok as assert, rejects } from "node:assert/strict";
import fc from "fast-check";
import {
  ActorCrashedError,
  ActorStoppedError,
  ActorSystem,
  HungError,
  InvalidMessageError,
  SpawnError,
} from "../mod.ts";
import { decodeFrames, encodeFrames, FrameReader } from "../mailbox/pipe.ts";
import { Counter } from "./fixtures/counter.ts";
import { Probe } from "./fixtures/probe.ts";
import { Hazard } from "./fixtures/process_actors.ts";
import { nextEvent, test } from "./_helpers.ts";

// Every subprocess the runtime starts goes through `Deno.Command`: track them, so that each test
// can check that none is left running.
const children: Deno.ChildProcess[] = [];
const OriginalCommand = Deno.Command;
class TrackedCommand extends OriginalCommand {
  override spawn(): Deno.ChildProcess {
    const child = super.spawn();
    children.push(child);
    return child;
  }
}
Deno.Command = TrackedCommand;

/** Resolves with `promise`'s value, or `undefined` after `ms`; the timer never outlives it. */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * `test()` that also fails when a subprocess started during the test is still running 5 s after
 * it (killing it), and hands the test the subprocesses it started so far.
 */
function processTest(
  name: string,
  fn: (started: () => Deno.ChildProcess[], t: Deno.TestContext) => Promise<void>,
): void {
  test(name, async (t) => {
    const from = children.length;
    let failure: unknown;
    try {
      await fn(() => children.slice(from), t);
    } catch (error) {
      failure = error;
    }
    for (const child of children.slice(from)) {
      if (await within(child.status, 5_000) !== undefined) continue;
      child.kill("SIGKILL");
      await child.status;
      failure ??= new Error(`Subprocess ${child.pid} was left running by the test`);
    }
    if (failure !== undefined) throw failure;
  });
}

/** Waits until a handler in a subprocess has written `path`. */
async function waitForFile(path: string): Promise<void> {
  for (let i = 0; i < 2_000; i++) {
    try {
      if (Deno.statSync(path).size > 0) return;
    } catch {
      // not yet
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`${path} was never written`);
}

/** Whether `value` holds a float typed array with a NaN in it, anywhere. */
function hasNaNFloats(value: unknown, seen = new Set<unknown>()): boolean {
  if (typeof value !== "object" || value === null || seen.has(value)) return false;
  seen.add(value);
  if (value instanceof Float32Array || value instanceof Float64Array) {
    return value.some(Number.isNaN);
  }
  const inner = value instanceof Map
    ? [...value.keys(), ...value.values()]
    : value instanceof Set
    ? [...value]
    : Object.values(value);
  return inner.some((item) => hasNaNFloats(item, seen));
}

// ---- the codec --------------------------------------------------------------------------------

Deno.test("the codec keeps structured-clone types across the pipe", () => {
  const frames = [
    { t: "deliver", id: 1, seq: 7, m: [0, { n: 1 }, 1, undefined] },
    {
      t: "echo",
      value: [new Map([[1, "a"]]), new Set([2]), new Date(5), 2n ** 70n, -0, NaN, /x/g],
      bytes: new Uint8Array([1, 2, 3]),
    },
  ];
  const bytes = encodeFrames(frames);
  const body = bytes.subarray(8);
  equal(new DataView(bytes.buffer).getUint32(4, true), body.byteLength);
  deepEqual(decodeFrames(body), frames);
});

Deno.test("the codec gives what structuredClone gives, by JSON or by V8's serializer", () => {
  const value = fc.anything({
    withBigInt: true,
    withBoxedValues: true,
    withDate: true,
    withMap: true,
    withNullPrototype: true,
    withSet: true,
    withSparseArray: true,
    withTypedArray: true,
    withUnicodeString: true,
  });
  fc.assert(
    fc.property(value.filter((v) => !hasNaNFloats(v)), (v) => {
      deepEqual(decodeFrames(encodeFrames([v]).subarray(8)), structuredClone([v]));
    }),
    { numRuns: 2_000 },
  );
  // deepEqual compares float arrays with !==, so NaN never equals NaN there: compare their bytes.
  const floats = new Float64Array([NaN, -0, 1.5]);
  const [back] = decodeFrames<Float64Array>(encodeFrames([floats]).subarray(8));
  deepEqual(new Uint8Array(back.buffer), new Uint8Array(floats.buffer));
  // Plain data takes the JSON path (tag "J"); the rest V8's (tag "V").
  equal(encodeFrames([{ t: "deliver", m: [0, { n: 1.5, s: "é" }] }])[8], 0x4a);
  equal(encodeFrames([{ t: "spawn", args: undefined }])[8], 0x56);
  equal(encodeFrames([[-0]])[8], 0x56);
});

Deno.test("the codec refuses what cannot cross a process with a DataCloneError", () => {
  for (const value of [() => 1, Symbol("s"), new SharedArrayBuffer(4)]) {
    try {
      encodeFrames([{ value }]);
      fail("encodeFrames should throw");
    } catch (error) {
      assert(error instanceof DOMException);
      equal(error.name, "DataCloneError");
    }
  }
  // The same object twice in a batch, and again in the next batch, decodes every time.
  const shared = { deep: [1, 2] };
  deepEqual(decodeFrames(encodeFrames([shared, shared]).subarray(8)), [shared, shared]);
  deepEqual(decodeFrames(encodeFrames([shared]).subarray(8)), [shared]);
});

Deno.test("a small batch with many paths to the same objects is encoded in proportion to its size", () => {
  let bomb: unknown = [1];
  for (let i = 0; i < 60; i++) bomb = [bomb, bomb]; // 61 arrays, 2^60 paths
  const bytes = encodeFrames([{ t: "replies", id: 1, ack: 1, r: [1, 1, bomb] }]);
  equal(bytes[8], 0x56, "V8's serializer, which writes each object once");
  assert(bytes.byteLength < 4_096, `${bytes.byteLength} bytes`);
  const [frame] = decodeFrames<{ r: unknown[] }>(bytes.subarray(8));
  const top = frame.r[2] as unknown[];
  equal(top[0], top[1], "the sharing survives");
});

Deno.test("the frame reader finds every batch however the stream is cut, and skips stray text", () => {
  const batch = fc.array(fc.record({ t: fc.constant("x"), n: fc.integer(), s: fc.string() }), {
    minLength: 1,
    maxLength: 4,
  });
  const item = fc.oneof(
    batch.map((frames) => ({ frames, text: undefined })),
    fc.string({ minLength: 1, maxLength: 20 }).map((text) => ({ frames: undefined, text })),
  );
  fc.assert(
    fc.property(fc.array(item, { maxLength: 12 }), fc.array(fc.nat(), { maxLength: 10 }), (
      items,
      cuts,
    ) => {
      const encoder = new TextEncoder();
      const parts = items.map((entry) =>
        entry.frames !== undefined ? encodeFrames(entry.frames) : encoder.encode(entry.text)
      );
      const stream = new Uint8Array(parts.reduce((size, part) => size + part.byteLength, 0));
      let at = 0;
      for (const part of parts) {
        stream.set(part, at);
        at += part.byteLength;
      }
      const got: unknown[][] = [];
      const stray: number[] = [];
      const reader = new FrameReader<unknown>((frames) => got.push(frames), (bytes) => {
        stray.push(...bytes);
      });
      const points = [...new Set(cuts.map((cut) => cut % (stream.byteLength + 1)))].sort((a, b) =>
        a - b
      );
      let from = 0;
      for (const point of [...points, stream.byteLength]) {
        const chunk = stream.slice(from, point); // a copy: the reader may not keep it
        reader.push(chunk);
        chunk.fill(0);
        from = point;
      }
      deepEqual(got, items.flatMap((entry) => entry.frames ? [entry.frames] : []));
      const text = items.map((entry) => entry.text ?? "").join("");
      equal(new TextDecoder().decode(new Uint8Array(stray)), text);
      equal(reader.pending, 0);
    }),
  );
});

// ---- actors in subprocesses -------------------------------------------------------------------

processTest("process: tells are handled in order and asks see their effect", async () => {
  await using system = await ActorSystem.start({ name: "order" });
  const probe = await system.spawn(Probe, { placement: "process" });
  for (let i = 0; i < 1_000; i++) probe.tell("push", { value: i });
  deepEqual(await probe.ask("log", {}), Array.from({ length: 1_000 }, (_, i) => i));
  const replies = await Promise.all(
    Array.from({ length: 100 }, (_, i) => probe.ask("log", {}).then((log) => [i, log.length])),
  );
  deepEqual(replies, Array.from({ length: 100 }, (_, i) => [i, 1_000]));
});

processTest("process: init gets its args; stop ends the subprocess", async (started) => {
  await using system = await ActorSystem.start({ name: "args" });
  const counter = await system.spawn(Counter, { placement: "process", args: { start: 40 } });
  counter.tell("add", { n: 2 });
  equal(await counter.ask("get", {}), 42);
  equal(system.stats().actors[0].placement, "process");
  await counter.stop();
  const [child] = started();
  const status = await within(child.status, 5_000);
  assert(status !== undefined, "the subprocess is still running after stop()");
  await rejects(counter.ask("get", {}), ActorStoppedError);
});

processTest("process: a handler's error reaches the caller intact", async () => {
  await using system = await ActorSystem.start({ name: "errors" });
  const counter = await system.spawn(Counter, { placement: "process", args: { start: 5 } });
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
  await rejects(counter.ask("failAsk", { kind: "type" }), TypeError);
  // The crashes restarted the actor in the same subprocess, with fresh state.
  equal(await counter.ask("get", {}), 5);
});

processTest("process: an invalid message is refused and never reaches the handler", async () => {
  await using system = await ActorSystem.start({ name: "invalid" });
  const counter = await system.spawn(Counter, { placement: "process" });
  const letter = nextEvent(system.events, "dead_letter");
  counter.tell("add", { n: 1.5 });
  const event = await letter;
  equal(event.letter.reason, "invalid");
  assert(event.letter.error instanceof InvalidMessageError);
  // deno-lint-ignore no-explicit-any
  await rejects(counter.ask("slow", { ms: "soon" } as any), InvalidMessageError);
  equal(await counter.ask("get", {}), 0);
});

processTest("process: payloads cross as structured clones; shared memory cannot", async () => {
  await using system = await ActorSystem.start({ name: "payloads" });
  const hazard = await system.spawn(Hazard, { placement: "process" });
  const value = { map: new Map([[1, "a"]]), when: new Date(5), big: 2n ** 70n, none: undefined };
  deepEqual(await hazard.ask("echo", { value }), value);

  const probe = await system.spawn(Probe, { placement: "process" });
  const bytes = new Uint8Array([1, 2, 3, 4]).buffer;
  equal(await probe.ask("sum", { bytes }, { transfer: [bytes] }), 10);
  assert(bytes.detached, "a transferred buffer is detached, as postMessage would");

  const cells = new Int32Array(new SharedArrayBuffer(4));
  await rejects(probe.ask("bump", { cells }), (error: unknown) => {
    assert(error instanceof TypeError);
    assert(error.message.includes("could not be cloned"), error.message);
    return true;
  });
  equal(Atomics.load(cells, 0), 0);
  deepEqual(await probe.ask("log", {}), []);

  await rejects(
    system.spawn(Hazard, { placement: "process", args: { flag: new SharedArrayBuffer(4) } }),
    SpawnError,
  );
});

processTest(
  "process: stop SIGKILLs a handler spinning in a synchronous loop",
  async (started) => {
    const dir = Deno.makeTempDirSync();
    try {
      await using system = await ActorSystem.start({ name: "spin" });
      const hazard = await system.spawn(Hazard, {
        placement: "process",
        permissions: { write: [dir] },
      });
      const marker = `${dir}/spinning`;
      const spinning = hazard.ask("spin", { marker });
      spinning.catch(() => {});
      await waitForFile(marker);
      const before = performance.now();
      await hazard.stop({ timeoutMs: 200 });
      const took = performance.now() - before;
      assert(took < 2_000, `stop took ${took} ms`);
      // The ask was in the killed handler: a stop killed it, so it rejects as stopped, caused by
      // the timeout.
      await rejects(spinning, (error: unknown) => {
        assert(error instanceof ActorStoppedError, String(error));
        assert(error.cause instanceof Error);
        equal(error.cause.message, "Actor /hazard did not stop within 200 ms");
        return true;
      });
      const status = await within(started()[0].status, 5_000);
      equal(status?.signal, "SIGKILL");
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
);

processTest(
  "process: a subprocess that answers no heartbeat is SIGKILLed and its actor restarts",
  async (started) => {
    const dir = Deno.makeTempDirSync();
    try {
      await using system = await ActorSystem.start({
        name: "hung",
        heartbeat: { intervalMs: 50, timeoutMs: 300 },
      });
      const hazard = await system.spawn(Hazard, {
        placement: "process",
        permissions: { write: [dir] },
      });
      const hung = nextEvent(system.events, "hung");
      await rejects(hazard.ask("spin", { marker: `${dir}/spinning` }), ActorCrashedError);
      assert((await hung).error instanceof HungError);
      equal(await hazard.ask("ping", {}), "pong");
      equal((await started()[0].status).signal, "SIGKILL");
      equal(system.stats().abandonedThreads, 0, "a killed process leaves no thread behind");
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
);

processTest(
  "process: ctx.shouldStop() turns true in a handler that yields once a stop arrives",
  async () => {
    const dir = Deno.makeTempDirSync();
    try {
      await using system = await ActorSystem.start({ name: "flag" });
      const hazard = await system.spawn(Hazard, {
        placement: "process",
        permissions: { write: [dir] },
      });
      const marker = `${dir}/waiting`;
      const waiting = hazard.ask("waitForStop", { marker });
      await waitForFile(marker);
      await hazard.stop({ timeoutMs: 5_000 });
      equal(await waiting, "saw the stop flag");
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
);

processTest(
  "process: Deno.exit in a handler crashes the actor, which restarts in a new subprocess",
  async (started) => {
    await using system = await ActorSystem.start({ name: "exit" });
    const hazard = await system.spawn(Hazard, { placement: "process" });
    equal(await hazard.ask("ping", {}), "pong");
    const restarted = nextEvent(system.events, "restarted");
    await rejects(hazard.ask("exit", { code: 3 }), (error: unknown) => {
      assert(error instanceof ActorCrashedError);
      assert(error.cause instanceof Error);
      assert(error.cause.message.includes("exited with code 3"), error.cause.message);
      return true;
    });
    await restarted;
    equal(await hazard.ask("ping", {}), "pong");
    equal(await hazard.ask("handled", {}), 1, "the new incarnation starts from init");
    equal(started().length, 2);
    equal((await started()[0].status).code, 3);
  },
);

processTest(
  "process: past maxHeapMb the subprocess dies and the actor restarts",
  async (started) => {
    await using system = await ActorSystem.start({ name: "heap" });
    const hazard = await system.spawn(Hazard, { placement: "process", maxHeapMb: 64 });
    await rejects(hazard.ask("hog", {}, { timeoutMs: 30_000 }), (error: unknown) => {
      assert(error instanceof ActorCrashedError);
      assert(error.cause instanceof Error);
      assert(/killed by SIG|exited with code/.test(error.cause.message), error.cause.message);
      return true;
    });
    equal(await hazard.ask("ping", {}), "pong");
    const status = await started()[0].status;
    assert(!status.success);
  },
);

processTest("process: permissions become the subprocess's flags", async (_started, t) => {
  await using system = await ActorSystem.start({ name: "permissions" });
  const cases: [string, Deno.PermissionOptions | undefined, boolean][] = [
    ["by default, none", undefined, false],
    ["read: false", { read: false }, false],
    ['"none"', "none", false],
    ["read: [that file]", { read: ["/etc/hostname"] }, true],
    ["read: [another file]", { read: ["/etc/passwd"] }, false],
    ['"inherit" (this test runs with -A)', "inherit", true],
  ];
  for (const [name, permissions, allowed] of cases) {
    await t.step(name, async () => {
      const hazard = await system.spawn(Hazard, { placement: "process", permissions });
      const read = hazard.ask("readFile", { path: "/etc/hostname" });
      if (allowed) equal(await read, Deno.readTextFileSync("/etc/hostname"));
      else await rejects(read, Deno.errors.NotCapable);
      await hazard.stop();
    });
  }
  await t.step("a path with a comma cannot become a flag", async () => {
    await rejects(
      system.spawn(Hazard, { placement: "process", permissions: { read: ["/tmp/a,b"] } }),
      (error: unknown) => {
        assert(error instanceof TypeError);
        assert(error.message.includes("permissions.read"), error.message);
        return true;
      },
    );
  });
});

processTest("process: what a handler prints does not break the wire", async () => {
  await using system = await ActorSystem.start({ name: "print" });
  const hazard = await system.spawn(Hazard, { placement: "process" });
  const replies = await Promise.all(
    Array.from({ length: 5 }, (_, i) => hazard.ask("print", { text: `line ${i}` })),
  );
  deepEqual(replies, Array.from({ length: 5 }, (_, i) => `line ${i}`));
  equal(await hazard.ask("handled", {}), 5);
});
