/**
 * The error codec of the wire: `serializeError` flattens any thrown value to cloneable data and
 * `deserializeError` rebuilds an `Error` on the other side. Every round trip here goes through
 * `structuredClone`, as a frame to or from a worker does.
 */

import { deepEqual, equal, notEqual, ok } from "node:assert/strict";
import fc from "fast-check";
import { z } from "zod";
import {
  ActorCrashedError,
  ActorStoppedError,
  AskTimeoutError,
  InvalidMessageError,
  MailboxClosedError,
  MailboxFullError,
  SpawnError,
} from "../errors.ts";
import {
  checkFromGuest,
  deserializeError,
  REPLY_ERROR,
  REPLY_INVALID,
  REPLY_OK,
  type SerializedError,
  serializeError,
  type ToHost,
} from "../mailbox/wire.ts";
import { QuotaError } from "./fixtures/counter.ts";

/** Serializes, clones as `postMessage` would, and rebuilds. */
function roundTrip(thrown: unknown): Error {
  return deserializeError(structuredClone(serializeError(thrown)));
}

/** The errors of a `cause` chain, outermost first. */
function causes(error: unknown): unknown[] {
  const chain: unknown[] = [];
  let current: unknown = error;
  while (current instanceof Error) {
    chain.push(current);
    if (!("cause" in current)) break;
    current = current.cause;
  }
  return chain;
}

/** Every own key of `Object.prototype`: a lookup by error name must not find them. */
const OBJECT_PROTOTYPE_KEYS = Object.getOwnPropertyNames(Object.prototype);

/**
 * A full rendering of a value, to compare clones: unlike `deepEqual` it takes `NaN` in a typed array
 * or an invalid `Date` to equal itself.
 */
function inspect(value: unknown): string {
  return Deno.inspect(value, {
    depth: Infinity,
    iterableLimit: Infinity,
    strAbbreviateSize: Infinity,
    sorted: true,
  });
}

/** Whether `describe` in wire.ts can name the value: JSON encodes it, or `String` converts it. */
function describable(value: unknown): boolean {
  try {
    if (JSON.stringify(value) !== undefined) return true;
  } catch {
    // falls through to String
  }
  try {
    String(value);
    return true;
  } catch {
    return false;
  }
}

const anythingButNullPrototypes = fc.anything({
  withBigInt: true,
  withBoxedValues: true,
  withDate: true,
  withMap: true,
  withSet: true,
  withObjectString: true,
  withSparseArray: true,
  withTypedArray: true,
});

Deno.test("a round trip keeps an error's name, message, stack and custom fields", () => {
  const original = new QuotaError("quota exceeded", 10);
  const back = roundTrip(original);
  ok(back instanceof Error);
  equal(back.name, "QuotaError");
  equal(back.message, "quota exceeded");
  equal(back.stack, original.stack);
  const fields = back as unknown as Record<string, unknown>;
  equal(fields.code, "E_QUOTA");
  equal(fields.limit, 10);
  equal(String(back), "QuotaError: quota exceeded");
  ok(!Object.keys(back).includes("name"), "name is not an enumerable own field");
});

Deno.test("a round trip keeps the cause chain, including a non-Error cause", async (t) => {
  await t.step("an Error cause keeps its class, message and fields", () => {
    const root = new QuotaError("disk full", 3);
    const middle = new TypeError("cannot write", { cause: root });
    const back = roundTrip(new Error("save failed", { cause: middle }));
    const chain = causes(back);
    equal(chain.length, 3);
    equal(back.message, "save failed");
    const cause = back.cause;
    ok(cause instanceof TypeError);
    equal(cause.message, "cannot write");
    const rootBack = cause.cause;
    ok(rootBack instanceof Error);
    equal(rootBack.name, "QuotaError");
    equal((rootBack as unknown as { limit: number }).limit, 3);
    ok(!("cause" in rootBack), "the chain ends where the original ended");
  });

  await t.step("a non-Error cause comes back as the value itself", () => {
    const cause = { code: 42, tags: ["a", "b"], when: new Date(0) };
    const back = roundTrip(new Error("wrapped", { cause }));
    deepEqual(back.cause, cause);
  });

  await t.step("a string, a number and undefined as cause survive", () => {
    equal(roundTrip(new Error("s", { cause: "because" })).cause, "because");
    equal(roundTrip(new Error("n", { cause: 7 })).cause, 7);
    const undefinedCause = roundTrip(new Error("u", { cause: undefined }));
    ok("cause" in undefinedCause, "an explicit undefined cause stays an own property");
    equal(undefinedCause.cause, undefined);
  });

  await t.step("an error without a cause gets none", () => {
    ok(!("cause" in roundTrip(new Error("alone"))));
  });
});

