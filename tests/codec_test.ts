/**
 * The value codec (`mailbox/codec.ts`): the depth limit, the registry of revivable shared objects,
 * and the storable check.
 */

import { deepEqual, equal, ok, throws } from "node:assert/strict";
import fc from "fast-check";
import {
  assertStorable,
  depthError,
  MAX_DEPTH,
  MAX_READS,
  readsWithin,
  registerRevivable,
  revive,
  reviveShared,
  SharedEvent,
  SharedQueue,
  withinDepth,
} from "../mailbox/mod.ts";

function nest(depth: number, wrap: (inner: unknown) => unknown): unknown {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = wrap(value);
  return value;
}

const WRAPPERS: [string, (inner: unknown) => unknown][] = [
  ["arrays", (inner) => [inner]],
  ["objects", (inner) => ({ inner })],
  ["maps", (inner) => new Map([["k", inner]])],
  ["map keys", (inner) => new Map([[inner, 1]])],
  ["sets", (inner) => new Set([inner])],
  ["class instances", (inner) => Object.assign(new (class Box {})(), { inner })],
];

Deno.test("withinDepth accepts exactly MAX_DEPTH levels of every container", async (t) => {
  for (const [what, wrap] of WRAPPERS) {
    await t.step(what, () => {
      equal(withinDepth(nest(MAX_DEPTH, wrap)), true);
      equal(withinDepth(nest(MAX_DEPTH + 1, wrap)), false);
      equal(withinDepth(nest(5_000, wrap)), false);
      equal(withinDepth(nest(3, wrap), 3), true);
      equal(withinDepth(nest(4, wrap), 3), false);
    });
  }
});

Deno.test("withinDepth counts primitives and leaves as no level", () => {
  for (const leaf of [1, "s", null, undefined, 1n, true]) equal(withinDepth(leaf, 0), true);
  for (const leaf of [new Uint8Array(4), new ArrayBuffer(2), new Date(), /x/, new Error("e")]) {
    equal(withinDepth(leaf, 1), true);
    equal(withinDepth([leaf], 1), false);
  }
});

Deno.test("withinDepth follows structured clone: cycles and shared references count once", () => {
  const cycle: Record<string, unknown> = { a: 1 };
  cycle.self = cycle;
  equal(withinDepth(cycle), true);
  equal(withinDepth(cycle, 1), true);
  // 2^64 paths through 64 objects: the walk must visit each object once, not each path.
  let dag: unknown = 1;
  for (let i = 0; i < 64; i++) dag = [dag, dag];
  equal(withinDepth(dag), true);
  equal(withinDepth(dag, 63), false);
  // A long chain reached first through a short path and again through a long one: structured clone
  // writes it at its first visit.
  const chain = nest(MAX_DEPTH - 1, (inner) => [inner]);
  equal(withinDepth([chain, nest(10, (inner) => [inner])]), true);
});

Deno.test("withinDepth leaves a value it cannot walk to structured clone", () => {
  const hostile = {
    get boom(): never {
      throw new Error("getter");
    },
  };
  equal(withinDepth(hostile), true);
  const proxy = new Proxy({}, {
    ownKeys() {
      throw new Error("trap");
    },
  });
  equal(withinDepth({ proxy }), true);
});

Deno.test("withinDepth agrees with structuredClone on what is too deep for a worker", () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 700 }), fc.boolean(), (depth, arrays) => {
      const value = nest(depth, arrays ? (inner) => [inner] : (inner) => ({ inner }));
      equal(withinDepth(value), depth <= MAX_DEPTH);
      if (withinDepth(value)) structuredClone(value);
    }),
    { numRuns: 50 },
  );
});

Deno.test("depthError names what was refused and the limit", () => {
  const error = depthError('Cannot send "echo" to /a', "payload");
  ok(error instanceof RangeError);
  equal(error.message, 'Cannot send "echo" to /a: the payload is nested deeper than 512 levels');
  equal(
    depthError("Cannot x", "args", 3).message,
    "Cannot x: the args are nested deeper than 3 levels",
  );
});

Deno.test("revive brings shared objects back to life wherever they are in a cloned value", () => {
  const event = new SharedEvent();
  const queue = new SharedQueue<number>({ capacity: 4 });
  const cloned = structuredClone({ jobs: [{ done: event }], queue, n: 1, list: [queue] });
  const back = revive(cloned);
  ok(back.jobs[0].done instanceof SharedEvent);
  ok(back.queue instanceof SharedQueue);
  ok(back.list[0] instanceof SharedQueue);
  back.jobs[0].done.set();
  equal(event.isSet(), true, "over the same memory");
  back.queue.tryPut(7);
  deepEqual(queue.tryGet(), { ok: true, value: 7 });
  ok(revive(structuredClone(event)) instanceof SharedEvent, "the value itself");
  ok(reviveShared(structuredClone({ event })).event instanceof SharedEvent, "the old name");
});