Deno.test("a round trip keeps AggregateError.errors", () => {
  const original = new AggregateError(
    [new TypeError("first"), new QuotaError("second", 5), "third"],
    "all failed",
    { cause: new Error("root") },
  );
  const back = roundTrip(original);
  ok(back instanceof AggregateError);
  equal(back.message, "all failed");
  equal(back.errors.length, 3);
  ok(back.errors[0] instanceof TypeError);
  equal(back.errors[0].message, "first");
  equal(back.errors[1].name, "QuotaError");
  equal(back.errors[1].limit, 5);
  ok(back.errors[2] instanceof Error, "a non-Error entry becomes an Error");
  equal(back.errors[2].message, "third");
  equal((back.cause as Error).message, "root");
  ok(!Object.hasOwn(back, "fields") && !Object.keys(back).includes("errors"));
});

Deno.test("built-in error types keep instanceof across the wire", async (t) => {
  const builtins = [TypeError, RangeError, SyntaxError, ReferenceError, URIError, EvalError];
  for (const Builtin of builtins) {
    await t.step(Builtin.name, () => {
      const original = new Builtin(`a ${Builtin.name}`);
      const back = roundTrip(original);
      ok(back instanceof Builtin, `${back.name} is not an instance of ${Builtin.name}`);
      ok(back instanceof Error);
      equal(back.name, Builtin.name);
      equal(back.message, `a ${Builtin.name}`);
      equal(back.stack, original.stack);
      for (const Other of builtins) {
        if (Other !== Builtin) ok(!(back instanceof Other), `also an instance of ${Other.name}`);
      }
    });
  }

  await t.step("a subclass of a built-in comes back as its base class with its name", () => {
    class ParseError extends SyntaxError {
      override name = "ParseError";
    }
    const back = roundTrip(new ParseError("line 3"));
    ok(back instanceof Error);
    equal(back.name, "ParseError");
    equal(back.message, "line 3");
  });
});

Deno.test("Troupe errors keep instanceof and their fields across the wire", async (t) => {
  await t.step("InvalidMessageError", () => {
    const issue = z.object({ n: z.number() }).safeParse({ n: "x" }).error!;
    const original = new InvalidMessageError("/counter", "add", "n: wrong", { cause: issue });
    const back = roundTrip(original);
    ok(back instanceof InvalidMessageError);
    ok(back instanceof Error);
    equal(back.name, "InvalidMessageError");
    equal(back.message, 'Invalid "add" message for /counter: n: wrong');
    equal(back.path, "/counter");
    equal(back.kind, "add");
    equal(back.detail, "n: wrong");
    equal(back.stack, original.stack);
    ok(back.cause instanceof Error, "the zod error travels as cause");
    equal(back.cause.message, issue.message);
  });

  await t.step("AskTimeoutError", () => {
    const back = roundTrip(new AskTimeoutError("/counter", "get", 50));
    ok(back instanceof AskTimeoutError);
    equal(back.message, 'Ask "get" to /counter timed out after 50 ms');
    equal(back.path, "/counter");
    equal(back.kind, "get");
    equal(back.timeoutMs, 50);
  });

  await t.step("ActorStoppedError", () => {
    const back = roundTrip(new ActorStoppedError("/a/b"));
    ok(back instanceof ActorStoppedError);
    equal(back.message, "Actor /a/b has stopped");
    equal(back.path, "/a/b");
  });

  await t.step("ActorCrashedError", () => {
    const back = roundTrip(new ActorCrashedError("/w", { cause: new RangeError("boom") }));
    ok(back instanceof ActorCrashedError);
    equal(back.message, "Actor /w crashed: boom");
    equal(back.path, "/w");
    ok(back.cause instanceof RangeError);
    equal(back.cause.message, "boom");
  });

  await t.step("MailboxFullError", () => {
    const back = roundTrip(new MailboxFullError(100, "/jobs"));
    ok(back instanceof MailboxFullError);
    equal(back.message, "Mailbox of /jobs is full (capacity 100)");
    equal(back.capacity, 100);
    equal(back.owner, "/jobs");
  });

  await t.step("MailboxClosedError", () => {
    const back = roundTrip(new MailboxClosedError("/jobs"));
    ok(back instanceof MailboxClosedError);
    equal(back.message, "Mailbox of /jobs is closed");
    equal(back.owner, "/jobs");
  });

  await t.step("SpawnError", () => {
    const back = roundTrip(new SpawnError("/db", "init threw", { cause: new Error("no file") }));
    ok(back instanceof SpawnError);
    equal(back.message, "Cannot start /db: init threw: no file");
    equal(back.path, "/db");
    equal((back.cause as Error).message, "no file");
  });

  await t.step("a Troupe error is not mistaken for another Troupe error", () => {
    const back = roundTrip(new ActorStoppedError("/x"));
    ok(!(back instanceof ActorCrashedError));
    ok(!(back instanceof SpawnError));
  });
});

Deno.test("a thrown non-Error becomes an Error with a readable message", async (t) => {
  const thrownFunction = function named() {};
  const cases: [string, unknown, string][] = [
    ["a string is the message itself", "boom", "boom"],
    ["a number", 42, "Non-error thrown: 42"],
    ["an object, as JSON", { code: 7, why: "no" }, 'Non-error thrown: {"code":7,"why":"no"}'],
    ["undefined", undefined, "Non-error thrown: undefined"],
    ["null", null, "Non-error thrown: null"],
    ["a bigint, which JSON cannot encode", 10n, "Non-error thrown: 10"],
    ["a symbol", Symbol("s"), "Non-error thrown: Symbol(s)"],
    ["a function", thrownFunction, `Non-error thrown: ${String(thrownFunction)}`],
  ];
  for (const [name, thrown, message] of cases) {
    await t.step(name, () => {
      const back = roundTrip(thrown);
      ok(back instanceof Error);
      equal(back.name, "Error");
      equal(back.message, message);
    });
  }

  await t.step("the thrown value travels as the field `thrown` when it can be cloned", () => {
    deepEqual((roundTrip({ code: 7 }) as unknown as { thrown: unknown }).thrown, { code: 7 });
    equal((roundTrip(10n) as unknown as { thrown: unknown }).thrown, 10n);
    equal((roundTrip(Symbol("s")) as unknown as { thrown: unknown }).thrown, "Symbol(s)");
  });

  await t.step("an object with a cycle is described without throwing", () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    const back = roundTrip(cyclic);
    equal(back.message, "Non-error thrown: [object Object]");
  });
});