Deno.test("revive leaves live objects, forged brands and deep values alone", () => {
  const event = new SharedEvent();
  equal(revive({ event }).event, event, "a live object is kept");
  const forged = { "~troupe": "queue", buffer: new SharedArrayBuffer(3) };
  equal(revive({ forged }).forged, forged, "a reviver that refuses leaves the value");
  const unknown = { "~troupe": "nope", buffer: new SharedArrayBuffer(4) };
  equal(revive([unknown])[0], unknown);
  // Found as deep as a value may go, and not past it.
  for (const [depth, found] of [[MAX_DEPTH, true], [MAX_DEPTH + 1, false]] as const) {
    const deep = nest(depth, (inner) => ({ inner })) as Record<string, unknown>;
    let at = deep;
    for (let i = 0; i < depth - 1; i++) at = at.inner as Record<string, unknown>;
    at.inner = structuredClone(event);
    let back = revive(deep) as Record<string, unknown>;
    for (let i = 0; i < depth; i++) back = back.inner as Record<string, unknown>;
    equal(back instanceof SharedEvent, found, `at a depth of ${depth}`);
  }
  const inMap = revive(structuredClone({ m: new Map([["e", event]]), s: new Set([event]) }));
  ok(inMap.m.get("e") instanceof SharedEvent, "a Map's values");
  ok([...inMap.s][0] instanceof SharedEvent, "a Set's items");
  for (const value of [1, "s", null, undefined]) equal(revive(value), value);
});

Deno.test("registerRevivable refuses a second reviver for a brand", () => {
  const reviver = () => 1;
  registerRevivable("codec-test", reviver);
  registerRevivable("codec-test", reviver); // the same one again: a module loaded twice
  throws(
    () => registerRevivable("codec-test", () => 2),
    (error: unknown) =>
      error instanceof TypeError &&
      error.message === 'Cannot register a reviver for "codec-test": it has one already',
  );
  throws(() => registerRevivable("event", () => 2), TypeError);
});

function refused(message: string) {
  return (error: unknown): true => {
    ok(error instanceof TypeError, `expected a TypeError, got ${String(error)}`);
    equal(error.message, message);
    return true;
  };
}

Deno.test("assertStorable accepts plain data, shared references included", () => {
  const shared = { x: 1 };
  assertStorable({
    n: 1,
    s: "s",
    b: true,
    big: 1n,
    none: null,
    missing: undefined,
    list: [1, [2, [3]]],
    at: new Date(0),
    map: new Map([["k", { v: 1 }]]),
    set: new Set([1, 2]),
    bytes: new Uint8Array(4),
    buffer: new ArrayBuffer(8),
    nul: Object.create(null),
    twice: [shared, shared],
  });
  for (const value of [1, "s", null, undefined, [], {}]) assertStorable(value);
});