Deno.test("fields that cannot be cloned become strings instead of failing", async (t) => {
  await t.step("a function field", () => {
    const retry = () => 1;
    const error = Object.assign(new Error("with callback"), { retry, code: "E1" });
    const back = roundTrip(error) as unknown as Record<string, unknown>;
    equal(back.retry, String(retry));
    equal(back.code, "E1");
  });

  await t.step("an object field that holds a function", () => {
    const error = Object.assign(new Error("with options"), { options: { onDone() {} } });
    equal((roundTrip(error) as unknown as Record<string, unknown>).options, "[object Object]");
  });

  await t.step("a symbol field", () => {
    const error = Object.assign(new Error("tagged"), { tag: Symbol("t") });
    equal((roundTrip(error) as unknown as Record<string, unknown>).tag, "Symbol(t)");
  });

  await t.step("a non-Error cause that cannot be cloned", () => {
    const why = () => "why";
    const back = roundTrip(new Error("outer", { cause: why }));
    equal(back.cause, String(why));
  });

  await t.step("the serialized form always survives structuredClone", () => {
    const error = Object.assign(new Error("x", { cause: { f() {} } }), { a: () => {}, b: [1] });
    const data = serializeError(error);
    deepEqual(structuredClone(data), data);
  });
});

Deno.test("a cause chain deeper than 8 is cut without throwing", async (t) => {
  await t.step("a chain of 20 keeps its first 9 errors", () => {
    let error = new Error("level 19");
    for (let level = 18; level >= 0; level--) {
      error = new Error(`level ${level}`, { cause: error });
    }
    const chain = causes(roundTrip(error));
    equal(chain.length, 9);
    deepEqual(
      chain.map((e) => (e as Error).message),
      [0, 1, 2, 3, 4, 5, 6, 7, 8].map((n) => `level ${n}`),
    );
    ok(!("cause" in (chain[8] as Error)), "the last kept error has no cause");
  });

  await t.step("a chain of exactly 9 is kept whole", () => {
    let error = new Error("level 8");
    for (let level = 7; level >= 0; level--) error = new Error(`level ${level}`, { cause: error });
    equal(causes(roundTrip(error)).length, 9);
  });

  await t.step("an error that is its own cause", () => {
    const error = new Error("loop");
    (error as { cause?: unknown }).cause = error;
    const chain = causes(roundTrip(error));
    equal(chain.length, 9);
    ok(chain.every((e) => (e as Error).message === "loop"));
  });

  await t.step("AggregateErrors nested deeper than 8 lose the errors of the 9th", () => {
    let error: Error = new Error("leaf");
    for (let level = 0; level < 20; level++) error = new AggregateError([error], `level ${level}`);
    let back: unknown = roundTrip(error);
    let depth = 0;
    while (back instanceof AggregateError) {
      depth++;
      back = back.errors[0];
    }
    equal(depth, 8);
    ok(back instanceof Error, "the cut level comes back as a plain Error");
    equal((back as Error).name, "AggregateError");
    equal((back as Error).message, "level 11");
  });
});

Deno.test("serializeError never throws and its output always survives structuredClone", async (t) => {
  await t.step("for any thrown value that JSON or String can describe", () => {
    // Values that neither can describe are covered by the test below.
    fc.assert(
      fc.property(anythingButNullPrototypes.filter(describable), (thrown) => {
        const data = serializeError(thrown);
        const cloned = structuredClone(data);
        const back = deserializeError(cloned);
        ok(back instanceof Error);
        equal(typeof back.message, "string");
        if (typeof thrown === "string") equal(back.message, thrown);
        else ok(back.message.startsWith("Non-error thrown: "), back.message);
      }),
      { numRuns: 500 },
    );
  });

  await t.step("for errors with any fields and causes", () => {
    const name = fc.oneof(fc.string(), fc.constantFrom(...OBJECT_PROTOTYPE_KEYS));
    const fieldKey = fc.string().filter((k) => !["name", "message", "stack", "cause"].includes(k));
    const fieldValue = fc.oneof(
      anythingButNullPrototypes,
      fc.func(fc.anything()),
      fc.constant(Symbol("field")),
    );
    const errorArb = fc.letrec((tie) => ({
      error: fc.record({
        Base: fc.constantFrom<ErrorConstructor | typeof QuotaError>(
          Error,
          TypeError,
          RangeError,
          SyntaxError,
          QuotaError,
        ),
        name: fc.option(name, { nil: undefined }),
        message: fc.string(),
        fields: fc.dictionary(fieldKey, fieldValue, { maxKeys: 4 }),
        cause: fc.option(fc.oneof(tie("error"), fieldValue), {
          nil: undefined,
          depthSize: "small",
        }),
      }).map(({ Base, name, message, fields, cause }) => {
        const error = Base === QuotaError
          ? new QuotaError(message, 1, cause === undefined ? undefined : { cause })
          : new (Base as ErrorConstructor)(message, cause === undefined ? undefined : { cause });
        if (name !== undefined) error.name = name;
        return Object.assign(error, fields) as Error;
      }),
    })).error;
    fc.assert(
      fc.property(errorArb, (error) => {
        const data = serializeError(error);
        const back = deserializeError(structuredClone(data));
        ok(back instanceof Error);
        equal(back.name, error.name);
        equal(back.message, error.message);
        equal(back.stack, error.stack);
        for (const key of Object.keys(error)) {
          if (key === "name") continue;
          const value = (error as unknown as Record<string, unknown>)[key];
          const got = (back as unknown as Record<string, unknown>)[key];
          let clone: { value: unknown } | undefined;
          try {
            clone = { value: structuredClone(value) };
          } catch {
            clone = undefined;
          }
          if (clone === undefined) equal(got, String(value), `field ${key}`);
          else equal(inspect(got), inspect(clone.value), `field ${key}`);
        }
        equal("cause" in back, "cause" in error);
      }),
      { numRuns: 300 },
    );
  });
});

Deno.test("hostile serialized errors cannot change a rebuilt error's prototype", () => {
  const pristine = Object.getOwnPropertyNames(Object.prototype).sort();
  const data = JSON.parse(
    '{"name":"TypeError","message":"m","fields":{"__proto__":{"polluted":true},"constructor":1}}',
  ) as SerializedError;
  const back = deserializeError(data);
  ok(back instanceof TypeError);
  equal(Object.getPrototypeOf(back), TypeError.prototype);
  equal(({} as { polluted?: unknown }).polluted, undefined);
  deepEqual(Object.getOwnPropertyNames(Object.prototype).sort(), pristine);
});

Deno.test("hostile fields cannot replace the name, message or stack checkFromGuest found strings", () => {
  const data = structuredClone({
    name: "Error",
    message: "m",
    stack: "Error: m",
    fields: { message: { toString: 5 }, name: 7, stack: [1], cause: 3, code: "E1" },
  });
  equal(checkFromGuest([{ t: "fault", error: data }]), undefined);
  const back = deserializeError(data);
  equal(back.message, "m");
  equal(back.name, "Error");
  equal(back.stack, "Error: m");
  equal(back.cause, undefined);
  equal((back as Error & { code?: unknown }).code, "E1");
  // A message that is not a string would make every error built on it throw.
  equal(new ActorCrashedError("/a", { cause: back }).message, "Actor /a crashed: m");
});

Deno.test("an error named after an Object.prototype member comes back as an Error", async (t) => {
  for (const name of OBJECT_PROTOTYPE_KEYS) {
    await t.step(name, () => {
      const original = new Error("odd name");
      original.name = name;
      const back = roundTrip(original);
      ok(back instanceof Error, `${name} came back as ${Object.prototype.toString.call(back)}`);
      equal(back.name, name);
      equal(back.message, "odd name");
    });
  }
});