Deno.test("assertStorable refuses what cannot be stored, naming the path inside the value", async (t) => {
  const cycle: Record<string, unknown> = { a: { b: [] } };
  ((cycle.a as Record<string, unknown>).b as unknown[]).push(cycle);
  const cases: [string, unknown, string][] = [
    ["a function", { jobs: [{ done: () => {} }] }, "value.jobs[0].done is a function"],
    ["a symbol", { s: Symbol("s") }, "value.s is a symbol"],
    ["a symbol key", { [Symbol("k")]: 1 }, "value has a symbol key"],
    [
      "a SharedArrayBuffer",
      { mem: new SharedArrayBuffer(4) },
      "value.mem is a SharedArrayBuffer (shared memory)",
    ],
    [
      "a view of shared memory",
      [new Int32Array(new SharedArrayBuffer(4))],
      "value[0] is a view of a SharedArrayBuffer (shared memory)",
    ],
    ["a SharedEvent", { stop: new SharedEvent() }, "value.stop is a SharedEvent, not plain data"],
    [
      "a cloned SharedEvent",
      { stop: structuredClone(new SharedEvent()) },
      'value.stop is a shared object ("event"), which holds shared memory',
    ],
    [
      "a class instance",
      { port: new MessageChannel().port1 },
      "value.port is a MessagePort, not plain data",
    ],
    ["an error", { e: new Error("x") }, "value.e is a Error, not plain data"],
    ["a cycle", cycle, "value.a.b[0] refers back to an object that contains it (a cycle)"],
    ["an odd key", { "a b": () => 1 }, 'value["a b"] is a function'],
    ["inside a map", new Map([[1, () => 1]]), "value.values()[0] is a function"],
    ["a map key", new Map([[Symbol("k"), 1]]), "value.keys()[0] is a symbol"],
    ["inside a set", new Set([1, () => 1]), "value.values()[1] is a function"],
    [
      "too deep",
      nest(MAX_DEPTH + 1, (inner) => [inner]),
      `value${"[0]".repeat(MAX_DEPTH)} is nested deeper than ${MAX_DEPTH} levels`,
    ],
  ];
  for (const [what, value, problem] of cases) {
    await t.step(what, () => {
      throws(() => assertStorable(value), refused(`Cannot store the value: ${problem}`));
    });
  }
  await t.step("the message names what is stored", () => {
    throws(
      () => assertStorable(() => 1, { what: "message" }),
      refused("Cannot store the message: value is a function"),
    );
  });
  await t.step("a transfer list", () => {
    throws(
      () => assertStorable({}, { transfer: [new ArrayBuffer(1)] }),
      refused("Cannot store the value: it cannot carry a transfer list"),
    );
    assertStorable({}, { transfer: [] });
  });
  await t.step("a lower depth limit", () => {
    throws(
      () => assertStorable({ a: { b: 1 } }, { maxDepth: 1 }),
      refused("Cannot store the value: value.a is nested deeper than 1 levels"),
    );
    assertStorable({ a: 1 }, { maxDepth: 1 });
  });
});

Deno.test("whatever assertStorable accepts survives structured clone and JSON-free storage", () => {
  fc.assert(
    fc.property(
      fc.anything({ withMap: true, withSet: true, withDate: true, withTypedArray: true }),
      (value) => {
        let accepted = true;
        try {
          assertStorable(value);
        } catch (error) {
          ok(error instanceof TypeError);
          accepted = false;
        }
        if (accepted) structuredClone(value);
      },
    ),
    { numRuns: 300 },
  );
});

/** `levels + 1` arrays, 2^levels paths from the top to the bottom one. */
function bomb(levels: number): unknown {
  let value: unknown = [1];
  for (let i = 0; i < levels; i++) value = [value, value];
  return value;
}

Deno.test("readsWithin refuses a value with many paths to few objects, and nothing else", () => {
  equal(readsWithin(bomb(60)), false);
  equal(readsWithin({ a: bomb(60) }), false);
  equal(readsWithin(new Map([["k", bomb(60)]])), false);
  const cycle: unknown[] = [];
  cycle.push(cycle);
  equal(readsWithin(cycle), false, "a cycle reads forever");
  equal(readsWithin(bomb(10)), true, "2^10 paths are within the limit");
  equal(readsWithin(bomb(10), 100), false);
  equal(readsWithin(new Array(MAX_READS + 1).fill({ shared: 1 })), false);
  equal(readsWithin(new Array(MAX_READS + 1).fill(0)), true, "a big tree costs its size");
  equal(readsWithin(Array.from({ length: 300_000 }, (_, i) => ({ i }))), true);
  for (const value of [1, "s", null, undefined, {}, [], new Uint8Array(8)]) {
    equal(readsWithin(value), true);
  }
});

Deno.test("withinDepth and revive take time in proportion to a value's size, not its paths", () => {
  const value = bomb(60);
  const start = performance.now();
  equal(withinDepth(value), true);
  equal(withinDepth(value, 60), false);
  equal(revive(value), value);
  const event = structuredClone(new SharedEvent());
  let shared: unknown = [event];
  for (let i = 0; i < 60; i++) shared = [shared, shared];
  let bottom = revive(shared) as unknown[];
  for (let i = 0; i < 8; i++) bottom = bottom[0] as unknown[];
  const wide = new Array(100_000).fill(new Array(100_000).fill({ x: 1 }));
  equal(withinDepth(wide), true);
  equal(revive(wide), wide);
  equal(readsWithin(wide), false);
  ok(performance.now() - start < 10_000, "seconds, not ages");
  equal(Array.isArray(bottom), true);
  // revive looks 8 levels down: a branded object deeper than that is left alone.
  const near = revive(structuredClone([[{ stop: new SharedEvent() }]]));
  ok(near[0][0].stop instanceof SharedEvent);
});