Deno.test({
  name: "serializeError describes values that JSON, structuredClone and String all refuse",
  fn: async (t) => {
    await t.step("a thrown null-prototype object holding a bigint", () => {
      const thrown = Object.assign(Object.create(null), { big: 1n });
      const back = roundTrip(thrown);
      ok(back instanceof Error);
      ok(back.message.startsWith("Non-error thrown: "), back.message);
    });

    await t.step("a thrown object whose own toString is not a function, with a bigint", () => {
      const back = roundTrip({ "": 0n, toString: new Boolean(false) });
      ok(back.message.startsWith("Non-error thrown: "), back.message);
    });

    await t.step("a thrown JSON object with a toString key and a cycle", () => {
      const thrown = JSON.parse('{"toString":1,"valueOf":2}');
      thrown.self = thrown;
      ok(roundTrip(thrown).message.startsWith("Non-error thrown: "));
    });

    await t.step("a field that is a null-prototype object holding a function", () => {
      const field = Object.assign(Object.create(null), { run() {} });
      const back = roundTrip(Object.assign(new Error("x"), { field }));
      equal(typeof (back as unknown as { field: unknown }).field, "string");
    });

    await t.step("any value, null prototypes included", () => {
      fc.assert(
        fc.property(
          fc.anything({ withNullPrototype: true, withBigInt: true, withMap: true }),
          (thrown) => {
            structuredClone(serializeError(thrown));
          },
        ),
        { numRuns: 1_000 },
      );
    });
  },
});

Deno.test("the serialized form of an error is plain data", () => {
  const data = serializeError(new QuotaError("q", 1, { cause: new TypeError("t") }));
  deepEqual(Object.keys(data).sort(), ["cause", "fields", "message", "name", "stack"]);
  deepEqual(data.fields, { code: "E_QUOTA", limit: 1 });
  notEqual(data.cause, undefined);
  equal((data.cause as SerializedError).name, "TypeError");
});

// ---- checking what a guest sends --------------------------------------------------------------

/** Every frame a guest may send, as Troupe's own guest writes it. */
const WELL_FORMED: ToHost[] = [
  { t: "ready", id: 1 },
  { t: "spawn_failed", id: 2, error: serializeError(new TypeError("no")) },
  {
    t: "replies",
    id: 3,
    ack: 9,
    r: [
      4,
      REPLY_OK,
      { any: ["value"] },
      5,
      REPLY_INVALID,
      serializeError(new Error("x")),
      9,
      REPLY_ERROR,
      serializeError(new Error("y")),
    ],
  },
  { t: "replies", id: 3, ack: 0, r: [] },
  { t: "replies", id: 3, ack: 12, r: [10, REPLY_OK, 1], s: [11, 12], u: true },
  {
    t: "crashed",
    id: 4,
    seq: -1,
    error: serializeError(new AggregateError([new Error("a")], "m", { cause: new Error("c") })),
  },
  { t: "stopped", id: 5 },
  { t: "fault", error: serializeError("a string") },
  { t: "exit", code: 3 },
  { t: "call", id: 6, call: 1, op: "ask", kind: "get", payload: null, timeoutMs: 10 },
  { t: "call", id: 6, call: 2, op: "tell", kind: "x", payload: 1, invalid: serializeError(1) },
  { t: "call", id: 6, call: 0, op: "tell", kind: "x", payload: 1, more: [2, { n: 3 }] },
  { t: "pong", n: 4 },
];

Deno.test("checkFromGuest accepts every frame Troupe's guest sends", () => {
  equal(checkFromGuest(structuredClone(WELL_FORMED)), undefined);
  equal(checkFromGuest(JSON.parse(JSON.stringify(WELL_FORMED))), undefined);
  equal(checkFromGuest([]), undefined);
  fc.assert(
    fc.property(fc.anything(), fc.string(), (thrown, message) => {
      const error = serializeError(
        thrown instanceof Error ? thrown : new Error(message, { cause: thrown }),
      );
      equal(checkFromGuest(structuredClone([{ t: "fault", error }])), undefined);
    }),
  );
});

Deno.test("checkFromGuest names the first problem and never throws, whatever arrives", () => {
  equal(checkFromGuest(42), "the batch is the number 42, not an array of frames");
  equal(checkFromGuest([null]), "frame 0: null is not a frame");
  equal(
    checkFromGuest([{ t: "replies", r: null }]),
    "frame 0: replies.id is undefined, not a whole number",
  );
  equal(
    checkFromGuest([{ t: "replies", id: 1.5 }]),
    "frame 0: replies.id is the number 1.5, not a whole number",
  );
  equal(checkFromGuest([{ t: "ready", id: 1 }, { t: "x" }]), 'frame 1: unknown frame type "x"');
  equal(
    checkFromGuest([{ t: "replies", id: 1, ack: 2, r: [1, 7, null] }]),
    "frame 0: replies.r[1] is the number 7, not a reply status",
  );
  equal(
    checkFromGuest([{ t: "replies", id: 1, ack: 2, r: [1, 1] }]),
    "frame 0: replies.r has 2 items, not triples",
  );
  equal(
    checkFromGuest([{ t: "replies", id: 1, ack: 2, r: [], s: 1 }]),
    "frame 0: replies.s is the number 1, not an array",
  );
  equal(
    checkFromGuest([{ t: "replies", id: 1, ack: 2, r: [], s: [1, 3] }]),
    "frame 0: replies.s[1] is the number 3, not a seq after 1 up to its ack 2",
  );
  equal(
    checkFromGuest([{ t: "replies", id: 1, ack: 2, r: [], s: [2, 2] }]),
    "frame 0: replies.s[1] is the number 2, not a seq after 2 up to its ack 2",
  );
  equal(
    checkFromGuest([{ t: "replies", id: 1, ack: 3, r: [1, 1, "a", 2, 1, "b"], s: [2] }]),
    "frame 0: replies.s[0] is seq 2, which r answers",
  );
  equal(
    checkFromGuest([{ t: "replies", id: 1, ack: 3, r: [1, 1, "a", 3, 1, "b"], s: [2] }]),
    undefined,
  );
  equal(
    checkFromGuest([{ t: "replies", id: 1, ack: 2, r: [], u: 1 }]),
    "frame 0: replies.u is the number 1",
  );
  const call = { t: "call", id: 1, call: 1, kind: "k", payload: 1 };
  equal(
    checkFromGuest([{ ...call, op: "ask", more: [2] }]),
    'frame 0: call.more is an array for a "ask"',
  );
  equal(
    checkFromGuest([{ ...call, op: "tell", more: 2 }]),
    'frame 0: call.more is the number 2 for a "tell"',
  );
  const shared = { name: "Error", message: "m" };
  equal(
    checkFromGuest([{ t: "fault", error: { name: "E", message: "m", errors: [shared, shared] } }]),
    "frame 0: error.errors[1] repeats an error found elsewhere in the frame",
  );
  fc.assert(
    fc.property(
      fc.oneof(
        fc.anything({
          withMap: true,
          withSet: true,
          withNullPrototype: true,
          withSparseArray: true,
        }),
        fc.array(
          fc.record({ t: fc.constantFrom(...WELL_FORMED.map((f) => f.t)), id: fc.anything() }, {
            requiredKeys: [],
          }),
        ),
      ),
      (value) => {
        const problem = checkFromGuest(value);
        ok(problem === undefined || typeof problem === "string");
      },
    ),
    { numRuns: 500 },
  );
});

Deno.test("checkFromGuest refuses any one field of a frame set to a wrong type", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: WELL_FORMED.length - 1 }),
      fc.nat(),
      fc.oneof(
        fc.constant(undefined),
        fc.constant(null),
        fc.constant("s"),
        fc.constant({}),
        fc.constant(1.5),
      ),
      (index, pick, value) => {
        const frame = structuredClone(WELL_FORMED[index]) as unknown as Record<string, unknown>;
        const keys = Object.keys(frame).filter((key) =>
          !["payload", "timeoutMs", "invalid", "more"].includes(key)
        );
        const key = keys[pick % keys.length];
        if (key === "n" && typeof value === "number") return; // pong.n is any number
        if (key === "kind" && typeof value === "string") return; // call.kind is any string
        if ((key === "s" || key === "u") && value === undefined) return; // replies.s, .u are optional
        frame[key] = value;
        notEqual(checkFromGuest([frame]), undefined, `${frame.t}.${key} = ${String(value)}`);
      },
    ),
    { numRuns: 500 },
  );
});
