/**
 * Fault injection with bad and hostile messages, at both trust boundaries:
 *
 * - the guest (in-process, no workers): a `Guest` fed deliver frames directly, with any payload
 *   and any kind index, must refuse what fails its schema, never throw, answer every seq exactly
 *   once and keep `Object.prototype` clean;
 * - the host, through `ActorSystem` with the `"local"` and `"worker"` placements: invalid tells are
 *   dead letters, invalid asks reject, unknown kinds are `TypeError`s, and state survives it all;
 * - flooding: each overflow policy on a mailbox of 10, filled deterministically by an actor held on
 *   a shared-memory gate;
 * - values too deep to clone, and values `postMessage` throws on, in every placement: only that
 *   message fails, with a typed error;
 * - the host's intake of frames from untrusted guests (worker, shared, process): malformed batches,
 *   mutated frames and rewritten replies crash that guest or reject that ask, never the host.
 */

import { deepEqual, equal, fail, ok, rejects, throws } from "node:assert/strict";
import fc from "fast-check";
import type { z } from "zod";
import {
  ActorCrashedError,
  ActorSystem,
  type DeadLetter,
  InvalidMessageError,
  MailboxFullError,
  SharedEvent,
  supervisor,
} from "../mod.ts";
import type { ActorRef, AskOptions } from "../actors/ref.ts";
import type { ActorDefinition } from "../actors/define.ts";
import { type KindEntry, kindTable } from "../actors/protocol.ts";
import { formatIssues } from "../_util.ts";
import { Guest, type GuestPort } from "../actors/guest.ts";
import { isDownData } from "../actors/protocol.ts";
import {
  checkFromGuest,
  deserializeError,
  DOWN_INDEX,
  REPLY_INVALID,
  REPLY_OK,
  type SerializedError,
  type ToGuest,
  type ToHost,
} from "../mailbox/wire.ts";
import { nextEvent, test, waitForFlag } from "./_helpers.ts";
import { Counter } from "./fixtures/counter.ts";
import {
  type Call,
  Deep,
  ENTERED,
  Gate,
  GATE_BYTES,
  HANDLED,
  Hostile,
  hostileProtocol,
  type Mutation,
  nested,
  RELEASED,
  Saboteur,
  Thrower,
} from "./fixtures/hostile.ts";

// ---------------------------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------------------------

/** A ref seen from untyped code: any kind, any payload. */
interface Untyped {
  tell(kind: unknown, msg: unknown): void;
  send(kind: unknown, msg: unknown): Promise<void>;
  ask(kind: unknown, msg: unknown, options?: AskOptions): Promise<unknown>;
}

function untyped(ref: unknown): Untyped {
  return ref as Untyped;
}

/** A validator for `throws`/`rejects`: the exact class and the exact message. */
function exactly(Class: new (...args: never[]) => Error, message: string) {
  return (error: unknown): true => {
    ok(error instanceof Class, `expected ${Class.name}, got ${String(error)}`);
    equal(error.message, message);
    return true;
  };
}

function invalid(path: string, kind: string, detail: string) {
  return (error: unknown): true => {
    exactly(InvalidMessageError, `Invalid "${kind}" message for ${path}: ${detail}`)(error);
    const e = error as InvalidMessageError;
    equal(e.path, path);
    equal(e.kind, kind);
    equal(e.detail, detail);
    return true;
  };
}

function mailboxFull(owner: string, capacity: number) {
  return (error: unknown): true => {
    exactly(MailboxFullError, `Mailbox of ${owner} is full (capacity ${capacity})`)(error);
    equal((error as MailboxFullError).capacity, capacity);
    equal((error as MailboxFullError).owner, owner);
    return true;
  };
}

/** Lets every promise reaction that is already due run. */
async function flushMicrotasks(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

const PROTOTYPES = [Object.prototype, Array.prototype, Function.prototype, String.prototype];
const PRISTINE = PROTOTYPES.map((proto) => Object.getOwnPropertyNames(proto).sort());

/** Fails if any hostile payload managed to add a property to a built-in prototype. */
function assertNotPolluted(): void {
  PROTOTYPES.forEach((proto, i) =>
    deepEqual(Object.getOwnPropertyNames(proto).sort(), PRISTINE[i])
  );
  const probe = {} as Record<string, unknown>;
  equal(probe.polluted, undefined);
  equal(([] as unknown as Record<string, unknown>).polluted, undefined);
  equal((Object as unknown as Record<string, unknown>).polluted, undefined);
}

// ---------------------------------------------------------------------------------------------
// Hostile values
// ---------------------------------------------------------------------------------------------

const PROTO_JSON = [
  '{"__proto__":{"polluted":true}}',
  '{"constructor":{"prototype":{"polluted":true}}}',
  '{"prototype":{"polluted":true}}',
  '{"__proto__":{"polluted":true},"x":1,"y":2}',
  '{"__proto__":{"polluted":true},"name":"a"}',
  '{"constructor":{"prototype":{"polluted":true}},"tags":["a"]}',
  '{"__proto__":{"polluted":true},"values":[1,2]}',
  '{"__proto__":{"polluted":true},"type":"a","a":1}',
  '{"__proto__":{"polluted":true},"n":3}',
  '{"inner":{"__proto__":{"polluted":true},"deep":{"on":true}}}',
  '{"__proto__":{"x":1,"y":2,"polluted":true}}',
  '[{"__proto__":{"polluted":true}}]',
  '{"a":{"__proto__":{"polluted":true}},"__proto__":{"polluted":true}}',
];

/** Objects with own `__proto__`/`constructor`/`prototype` keys, as JSON.parse makes them. */
const protoJson = fc.constantFrom(...PROTO_JSON).map((text) => JSON.parse(text) as unknown);

const weirdNumber = fc.constantFrom(
  NaN,
  Infinity,
  -Infinity,
  -0,
  0.5,
  2 ** 53,
  -(2 ** 53),
  Number.MAX_VALUE,
  Number.MIN_VALUE,
  Number.EPSILON,
);

/** Numbers of every sort and the things that are almost numbers. */
const numberish = fc.oneof(
  fc.integer(),
  fc.double(),
  weirdNumber,
  fc.string({ maxLength: 4 }),
  fc.bigInt(),
  fc.constantFrom(null, undefined, true, false, [], {}),
);

const hugeString = fc.integer({ min: 65, max: 200_000 }).map((n) => "x".repeat(n));

function nest(depth: number, arrays: boolean): unknown {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = arrays ? [value] : { inner: value, deep: value };
  return value;
}

/**
 * Deep nesting, kept below the depth at which zod's recursive parse overflows the stack (deeper
 * payloads have their own tests).
 */
const deepNest = fc.tuple(fc.integer({ min: 1, max: 500 }), fc.boolean())
  .map(([depth, arrays]) => nest(depth, arrays));

const anythingHostile = fc.anything({
  maxDepth: 4,
  withBigInt: true,
  withBoxedValues: true,
  withDate: true,
  withMap: true,
  withNullPrototype: true,
  withObjectString: true,
  withSet: true,
  withSparseArray: true,
  withTypedArray: true,
});

const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: anythingHostile },
  { weight: 1, arbitrary: weirdNumber },
  { weight: 1, arbitrary: hugeString },
  { weight: 1, arbitrary: deepNest },
  { weight: 2, arbitrary: protoJson },
  { weight: 1, arbitrary: fc.array(fc.anything(), { maxLength: 5 }) },
);

/** Extra keys to mix into a payload: junk, and own `__proto__`/`constructor` keys. */
const extras: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  fc.constant({}),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.anything({ maxDepth: 1 }), { maxKeys: 3 }),
  protoJson.filter((v): v is Record<string, unknown> =>
    typeof v === "object" && v !== null && !Array.isArray(v)
  ),
);

function withExtras(base: fc.Arbitrary<Record<string, unknown>>): fc.Arbitrary<unknown> {
  return fc.tuple(base, extras).map(([payload, extra]) => Object.assign({}, extra, payload));
}

const tree: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  tree: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.oneof(fc.integer(), fc.double(), weirdNumber),
    fc.array(tie("tree"), { maxLength: 3 }),
    fc.string({ maxLength: 2 }),
  ),
})).tree;

/** Payloads near to valid for each kind of {@linkcode Hostile}: right shape, doubtful values. */
const nearValid: Record<keyof typeof hostileProtocol, fc.Arbitrary<unknown>> = {
  point: withExtras(
    fc.record({ x: fc.oneof(fc.integer(), numberish), y: fc.oneof(fc.double(), numberish) }, {
      requiredKeys: [],
    }),
  ),
  label: withExtras(fc.record({
    name: fc.oneof(fc.string({ maxLength: 70 }), hugeString, numberish),
    note: fc.oneof(fc.string(), numberish),
  }, { requiredKeys: ["name"] })),
  tags: withExtras(fc.record({
    tags: fc.oneof(
      fc.array(fc.string({ maxLength: 3 }), { maxLength: 10 }),
      fc.array(fc.anything(), { maxLength: 3 }),
      fc.string(),
      protoJson,
    ),
  })),
  nested: withExtras(fc.record({
    inner: fc.oneof(
      withExtras(fc.record({
        deep: fc.oneof(
          withExtras(fc.record({ on: fc.oneof(fc.boolean(), numberish) })),
          hostileValue,
        ),
      })),
      hostileValue,
    ),
  })),
  choice: withExtras(fc.record({
    type: fc.constantFrom("a", "b", "c", "__proto__", "constructor"),
    a: fc.oneof(fc.integer(), numberish),
    b: fc.oneof(fc.string(), numberish),
  }, { requiredKeys: ["type"] })),
  dict: fc.oneof(fc.dictionary(fc.string(), fc.oneof(fc.double(), numberish)), protoJson),
  tree: fc.oneof(tree, deepNest),
  sum: withExtras(fc.record({
    values: fc.oneof(fc.array(fc.oneof(fc.double(), numberish), { maxLength: 110 }), hostileValue),
  })),
  later: withExtras(
    fc.record({ n: fc.oneof(fc.integer({ min: -10, max: 2_000_000 }), numberish) }),
  ),
  count: fc.oneof(fc.constant({}), extras),
  measure: fc.oneof(tree, deepNest),
  boom: withExtras(fc.record({ message: fc.oneof(fc.string(), numberish) })),
  explode: withExtras(fc.record({ message: fc.oneof(fc.string(), numberish) })),
};

// ---------------------------------------------------------------------------------------------
// A guest with a fake port, in-process
// ---------------------------------------------------------------------------------------------

const ID = 1;
const PATH = "/hostile";
/** The hostile actor as the runtime handles it: any definition. */
const HOSTILE = Hostile as unknown as ActorDefinition;
const TABLE: readonly KindEntry[] = kindTable(HOSTILE);

/** Records every frame the guest posts, and lets a test wait for a condition on them. */
class RecordingPort implements GuestPort {
  readonly frames: ToHost[] = [];
  /** Batches that could not have crossed to a worker. */
  readonly uncloneable: unknown[] = [];
  readonly #def: ActorDefinition;
  readonly #waiters = new Set<() => void>();

  constructor(def: ActorDefinition) {
    this.#def = def;
  }

  post(frames: ToHost[], _transfer: Transferable[]): void {
    try {
      structuredClone(frames);
    } catch (error) {
      this.uncloneable.push(error);
    }
    this.frames.push(...frames);
    for (const check of [...this.#waiters]) check();
  }

  load(url: string, name: string): Promise<ActorDefinition> {
    if (url !== this.#def.url || name !== this.#def.name) {
      return Promise.reject(new TypeError(`No definition "${name}" at ${url}`));
    }
    return Promise.resolve(this.#def);
  }

  /** Resolves once `predicate` holds; the guard timer only turns a hang into a failure. */
  until(what: string, predicate: () => boolean): Promise<void> {
    if (predicate()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!predicate()) return;
        clearTimeout(guard);
        this.#waiters.delete(check);
        resolve();
      };
      const guard = setTimeout(() => {
        this.#waiters.delete(check);
        reject(
          new Error(`The guest never posted ${what}; it posted ${describeFrames(this.frames)}`),
        );
      }, 5_000);
      this.#waiters.add(check);
    });
  }
}

function describeFrames(frames: readonly ToHost[]): string {
  return JSON.stringify(frames, (_key, value) => typeof value === "bigint" ? `${value}n` : value)
    .slice(0, 2_000);
}

/** A guest, its port, and every error that escaped `receive`. */
class Harness {
  readonly port: RecordingPort;
  readonly guest: Guest;
  readonly thrown: unknown[] = [];
  #pings = 0;

  constructor(def: ActorDefinition = HOSTILE) {
    this.port = new RecordingPort(def);
    this.guest = new Guest(this.port);
  }

  /** Hands frames to the guest; an error it throws is recorded, not propagated. */
  send(frames: ToGuest[]): void {
    try {
      this.guest.receive(frames);
    } catch (error) {
      this.thrown.push(error);
    }
  }

  count(type: ToHost["t"]): number {
    return this.port.frames.filter((frame) => frame.t === type).length;
  }

  async spawn(args: unknown, def: ActorDefinition = HOSTILE): Promise<void> {
    this.send([{
      t: "spawn",
      id: ID,
      url: def.url,
      name: def.name,
      path: PATH,
      args,
      stop: new SharedArrayBuffer(4),
      trusted: false,
    }]);
    await this.port.until("ready", () => this.count("ready") === 1);
  }

  async restart(error: SerializedError): Promise<void> {
    const readies = this.count("ready");
    this.send([{ t: "restart", id: ID, error }]);
    await this.port.until("ready after restart", () => this.count("ready") > readies);
  }

  /** A ping round trip: whatever the guest had queued before it has been posted. */
  async roundTrip(): Promise<void> {
    const n = ++this.#pings;
    this.send([{ t: "ping", n }]);
    await this.port.until(
      `pong ${n}`,
      () => this.port.frames.some((frame) => frame.t === "pong" && frame.n === n),
    );
  }

  /** The highest ack posted so far (0 before any). */
  ack(): number {
    let ack = 0;
    for (const frame of this.port.frames) if (frame.t === "replies") ack = Math.max(ack, frame.ack);
    return ack;
  }

  crashes(): Extract<ToHost, { t: "crashed" }>[] {
    return this.port.frames.filter((f): f is Extract<ToHost, { t: "crashed" }> =>
      f.t === "crashed"
    );
  }
}

function deliver(seq: number, ...m: unknown[]): ToGuest {
  return { t: "deliver", id: ID, seq, m };
}

/** Every `[seq, status, value]` of the replies frames, in the order they were posted. */
function replies(frames: readonly ToHost[]): [number, number, unknown][] {
  const out: [number, number, unknown][] = [];
  for (const frame of frames) {
    if (frame.t !== "replies") continue;
    for (let i = 0; i < frame.r.length; i += 3) {
      out.push([frame.r[i] as number, frame.r[i + 1] as number, frame.r[i + 2]]);
    }
  }
  return out;
}

/** The entry a well-formed kind index names, or `undefined`. */
function entryAt(index: unknown): KindEntry | undefined {
  return typeof index === "number" && Number.isInteger(index) && index >= 0 &&
      index < TABLE.length
    ? TABLE[index]
    : undefined;
}

/** What `handler` returns for a valid message, given how many calls were recorded before it. */
function expectedReply(kind: string, msg: unknown, callsBefore: number): unknown {
  switch (kind) {
    case "sum":
      return (msg as { values: number[] }).values.reduce((a, b) => a + b, 0);
    case "later":
      return (msg as { n: number }).n * 2;
    case "count":
      return callsBefore;
    case "measure":
      return Array.isArray(msg) ? msg.length : msg;
    default:
      throw new Error(`${kind} is not an ask that answers`);
  }
}

/** Kind indexes of every sort; strings that an array lookup would resolve are left out. */
const kindIndex: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 1, arbitrary: fc.integer({ min: -1_000, max: 1_000 }) },
  {
    weight: 1,
    arbitrary: fc.oneof(fc.double(), weirdNumber, fc.constantFrom(-1, TABLE.length, 2 ** 32)),
  },
  {
    weight: 1,
    arbitrary: fc.string().filter((s) =>
      (TABLE as unknown as Record<string, unknown>)[s] === undefined
    ),
  },
  { weight: 1, arbitrary: fc.constantFrom(true, false, null, undefined, {}) },
);

interface Msg {
  readonly k: unknown;
  readonly payload: unknown;
}

const message: fc.Arbitrary<Msg> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.integer({ min: 0, max: TABLE.length - 1 }).chain((k) =>
      fc.record({
        k: fc.constant(k),
        payload: fc.oneof(
          { weight: 3, arbitrary: nearValid[TABLE[k].kind as keyof typeof nearValid] },
          { weight: 1, arbitrary: hostileValue },
        ),
      })
    ),
  },
  { weight: 1, arbitrary: fc.record({ k: kindIndex, payload: hostileValue }) },
);

/** One round of deliveries: which seqs it used, and the seq that crashed, if one did. */
interface Round {
  readonly first: number;
  readonly last: number;
  readonly crashed: number | undefined;
}

/**
 * Plays the host: delivers the messages in frames of the given sizes, and after a crash restarts
 * the actor and delivers again, under new seqs, the messages the crash left undelivered (the
 * crashing message itself is not retried: at most once).
 */
async function play(
  harness: Harness,
  messages: readonly Msg[],
  frameSizes: readonly number[],
  oneBatch: boolean,
): Promise<{ bySeq: Map<number, number>; rounds: Round[] }> {
  const bySeq = new Map<number, number>();
  const rounds: Round[] = [];
  let queue = messages.map((_, index) => index);
  let nextSeq = 1;
  while (queue.length > 0) {
    const first = nextSeq;
    const frames: ToGuest[] = [];
    for (let i = 0, f = 0; i < queue.length; f++) {
      const part = queue.slice(i, i + frameSizes[f % frameSizes.length]);
      i += part.length;
      frames.push(
        deliver(nextSeq, ...part.flatMap((index) => [messages[index].k, messages[index].payload])),
      );
      for (const index of part) bySeq.set(nextSeq++, index);
    }
    const last = nextSeq - 1;
    const crashesBefore = harness.crashes().length;
    if (oneBatch) harness.send(frames);
    else for (const frame of frames) harness.send([frame]);
    if (harness.thrown.length > 0) throw harness.thrown[0];
    await harness.port.until(
      `an ack of ${last} or a crash`,
      () => harness.ack() >= last || harness.crashes().length > crashesBefore,
    );
    const crash = harness.crashes()[crashesBefore];
    rounds.push({ first, last, crashed: crash?.seq });
    if (crash === undefined) break;
    queue = range(crash.seq + 1, last).map((seq) => bySeq.get(seq)!);
    await harness.restart(crash.error);
  }
  await harness.roundTrip();
  return { bySeq, rounds };
}

/** Checks everything the guest posted against what a correct guest must have done. */
function verify(
  harness: Harness,
  messages: readonly Msg[],
  calls: readonly Call[],
  bySeq: Map<number, number>,
  rounds: readonly Round[],
): void {
  equal(harness.thrown.length, 0, `receive threw: ${harness.thrown[0]}`);
  deepEqual(harness.port.uncloneable, [], "every posted batch can cross to a worker");

  // Acks only move forward.
  let previous = 0;
  for (const frame of harness.port.frames) {
    if (frame.t !== "replies") continue;
    ok(frame.ack >= previous, `ack went back from ${previous} to ${frame.ack}`);
    previous = frame.ack;
  }

  // No seq is answered twice, and none is both answered and crashed.
  const answered = new Map<number, [number, unknown]>();
  for (const [seq, status, value] of replies(harness.port.frames)) {
    ok(!answered.has(seq), `seq ${seq} answered twice`);
    answered.set(seq, [status, value]);
  }
  const crashed = new Map<number, SerializedError>();
  for (const crash of harness.crashes()) {
    ok(!crashed.has(crash.seq), `seq ${crash.seq} crashed twice`);
    ok(!answered.has(crash.seq), `seq ${crash.seq} both answered and crashed`);
    crashed.set(crash.seq, crash.error);
  }

  // Every handler call passed its schema, with unknown keys already stripped.
  for (const call of calls) {
    const schema = hostileProtocol[call.kind as keyof typeof hostileProtocol];
    const request = ("request" in schema ? schema.request : schema) as z.ZodType;
    const checked = request.safeParse(call.msg);
    ok(checked.success, `the ${call.kind} handler got an invalid message`);
    deepEqual(checked.data, call.msg, `the ${call.kind} handler got unknown keys`);
  }

  // Replay the messages in the order the guest saw them against the schemas.
  let callsSoFar = 0;
  for (const round of rounds) {
    const end = round.crashed ?? round.last;
    for (let seq = round.first; seq <= end; seq++) {
      const { k, payload } = messages[bySeq.get(seq)!];
      const entry = entryAt(k);
      const answer = answered.get(seq);
      if (entry === undefined && k === DOWN_INDEX && isDownData(payload)) {
        ok(answer === undefined, `seq ${seq}: a watched actor's end was answered`);
        continue;
      }
      if (entry === undefined) {
        ok(answer !== undefined && answer[0] === REPLY_INVALID, `seq ${seq}: kind ${String(k)}`);
        invalid(PATH, String(k), "unknown message kind")(
          deserializeError(answer[1] as SerializedError),
        );
        continue;
      }
      const checked = entry.request.safeParse(payload);
      if (!checked.success) {
        ok(answer !== undefined && answer[0] === REPLY_INVALID, `seq ${seq}: not refused`);
        invalid(PATH, entry.kind, formatIssues(checked.error))(
          deserializeError(answer[1] as SerializedError),
        );
        continue;
      }
      if (entry.kind !== "count") {
        deepEqual(calls[callsSoFar], { kind: entry.kind, msg: checked.data }, `seq ${seq}`);
      }
      const callsBefore = callsSoFar;
      if (entry.kind !== "count") callsSoFar++;
      if (entry.kind === "boom" || entry.kind === "explode") {
        equal(round.crashed, seq, `seq ${seq} should have crashed`);
        const error = deserializeError(crashed.get(seq)!);
        ok(entry.kind === "boom" ? error.constructor === Error : error instanceof RangeError);
        equal(error.message, (checked.data as { message: string }).message);
        continue;
      }
      ok(!crashed.has(seq), `seq ${seq} crashed`);
      if (!entry.ask) {
        equal(answer, undefined, `the tell at seq ${seq} got a reply`);
        ok(harness.ack() >= seq, `the tell at seq ${seq} was never acknowledged`);
        continue;
      }
      ok(answer !== undefined, `the ask at seq ${seq} got no reply`);
      const reply = entry.reply!.safeParse(expectedReply(entry.kind, checked.data, callsBefore));
      if (reply.success) {
        equal(answer[0], REPLY_OK, `seq ${seq}`);
        deepEqual(answer[1], reply.data);
      } else {
        equal(answer[0], REPLY_INVALID, `seq ${seq}`);
        invalid(PATH, entry.kind, `reply ${formatIssues(reply.error)}`)(
          deserializeError(answer[1] as SerializedError),
        );
      }
    }
    // What came after a crash in the same round was dropped, never answered.
    for (let seq = end + 1; seq <= round.last; seq++) {
      ok(!answered.has(seq) && !crashed.has(seq), `seq ${seq} after the crash was answered`);
    }
  }
  equal(calls.length, callsSoFar, "a handler was called for a message that was refused");
}

// ---------------------------------------------------------------------------------------------
// A. The guest boundary, in-process
// ---------------------------------------------------------------------------------------------

Deno.test("the guest refuses bad messages and answers every seq exactly once, whatever arrives", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(message, { minLength: 1, maxLength: 12 }),
      fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 1, maxLength: 4 })
        .filter((sizes) => sizes.some((size) => size > 0)),
      fc.boolean(),
      async (messages, frameSizes, oneBatch) => {
        const calls: Call[] = [];
        const harness = new Harness();
        await harness.spawn({ calls });
        const { bySeq, rounds } = await play(harness, messages, frameSizes, oneBatch);
        verify(harness, messages, calls, bySeq, rounds);
        assertNotPolluted();
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("the guest strips unknown keys before the handler sees the message", async (t) => {
  const cases: [string, number, unknown, unknown][] = [
    ["extra keys", 0, { x: 1, y: 2.5, z: 3, extra: { a: 1 } }, { x: 1, y: 2.5 }],
    ["an own __proto__ key", 0, JSON.parse('{"x":1,"y":2,"__proto__":{"polluted":true}}'), {
      x: 1,
      y: 2,
    }],
    [
      "constructor and prototype keys",
      1,
      JSON.parse(
        '{"name":"a","constructor":{"prototype":{"polluted":true}},"prototype":{"polluted":true}}',
      ),
      { name: "a" },
    ],
    [
      "keys in nested objects",
      3,
      JSON.parse(
        '{"inner":{"__proto__":{"polluted":true},"deep":{"on":true,"constructor":1},"x":1}}',
      ),
      { inner: { deep: { on: true } } },
    ],
    ["keys in a union member", 4, { type: "a", a: 1, b: "not this one", __proto__: null }, {
      type: "a",
      a: 1,
    }],
    [
      "records keep string keys but not __proto__",
      5,
      JSON.parse(
        '{"a":1,"__proto__":{"polluted":true},"constructor":2}',
      ),
      { a: 1, constructor: 2 },
    ],
  ];
  for (const [name, k, payload, expected] of cases) {
    await t.step(name, async () => {
      const calls: Call[] = [];
      const harness = new Harness();
      await harness.spawn({ calls });
      harness.send([deliver(1, k, payload)]);
      await harness.port.until("an ack of 1", () => harness.ack() >= 1);
      equal(harness.thrown.length, 0);
      deepEqual(replies(harness.port.frames), []);
      equal(calls.length, 1);
      const msg = calls[0].msg as Record<string, unknown>;
      deepEqual(msg, expected);
      deepEqual(Object.keys(msg), Object.keys(expected as object));
      equal(Object.getPrototypeOf(msg), Object.prototype);
      ok(!Object.hasOwn(msg, "__proto__"));
      equal(msg.polluted, undefined);
      assertNotPolluted();
    });
  }
});

Deno.test("the guest refuses kind indexes it does not know with an error that names them", async (t) => {
  const cases: [unknown, string][] = [
    [-1, "-1"],
    [TABLE.length, String(TABLE.length)],
    [1.5, "1.5"],
    [NaN, "NaN"],
    [Infinity, "Infinity"],
    ["point", "point"],
    [null, "null"],
    [undefined, "undefined"],
    [true, "true"],
    [{}, "[object Object]"],
  ];
  for (const [index, named] of cases) {
    await t.step(named, async () => {
      const calls: Call[] = [];
      const harness = new Harness();
      await harness.spawn({ calls });
      harness.send([deliver(1, index, { x: 1, y: 1 }, 0, { x: 2, y: 2 })]);
      await harness.port.until("an ack of 2", () => harness.ack() >= 2);
      equal(harness.thrown.length, 0);
      const [[seq, status, value]] = replies(harness.port.frames);
      equal(seq, 1);
      equal(status, REPLY_INVALID);
      invalid(PATH, named, "unknown message kind")(deserializeError(value as SerializedError));
      deepEqual(calls, [{ kind: "point", msg: { x: 2, y: 2 } }], "the next message still runs");
    });
  }
});

Deno.test("a crash answers its own seq and drops the rest until the actor restarts", async () => {
  const calls: Call[] = [];
  const harness = new Harness();
  await harness.spawn({ calls });
  const [point, boom, count] = ["point", "boom", "count"].map((kind) =>
    Hostile.kinds.indexOf(kind)
  );
  harness.send([deliver(1, point, { x: 1, y: 1 }, boom, { message: "down" }, count, {})]);
  harness.send([deliver(4, point, { x: 4, y: 4 })]); // arrives while crashed: dropped
  await harness.port.until("a crash", () => harness.crashes().length === 1);
  await harness.roundTrip();
  equal(harness.thrown.length, 0);
  const [crash] = harness.crashes();
  equal(crash.seq, 2);
  const error = deserializeError(crash.error);
  equal(error.constructor, Error);
  equal(error.message, "down");
  equal(harness.ack(), 1, "the message before the crash is acknowledged, no later one");
  deepEqual(replies(harness.port.frames), []);
  deepEqual(calls.map((call) => call.kind), ["point", "boom"]);

  await harness.restart(crash.error);
  harness.send([deliver(5, count, {}, point, { x: 5, y: 5 })]);
  await harness.port.until("an ack of 6", () => harness.ack() >= 6);
  deepEqual(replies(harness.port.frames), [[5, REPLY_OK, 2]]);
  deepEqual(calls.map((call) => call.kind), ["point", "boom", "point"]);
});

Deno.test({
  name: "kind indexes that name Array.prototype members or are not keys are refused, not thrown",
  fn: async (t) => {
    const cases: [unknown, string][] = [
      ["length", "length"],
      ["constructor", "constructor"],
      ["at", "at"],
      ["map", "map"],
      [Object.create(null), "[object Object]"],
      [JSON.parse('{"toString":1}'), "an object whose toString is data"],
    ];
    for (const [index, named] of cases) {
      await t.step(named, async () => {
        const calls: Call[] = [];
        const harness = new Harness();
        await harness.spawn({ calls });
        harness.send([deliver(1, index, { x: 1, y: 1 })]);
        harness.send([deliver(2, 0, { x: 2, y: 2 })]);
        deepEqual(harness.thrown, []);
        await harness.port.until("an ack of 2", () => harness.ack() >= 2);
        const [[seq, status, value]] = replies(harness.port.frames);
        equal(seq, 1);
        equal(status, REPLY_INVALID);
        equal(
          deserializeError(value as SerializedError).message.endsWith("unknown message kind"),
          true,
        );
        deepEqual(calls, [{ kind: "point", msg: { x: 2, y: 2 } }]);
      });
    }
  },
});

Deno.test({
  name: "the guest refuses a payload too deep for a recursive schema instead of throwing",
  fn: async () => {
    const calls: Call[] = [];
    const harness = new Harness();
    await harness.spawn({ calls });
    const tree = Hostile.kinds.indexOf("tree");
    harness.send([deliver(1, tree, nest(10_000, true), tree, 7)]);
    deepEqual(harness.thrown, []);
    await harness.port.until("an ack of 2", () => harness.ack() >= 2);
    const [[seq, status, value]] = replies(harness.port.frames);
    equal(seq, 1);
    equal(status, REPLY_INVALID);
    ok(deserializeError(value as SerializedError) instanceof InvalidMessageError);
    deepEqual(calls, [{ kind: "tree", msg: 7 }]);
  },
});

// ---------------------------------------------------------------------------------------------
// B. The host boundary, through ActorSystem
// ---------------------------------------------------------------------------------------------

const PLACEMENTS = ["local", "worker"] as const;

/** Collects the dead letters of a system from now on (unlike `deadLetters()`, never trimmed). */
function collectDeadLetters(system: ActorSystem): { letters: DeadLetter[]; stop: () => void } {
  const letters: DeadLetter[] = [];
  const stop = system.events.on((event) => {
    if (event.type === "dead_letter") letters.push(event.letter);
  });
  return { letters, stop };
}

const INVALID_ADDS: [string, unknown, string][] = [
  ["a string for an integer", { n: "1" }, "n: Invalid input: expected number, received string"],
  ["a fraction", { n: 1.5 }, "n: Invalid input: expected int, received number"],
  ["NaN", { n: NaN }, "n: Invalid input: expected number, received NaN"],
  ["Infinity", { n: Infinity }, "n: Invalid input: expected number, received Infinity"],
  ["an unsafe integer", { n: 2 ** 53 }, "n: Too big: expected int to be <=9007199254740991"],
  ["a bigint", { n: 1n }, "n: Invalid input: expected number, received bigint"],
  ["a missing field", {}, "n: Invalid input: expected number, received undefined"],
  ["an array for an object", [1], "(root): Invalid input: expected object, received array"],
  ["null", null, "(root): Invalid input: expected object, received null"],
  ["undefined", undefined, "(root): Invalid input: expected object, received undefined"],
  ["a string", "add 1", "(root): Invalid input: expected object, received string"],
  [
    "the field only on the prototype chain, via JSON __proto__",
    JSON.parse('{"__proto__":{"n":1}}'),
    "n: Invalid input: expected number, received undefined",
  ],
];

test("invalid tells go to dead letters with an InvalidMessageError naming the kind and the path", async (t) => {
  for (const placement of PLACEMENTS) {
    await t.step(placement, async () => {
      await using system = await ActorSystem.start({ name: "hostile" });
      const counter = await system.spawn(Counter, { placement, args: { start: 0 } });
      const events = collectDeadLetters(system);
      try {
        for (const [what, payload, detail] of INVALID_ADDS) {
          const before = system.deadLetters().length;
          untyped(counter).tell("add", payload);
          const letters = system.deadLetters();
          equal(letters.length, before + 1, what);
          const letter = letters.at(-1)!;
          equal(letter.path, "/counter");
          equal(letter.kind, "add");
          equal(letter.reason, "invalid");
          equal(letter.payload, payload, "the payload as sent");
          invalid("/counter", "add", detail)(letter.error);
          ok(letter.error!.cause instanceof Error, "the zod error is the cause");
        }
        equal(events.letters.length, INVALID_ADDS.length, "one dead_letter event each");
        equal(await counter.ask("get", {}), 0, "no invalid add reached the handler");
        counter.tell("add", { n: 5 });
        equal(await counter.ask("get", {}), 5);
      } finally {
        events.stop();
      }
    });
  }
});

test("invalid asks and sends reject with the InvalidMessageError", async (t) => {
  for (const placement of PLACEMENTS) {
    await t.step(placement, async () => {
      await using system = await ActorSystem.start({ name: "hostile" });
      const counter = await system.spawn(Counter, { placement, args: { start: 3 } });
      const loose = untyped(counter);
      await rejects(
        loose.ask("keys", { data: { a: "x" } }),
        invalid("/counter", "keys", "data.a: Invalid input: expected number, received string"),
      );
      await rejects(
        loose.ask("keys", { data: [] }),
        invalid("/counter", "keys", "data: Invalid input: expected object, received array"),
      );
      await rejects(
        loose.ask("get", []),
        invalid("/counter", "get", "(root): Invalid input: expected object, received array"),
      );
      await rejects(
        loose.ask("echo", null),
        invalid("/counter", "echo", "(root): Invalid input: expected object, received null"),
      );
      await rejects(
        loose.ask("failAsk", { kind: "nope" }),
        invalid(
          "/counter",
          "failAsk",
          'kind: Invalid option: expected one of "type"|"range"|"quota"|"plain"',
        ),
      );
      await rejects(
        loose.send("add", { n: "1" }),
        invalid("/counter", "add", "n: Invalid input: expected number, received string"),
      );
      deepEqual(system.deadLetters(), [], "a rejected ask or send is not also a dead letter");
      deepEqual(await counter.ask("keys", { data: JSON.parse('{"a":1,"__proto__":{"b":2}}') }), [
        "a",
      ]);
      equal(await counter.ask("get", {}), 3);
    });
  }
});

test("the reply a handler returns is validated too", async (t) => {
  for (const placement of PLACEMENTS) {
    await t.step(placement, async () => {
      await using system = await ActorSystem.start({ name: "hostile" });
      const counter = await system.spawn(Counter, { placement });
      await rejects(
        counter.ask("badReply", {}),
        invalid(
          "/counter",
          "badReply",
          "reply (root): Invalid input: expected number, received string",
        ),
      );
      equal(await counter.ask("get", {}), 0);
    });
  }
});

Deno.test("unknown kinds and tells and asks of the wrong kind throw a TypeError that says so", async (t) => {
  await using system = await ActorSystem.start({ name: "hostile" });
  const counter = await system.spawn(Counter, { placement: "local" });
  const loose = untyped(counter);

  await t.step("an unknown kind", async () => {
    for (const kind of ["nope", "", "constructor", "__proto__", "toString", "hasOwnProperty"]) {
      const message = `Unknown message kind "${kind}" for /counter`;
      throws(() => loose.tell(kind, {}), exactly(TypeError, message));
      await rejects(loose.send(kind, {}), exactly(TypeError, message));
      await rejects(loose.ask(kind, {}), exactly(TypeError, message));
    }
  });

  await t.step("a kind that is not a string", async () => {
    for (const kind of [42, null, undefined, true]) {
      const message = `Unknown message kind "${kind}" for /counter`;
      throws(() => loose.tell(kind, {}), exactly(TypeError, message));
      await rejects(loose.ask(kind, {}), exactly(TypeError, message));
    }
    throws(() => loose.tell(Symbol("add"), {}), TypeError);
    throws(() => loose.tell(Object.create(null), {}), TypeError);
  });

  await t.step("any string that is not a kind", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string().filter((kind) => !Counter.kinds.includes(kind)),
        async (kind) => {
          throws(
            () => loose.tell(kind, { n: 1 }),
            exactly(TypeError, `Unknown message kind "${kind}" for /counter`),
          );
          await rejects(
            loose.ask(kind, {}),
            exactly(TypeError, `Unknown message kind "${kind}" for /counter`),
          );
        },
      ),
    );
  });

  await t.step("telling an ask", async () => {
    for (const kind of ["get", "echo", "keys"]) {
      const message = `Cannot tell or send "${kind}" to /counter: it is an ask`;
      throws(() => loose.tell(kind, {}), exactly(TypeError, message));
      await rejects(loose.send(kind, {}), exactly(TypeError, message));
    }
  });

  await t.step("asking a tell", async () => {
    for (const kind of ["add", "fail"]) {
      await rejects(
        loose.ask(kind, { n: 1, message: "x" }),
        exactly(TypeError, `Cannot ask "${kind}" to /counter: it is a tell`),
      );
    }
  });

  await t.step("none of it reaches the actor or dead letters", async () => {
    deepEqual(system.deadLetters(), []);
    equal(await counter.ask("get", {}), 0);
  });
});

type CounterOp =
  | { readonly op: "add"; readonly payload: unknown }
  | { readonly op: "keys"; readonly payload: unknown }
  | { readonly op: "unknown"; readonly kind: string }
  | { readonly op: "tellAsk"; readonly kind: string };

const counterOp: fc.Arbitrary<CounterOp> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant("add" as const),
      payload: fc.oneof(
        withExtras(fc.record({ n: fc.integer() })),
        withExtras(fc.record({ n: numberish })),
        hostileValue,
      ),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant("keys" as const),
      payload: fc.oneof(
        withExtras(
          fc.record({ data: withExtras(fc.record({ a: fc.oneof(fc.double(), numberish) })) }),
        ),
        hostileValue,
      ),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant("unknown" as const),
      kind: fc.string().filter((kind) => !Counter.kinds.includes(kind)),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant("tellAsk" as const),
      kind: fc.constantFrom("get", "echo", "keys", "slow"),
    }),
  },
);

const ADD = Counter.protocol.add;
const KEYS = Counter.protocol.keys.request;

/** Runs the ops against the counter and checks each outcome; returns the expected count. */
async function garbage(
  counter: ActorRef<typeof Counter.protocol>,
  letters: DeadLetter[],
  ops: readonly CounterOp[],
  count: number,
): Promise<number> {
  const loose = untyped(counter);
  const asks: Promise<void>[] = [];
  let invalidTells = 0;
  for (const op of ops) {
    switch (op.op) {
      case "add": {
        loose.tell("add", op.payload);
        const checked = ADD.safeParse(op.payload);
        if (checked.success) count += checked.data.n;
        else invalidTells++;
        break;
      }
      case "keys": {
        const checked = KEYS.safeParse(op.payload);
        const reply = loose.ask("keys", op.payload);
        asks.push(
          checked.success
            ? reply.then((keys) => deepEqual(keys, ["a"]))
            : rejects(reply, invalid("/counter", "keys", formatIssues(checked.error))),
        );
        break;
      }
      case "unknown":
        throws(
          () => loose.tell(op.kind, {}),
          exactly(TypeError, `Unknown message kind "${op.kind}" for /counter`),
        );
        break;
      case "tellAsk":
        throws(
          () => loose.tell(op.kind, {}),
          exactly(TypeError, `Cannot tell or send "${op.kind}" to /counter: it is an ask`),
        );
        break;
    }
  }
  await Promise.all(asks);
  equal(letters.length, invalidTells, "one dead letter per invalid tell");
  for (const letter of letters) {
    equal(letter.reason, "invalid");
    ok(letter.error instanceof InvalidMessageError);
    equal(letter.error.kind, "add");
    ok(letter.error.message.startsWith('Invalid "add" message for /counter: '));
  }
  letters.length = 0;
  equal(await counter.ask("get", {}), count, "the state is intact");
  return count;
}

test("after any amount of garbage the actor still answers a valid ask with its state intact", async (t) => {
  for (const [placement, numRuns] of [["local", 200], ["worker", 15]] as const) {
    await t.step(placement, async () => {
      await using system = await ActorSystem.start({ name: "hostile" });
      const counter = await system.spawn(Counter, { placement });
      const events = collectDeadLetters(system);
      let count = 0;
      try {
        await fc.assert(
          fc.asyncProperty(fc.array(counterOp, { maxLength: 20 }), async (ops) => {
            count = await garbage(counter, events.letters, ops, count);
            assertNotPolluted();
          }),
          { numRuns },
        );
      } finally {
        events.stop();
      }
    });
  }
});

test("a worker never sees keys it could not clone, and a payload it cannot clone is refused", async () => {
  await using system = await ActorSystem.start({ name: "hostile" });
  const counter = await system.spawn(Counter, { placement: "worker" });
  const loose = untyped(counter);
  loose.tell("add", { n: 2, callback: () => {}, symbol: Symbol("s") });
  equal(await counter.ask("get", {}), 2, "the unknown keys were stripped before cloning");
  await rejects(
    counter.ask("echo", { value: () => 1 }),
    exactly(TypeError, 'Cannot send "echo" to /counter: the payload could not be cloned'),
  );
  deepEqual(await counter.ask("echo", { value: { ok: [1, 2] } }), { ok: [1, 2] });
  equal(await counter.ask("get", {}), 2);
});

Deno.test({
  name: "a payload too deep for a recursive schema is dead-lettered or rejected, not thrown",
  fn: async () => {
    await using system = await ActorSystem.start({ name: "hostile" });
    const hostile = await system.spawn(Hostile, { placement: "local", args: { calls: [] } });
    const deep = nest(10_000, true) as number[];
    hostile.tell("tree", deep);
    const [letter] = system.deadLetters();
    equal(letter?.reason, "invalid");
    ok(letter.error instanceof InvalidMessageError);
    let reply: Promise<unknown> | undefined;
    try {
      reply = hostile.ask("measure", deep);
    } catch (error) {
      fail(`ask threw instead of rejecting: ${error}`);
    }
    await rejects(reply, InvalidMessageError);
    equal(await hostile.ask("count", {}), 0);
  },
});

test(
  "a handler error named after an Object.prototype member still reaches the caller",
  async (t) => {
    for (const placement of PLACEMENTS) {
      await t.step(placement, async () => {
        await using system = await ActorSystem.start({ name: "hostile" });
        const thrower = await system.spawn(Thrower, { placement });
        await rejects(thrower.ask("named", { name: "toString" }, { timeoutMs: 2_000 }), (error) => {
          ok(error instanceof Error);
          equal(error.name, "toString");
          equal(error.message, "named error");
          return true;
        });
        equal(await thrower.ask("ping", {}, { timeoutMs: 2_000 }), "pong");
      });
    }
  },
);

Deno.test({
  name: "a handler that throws a null-prototype object crashes only its own message",
  fn: async () => {
    await using system = await ActorSystem.start({ name: "hostile" });
    const thrower = await system.spawn(Thrower, { placement: "local" });
    await rejects(thrower.ask("nullProto", {}, { timeoutMs: 2_000 }), (error) => {
      ok(error instanceof Error);
      ok(error.message.startsWith("Non-error thrown: "), error.message);
      return true;
    });
    equal(await thrower.ask("ping", {}, { timeoutMs: 2_000 }), "pong");
  },
});

// ---------------------------------------------------------------------------------------------
// C. Flooding
// ---------------------------------------------------------------------------------------------

interface Flood {
  readonly system: ActorSystem;
  readonly gate: ActorRef<typeof Gate.protocol>;
  readonly flag: Int32Array;
  readonly held: Promise<"released">;
  /** Lets `hold` return. */
  open(): void;
}

/**
 * Spawns a gate actor with a mailbox of 10 and prefetch 1, holds it on `hold` (so nothing more
 * leaves its mailbox until `open`), runs `body`, and always opens the gate and shuts down.
 */
async function flood(
  placement: "local" | "worker",
  overflow: "backpressure" | "drop_newest" | "drop_oldest" | "reject",
  body: (flood: Flood) => Promise<void>,
): Promise<void> {
  await using system = await ActorSystem.start({ name: "flood" });
  const buffer = new SharedArrayBuffer(GATE_BYTES);
  const flag = new Int32Array(buffer);
  const release = Promise.withResolvers<void>();
  const open = () => {
    Atomics.store(flag, RELEASED, 1);
    Atomics.notify(flag, RELEASED);
    release.resolve();
  };
  const gate = await system.spawn(Gate, {
    name: "flood",
    placement,
    args: { gate: buffer, release: placement === "local" ? release.promise : undefined },
    prefetch: 1,
    mailbox: { capacity: 10, overflow },
  });
  const held = gate.ask("hold", {}, { timeoutMs: 10_000 });
  try {
    await flushMicrotasks(); // the host has now delivered `hold`: its prefetch window is full
    if (placement === "worker") {
      // The worker runs on its own: block this thread until its handler has started.
      equal(Atomics.wait(flag, ENTERED, 0, 5_000) === "timed-out", false, "hold never started");
    }
    equal(Atomics.load(flag, ENTERED), 1, "hold is running");
    await body({ system, gate, flag, held, open });
  } finally {
    open();
    await held.catch(() => {});
  }
}

function overflowLetters(letters: readonly DeadLetter[]): unknown[] {
  return letters.map((
    letter,
  ) => [letter.reason, letter.path, letter.kind, letter.payload, letter.error]);
}

test("drop_newest drops exactly the newest messages to dead letters and handles the rest", async (t) => {
  for (const placement of PLACEMENTS) {
    await t.step(
      placement,
      () =>
        flood(placement, "drop_newest", async ({ system, gate, flag, held, open }) => {
          for (const n of range(1, 9)) gate.tell("add", { n });
          const late = gate.ask("log", {}); // the 10th message: the mailbox is full after it
          for (const n of range(10, 24)) gate.tell("add", { n });
          deepEqual(
            overflowLetters(system.deadLetters()),
            range(10, 24).map((n) => ["overflow", "/flood", "add", { n }, undefined]),
          );
          await rejects(gate.ask("log", {}), mailboxFull("/flood", 10));
          equal(
            system.deadLetters().length,
            15,
            "a refused ask is the caller's, not a dead letter",
          );
          open();
          equal(await held, "released");
          deepEqual(await late, range(1, 9), "everything accepted, in order");
          equal(Atomics.load(flag, HANDLED), 9);
          equal(system.deadLetters().length, 15);
        }),
    );
  }
});

test("drop_oldest drops exactly the oldest messages to dead letters and handles the rest", async (t) => {
  for (const placement of PLACEMENTS) {
    await t.step(
      placement,
      () =>
        flood(placement, "drop_oldest", async ({ system, gate, flag, held, open }) => {
          for (const n of range(1, 25)) gate.tell("add", { n });
          const late = gate.ask("log", {}); // queued last: pushes out one more
          deepEqual(
            overflowLetters(system.deadLetters()),
            range(1, 16).map((n) => ["overflow", "/flood", "add", { n }, undefined]),
          );
          open();
          equal(await held, "released");
          deepEqual(await late, range(17, 25), "everything accepted, in order");
          equal(Atomics.load(flag, HANDLED), 9);
          equal(system.deadLetters().length, 16);
        }),
    );
  }
});

test("send under drop_newest rejects with MailboxFullError once the mailbox is full, and is not dead-lettered", async (t) => {
  for (const placement of PLACEMENTS) {
    await t.step(
      placement,
      () =>
        flood(placement, "drop_newest", async ({ system, gate, flag, held, open }) => {
          await Promise.all(range(1, 9).map((n) => gate.send("add", { n }))); // room: accepted
          const late = gate.ask("log", {}); // the 10th message: the mailbox is full after it
          for (const n of range(10, 14)) {
            await rejects(gate.send("add", { n }), mailboxFull("/flood", 10));
          }
          deepEqual(system.deadLetters(), [], "a refused send is the caller's, not a dead letter");
          gate.tell("add", { n: 15 }); // a tell has no caller to refuse: it is dead-lettered
          deepEqual(overflowLetters(system.deadLetters()), [
            ["overflow", "/flood", "add", { n: 15 }, undefined],
          ]);
          open();
          equal(await held, "released");
          deepEqual(await late, range(1, 9), "every accepted send, in order");
          equal(Atomics.load(flag, HANDLED), 9);
          equal(system.deadLetters().length, 1);
        }),
    );
  }
});

test("send under drop_oldest resolves once queued and the evicted message is dead-lettered", async (t) => {
  for (const placement of PLACEMENTS) {
    await t.step(
      placement,
      () =>
        flood(placement, "drop_oldest", async ({ system, gate, flag, held, open }) => {
          await Promise.all(range(1, 10).map((n) => gate.send("add", { n }))); // room: queued
          const evicted = gate.ask("log", {}); // full: pushes out add 1
          await Promise.all(range(11, 19).map((n) => gate.send("add", { n }))); // out: 2…10
          await gate.send("add", { n: 20 }); // pushes out the ask, which rejects
          await rejects(evicted, mailboxFull("/flood", 10));
          const late = gate.ask("log", {}); // pushes out add 11
          deepEqual(overflowLetters(system.deadLetters()), [
            ...range(1, 10).map((n) => ["overflow", "/flood", "add", { n }, undefined]),
            ["overflow", "/flood", "log", {}, undefined],
            ["overflow", "/flood", "add", { n: 11 }, undefined],
          ]);
          open();
          equal(await held, "released");
          deepEqual(await late, range(12, 20), "everything still queued, in order");
          equal(Atomics.load(flag, HANDLED), 9);
          equal(system.deadLetters().length, 12);
        }),
    );
  }
});

test("ctx.self.send in a handler follows the overflow policy as send does", async (t) => {
  for (const placement of PLACEMENTS) {
    for (const overflow of ["drop_newest", "drop_oldest"] as const) {
      await t.step(`${placement}, ${overflow}`, async () => {
        await using system = await ActorSystem.start({ name: "self-flood" });
        const buffer = new SharedArrayBuffer(GATE_BYTES);
        const gate = await system.spawn(Gate, {
          placement,
          args: { gate: buffer },
          prefetch: 1, // while selfSend runs, its adds stay in the mailbox
          mailbox: { capacity: 10, overflow },
          drainOnStop: true,
        });
        const outcomes = await gate.ask("selfSend", { from: 1, to: 15 });
        await gate.stop(); // handles the 10 adds the mailbox accepted, then stops
        equal(Atomics.load(new Int32Array(buffer), HANDLED), 10);
        if (overflow === "drop_newest") {
          deepEqual(outcomes, [
            ...range(1, 10).map(() => "ok"),
            ...range(11, 15).map(() => "MailboxFullError: Mailbox of /gate is full (capacity 10)"),
          ]);
          deepEqual(system.deadLetters(), [], "a refused send is the sender's, not a dead letter");
        } else {
          deepEqual(outcomes, range(1, 15).map(() => "ok"));
          deepEqual(
            overflowLetters(system.deadLetters()),
            range(1, 5).map((n) => ["overflow", "/gate", "add", { n }, undefined]),
          );
        }
      });
    }
  }
});

test("reject refuses with MailboxFullError once the mailbox is full", async (t) => {
  for (const placement of PLACEMENTS) {
    await t.step(
      placement,
      () =>
        flood(placement, "reject", async ({ system, gate, flag, held, open }) => {
          for (const n of range(1, 9)) gate.tell("add", { n });
          const late = gate.ask("log", {});
          throws(() => gate.tell("add", { n: 10 }), mailboxFull("/flood", 10));
          await rejects(gate.send("add", { n: 11 }), mailboxFull("/flood", 10));
          await rejects(gate.ask("log", {}), mailboxFull("/flood", 10));
          deepEqual(
            system.deadLetters(),
            [],
            "a refused message is the caller's, not a dead letter",
          );
          open();
          equal(await held, "released");
          deepEqual(await late, range(1, 9));
          equal(Atomics.load(flag, HANDLED), 9);
        }),
    );
  }
});

test("backpressure makes tell throw when full while send waits and delivers in order", async (t) => {
  for (const placement of PLACEMENTS) {
    await t.step(
      placement,
      () =>
        flood(placement, "backpressure", async ({ system, gate, flag, held, open }) => {
          for (const n of range(1, 10)) gate.tell("add", { n });
          throws(() => gate.tell("add", { n: 11 }), mailboxFull("/flood", 10));
          let accepted = 0;
          const sends = range(12, 31).map((n) => gate.send("add", { n }).then(() => accepted++));
          const late = gate.ask("log", {}); // waits for room behind the sends
          await flushMicrotasks();
          equal(accepted, 0, "no send resolves while the mailbox is full");
          open();
          equal(await held, "released");
          await Promise.all(sends);
          equal(accepted, 20);
          deepEqual(await late, [...range(1, 10), ...range(12, 31)], "everything sent, in order");
          equal(Atomics.load(flag, HANDLED), 30);
          deepEqual(system.deadLetters(), []);
        }),
    );
  }
});

// ---------------------------------------------------------------------------------------------
// D. Values too deep to clone, and values postMessage throws on
// ---------------------------------------------------------------------------------------------

const EVERY_PLACEMENT = ["local", "worker", "shared", "process"] as const;

const DEEP = nested(5_000);

test("a payload nested too deep fails alone and the actor and the host live on", async (t) => {
  for (const placement of EVERY_PLACEMENT) {
    await t.step(placement, async () => {
      await using system = await ActorSystem.start({ name: "deep" });
      const deep = await system.spawn(Deep, { placement });
      const tooDeep = (kind: string) =>
        exactly(
          RangeError,
          `Cannot send "${kind}" to /deep: the payload is nested deeper than 512 levels`,
        );
      deep.tell("keep", { value: 1 });
      const refused = deep.ask("echo", { value: DEEP });
      deep.tell("keep", { value: DEEP });
      const sent = deep.send("keep", { value: DEEP });
      const fine = deep.ask("echo", { value: nested(500) });
      deep.tell("keep", { value: 2 });
      await rejects(refused, tooDeep("echo"));
      await rejects(sent, tooDeep("keep"));
      deepEqual(await fine, nested(500));
      equal(await deep.ask("kept", {}), 2, "the other messages of the frame were delivered");
      const letters = system.deadLetters();
      equal(letters.length, 1);
      equal(letters[0].reason, "undeliverable");
      equal(letters[0].kind, "keep");
      deepEqual(letters[0].payload, { value: DEEP });
      tooDeep("keep")(letters[0].error);
    });
  }
});

test("a reply nested too deep rejects its ask with a RangeError", async (t) => {
  for (const placement of EVERY_PLACEMENT) {
    await t.step(placement, async () => {
      await using system = await ActorSystem.start({ name: "deep" });
      const deep = await system.spawn(Deep, { placement });
      await rejects(
        deep.ask("nest", { depth: 5_000 }),
        exactly(
          RangeError,
          'Cannot reply to "nest" from /deep: the reply is nested deeper than 512 levels',
        ),
      );
      deepEqual(await deep.ask("nest", { depth: 512 }), nested(512));
      equal(await deep.ask("kept", {}), 0);
    });
  }
});

test("a guest's message to itself nested too deep fails that call alone", async (t) => {
  for (const placement of EVERY_PLACEMENT) {
    await t.step(placement, async () => {
      await using system = await ActorSystem.start({ name: "deep" });
      const deep = await system.spawn(Deep, { placement });
      const message = 'Cannot send "keep" to /deep: the payload is nested deeper than 512 levels';
      equal(await deep.ask("selfDeep", { depth: 5_000 }), `RangeError: ${message}`);
      const letters = system.deadLetters();
      equal(letters.length, 1, "the tell is a dead letter; the send rejected");
      equal(letters[0].kind, "keep");
      equal(letters[0].reason, "invalid");
      exactly(RangeError, message)(letters[0].error);
      equal(await deep.ask("selfDeep", { depth: 3 }), "sent");
      equal(await deep.ask("kept", {}), 2);
    });
  }
});

test("spawn args nested too deep are refused with a RangeError", async () => {
  await using system = await ActorSystem.start({ name: "deep" });
  await rejects(
    system.spawn(Counter, { placement: "worker", args: { start: DEEP as number } }),
    exactly(RangeError, 'Cannot spawn "counter": the args are nested deeper than 512 levels'),
  );
  deepEqual(system.stats().actors, []);
});

test("whatever postMessage throws fails only the message that caused it", async (t) => {
  const getter = {
    get boom(): never {
      throw new Error("a getter that throws");
    },
  };
  for (const placement of ["worker", "shared", "process"] as const) {
    await t.step(placement, async () => {
      await using system = await ActorSystem.start({ name: "deep" });
      const deep = await system.spawn(Deep, { placement });
      deep.tell("keep", { value: 1 });
      const refused = deep.ask("echo", { value: getter });
      deep.tell("keep", { value: getter });
      deep.tell("keep", { value: 2 });
      await rejects(refused, (error: unknown) => {
        exactly(TypeError, 'Cannot send "echo" to /deep: the payload could not be cloned')(error);
        ok((error as Error).cause instanceof Error);
        return true;
      });
      equal(await deep.ask("kept", {}), 2);
      const [letter] = system.deadLetters();
      equal(letter.reason, "undeliverable");
      exactly(TypeError, 'Cannot send "keep" to /deep: the payload could not be cloned')(
        letter.error,
      );
    });
  }
});

test("a tell that could not be cloned is one dead letter, also when its actor stops", async (t) => {
  const getter = {
    get boom(): never {
      throw new Error("a getter that throws");
    },
  };
  // Not "process": the flag that tells the hold runs is shared memory, which cannot reach one.
  for (const placement of ["worker", "shared"] as const) {
    await t.step(placement, async () => {
      await using system = await ActorSystem.start({ name: "undeliverable-stop" });
      const deep = await system.spawn(Deep, { placement });
      const running = new Int32Array(new SharedArrayBuffer(4));
      // One delivery frame: the hold runs, the refused tell waits behind it in the guest.
      deep.tell("hold", { running });
      deep.tell("keep", { value: getter });
      await waitForFlag(running);
      await deep.stop();
      deepEqual(system.deadLetters().map((letter) => [letter.kind, letter.reason]), [
        ["keep", "undeliverable"],
      ]);
    });
  }
});

test("shared objects crossing in messages and replies arrive usable", async (t) => {
  for (const placement of ["local", "worker", "shared"] as const) {
    await t.step(placement, async () => {
      await using system = await ActorSystem.start({ name: "revive" });
      const deep = await system.spawn(Deep, { placement });
      const event = new SharedEvent();
      equal(await deep.ask("isEvent", { value: event }), true, "in the message");
      const back = await deep.ask("echo", { value: { events: [event] } }) as {
        events: unknown[];
      };
      ok(back.events[0] instanceof SharedEvent, "in the reply");
      (back.events[0] as SharedEvent).set();
      equal(event.isSet(), true);
    });
  }
});

// ---------------------------------------------------------------------------------------------
// E. What an untrusted guest sends: checked before it is used
// ---------------------------------------------------------------------------------------------

const UNTRUSTED = ["worker", "shared", "process"] as const;
type Untrusted = typeof UNTRUSTED[number];

/** A system whose root restarts a crashing child at once, as often as it takes. */
function forgiving(name: string): Promise<ActorSystem> {
  return ActorSystem.start({
    name,
    root: supervisor({
      intensity: { maxRestarts: 100_000, periodMs: 1_000 },
      backoff: { initialMs: 0, maxMs: 0 },
    }),
  });
}

function spawnSaboteur(system: ActorSystem, placement: Untrusted) {
  return system.spawn(Saboteur, {
    placement,
    ...(placement === "shared" ? {} : { permissions: "none" as const }),
  });
}

/** The label an endpoint gives its guest in messages (shared workers are numbered: `N`). */
function guestOf(placement: Untrusted): string {
  return placement === "shared" ? "shared guest troupe-shared-N" : `${placement} guest /saboteur`;
}

/** The message of a crash's cause, with the shared worker's number as `N`. */
function causeOf(error: ActorCrashedError): string {
  return (error.cause as Error).message.replace(/troupe-shared-\d+/, "troupe-shared-N");
}

const MALFORMED: [string, unknown, string][] = [
  ["a number", 42, "the batch is the number 42, not an array of frames"],
  ["a null frame", [null], "frame 0: null is not a frame"],
  [
    "replies without r",
    [{ t: "replies", id: 1, ack: 0, r: null }],
    "frame 0: replies.r is null, not an array",
  ],
  [
    "replies without an id",
    [{ t: "replies", r: null }],
    "frame 0: replies.id is undefined, not a whole number",
  ],
  [
    "crashed without an error",
    [{ t: "crashed", id: 1, seq: 1, error: null }],
    "frame 0: error is null, not a serialized error",
  ],
  [
    "fault without an error",
    [{ t: "fault", error: null }],
    "frame 0: error is null, not a serialized error",
  ],
  ["an unknown type", [{ t: "hello" }], 'frame 0: unknown frame type "hello"'],
  [
    "a hostile error name",
    [{ t: "fault", error: { name: { toString: 1 }, message: "m" } }],
    "frame 0: error.name is an object",
  ],
  [
    "fields that are not an object",
    [{ t: "fault", error: { name: "Error", message: "m", fields: [1] } }],
    "frame 0: error.fields is an array",
  ],
  [
    "a cause chain too deep",
    [{ t: "fault", error: deepCause(40) }],
    "frame 0: error" + ".cause".repeat(17) + " nests causes deeper than 16",
  ],
  [
    "replies out of order",
    [{ t: "replies", id: 1, ack: 3, r: [2, 1, 0, 1, 1, 0] }],
    "frame 0: replies.r[3] is the number 1, not a seq after 2",
  ],
  [
    "a stash past its ack",
    [{ t: "replies", id: 1, ack: 1, r: [], s: [2] }],
    "frame 0: replies.s[0] is the number 2, not a seq after 0 up to its ack 1",
  ],
  [
    "an unstash that is not true",
    [{ t: "replies", id: 1, ack: 0, r: [], u: "yes" }],
    'frame 0: replies.u is "yes"',
  ],
];

function deepCause(depth: number): unknown {
  let error: Record<string, unknown> = { name: "Error", message: "bottom" };
  for (let i = 0; i < depth; i++) error = { name: "Error", message: `level ${i}`, cause: error };
  return error;
}

test("a malformed batch crashes its guest, not the host, and the actor recovers", async (t) => {
  for (const placement of UNTRUSTED) {
    await t.step(placement, async () => {
      await using system = await forgiving("frames");
      const saboteur = await spawnSaboteur(system, placement);
      for (const [what, value, problem] of MALFORMED) {
        const crashed = nextEvent(system.events, "crashed");
        saboteur.tell("post", { value });
        // Behind the bad batch in the same delivery frame: pending when the guest is found out.
        // If it had run, its reply died with the guest (a rejection); if not, it is redelivered
        // free to the next incarnation and answered.
        const ping = saboteur.ask("ping", {}).then((v) => v, (error: unknown) => error);
        const expected = placement === "process" && !Array.isArray(value)
          ? "The wire to the subprocess of /saboteur broke: A message on the pipe is not a batch of frames"
          : `The ${guestOf(placement)} sent a malformed frame: ${problem}`;
        const event = await crashed;
        equal(event.path, "/saboteur");
        equal(event.error.message.replace(/troupe-shared-\d+/, "troupe-shared-N"), expected, what);
        const answer = await ping;
        if (answer !== "pong") {
          ok(answer instanceof ActorCrashedError, `${what}: ${answer}`);
          equal(causeOf(answer), expected, what);
        }
        equal(await saboteur.ask("ping", {}), "pong", `${what}: the actor recovered`);
      }
    });
  }
});

test("a sequence number the host never delivered crashes the guest", async (t) => {
  for (const placement of UNTRUSTED) {
    await t.step(placement, async () => {
      await using system = await forgiving("frames");
      const saboteur = await spawnSaboteur(system, placement);
      const cases: [Mutation, RegExp][] = [
        [
          { path: ["ack"], op: "set", value: 1_000_000 },
          /^replies\.ack 1000000 was never delivered to \/saboteur \(last: \d+\)$/,
        ],
        [
          { path: ["r"], op: "set", value: [] },
          /^replies\.ack \d+ passes the ask at seq \d+ without answering it$/,
        ],
        [{ path: ["ack"], op: "set", value: 0 }, /^replies\.r answers seq \d+, past its ack 0$/],
      ];
      for (const [mutation, problem] of cases) {
        await rejects(saboteur.ask("mutate", mutation), (error: unknown) => {
          ok(error instanceof ActorCrashedError, String(error));
          const message = causeOf(error);
          const prefix = `The ${guestOf(placement)} sent a malformed frame: `;
          ok(message.startsWith(prefix), message);
          ok(problem.test(message.slice(prefix.length)), message);
          return true;
        });
        equal(await saboteur.ask("ping", {}), "pong");
      }
    });
  }
});

test("a crash report past an unanswered ask crashes the guest, and the ask does not hang", async (t) => {
  for (const placement of UNTRUSTED) {
    await t.step(placement, async () => {
      await using system = await forgiving("forged-crash");
      const saboteur = await spawnSaboteur(system, placement);
      // One delivery frame: the guest answers both, then reports the second as crashed instead.
      const forged = saboteur.ask("mutate", { path: [], op: "crash", value: null }, {
        timeoutMs: Infinity,
      });
      const ping = saboteur.ask("ping", {}, { timeoutMs: Infinity }).then(
        (v) => v,
        (error: unknown) => error,
      );
      const prefix = `The ${guestOf(placement)} sent a malformed frame: `;
      const problem = /^crashed\.seq (\d+) passes the ask at seq (\d+) without answering it$/;
      await rejects(forged, (error: unknown) => {
        ok(error instanceof ActorCrashedError, String(error));
        const message = causeOf(error);
        ok(message.startsWith(prefix), message);
        const [, crashed, asked] = problem.exec(message.slice(prefix.length)) ?? [];
        equal(Number(crashed), Number(asked) + 1, message);
        return true;
      });
      ok((await ping) instanceof ActorCrashedError);
      equal(await saboteur.ask("ping", {}), "pong");
    });
  }
});

/** A pipe message: the magic, the body's length, then the body. */
function pipeMessage(body: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(8 + body.byteLength);
  out.set([0xff, 0x54, 0x52, 0x50]);
  new DataView(out.buffer).setUint32(4, body.byteLength, true);
  out.set(body, 8);
  return out;
}

test("a subprocess that writes a message that does not decode is ended, not the host", async () => {
  await using system = await forgiving("pipe");
  const saboteur = await spawnSaboteur(system, "process");
  const bodies: [string, Uint8Array, RegExp][] = [
    ["JSON that does not parse", new TextEncoder().encode("J{not json"), /JSON/],
    ["V8 data that does not deserialize", new Uint8Array([0x56, 0xff, 0x0f, 0x6f, 0x7b]), /./],
    ["an unknown tag", new Uint8Array([0x00, 1, 2, 3]), /not a batch of frames/],
  ];
  const huge = pipeMessage(new Uint8Array([0x4a, 0x5b]));
  new DataView(huge.buffer).setUint32(4, 0xffff_fff0, true);
  const messages: (readonly [string, Uint8Array<ArrayBuffer>, RegExp])[] = [
    ...bodies.map(([what, body, reason]) => [what, pipeMessage(body), reason] as const),
    [
      "a header announcing 4 GiB",
      huge,
      /A message on the pipe announces 4294967280 bytes, more than the 536870912 accepted$/,
    ],
  ];
  for (const [what, bytes, reason] of messages) {
    saboteur.tell("bytes", { bytes });
    await rejects(saboteur.ask("ping", {}), (error: unknown) => {
      ok(error instanceof ActorCrashedError, `${what}: ${error}`);
      const message = (error.cause as Error).message;
      ok(message.startsWith("The wire to the subprocess of /saboteur broke: "), message);
      ok(reason.test(message), `${what}: ${message}`);
      return true;
    });
    equal(await saboteur.ask("ping", {}), "pong", `${what}: the actor recovered`);
  }
});

/** Frames with the right field names and doubtful values. */
const frameLike: fc.Arbitrary<unknown> = fc.record({
  t: fc.constantFrom(
    "ready",
    "spawn_failed",
    "replies",
    "crashed",
    "stopped",
    "fault",
    "exit",
    "call",
    "pong",
    "deliver",
    "__proto__",
  ),
  // Never a real actor's id (they count from 1): a well-formed frame for the saboteur itself, a
  // `stopped` say, would be believed.
  id: fc.oneof(fc.integer({ min: -3, max: 0 }), fc.anything({ maxDepth: 1 })),
  seq: fc.oneof(fc.integer({ min: -2, max: 5 }), fc.anything({ maxDepth: 1 })),
  ack: fc.oneof(fc.integer({ min: -2, max: 5 }), fc.anything({ maxDepth: 1 })),
  r: fc.oneof(
    fc.array(fc.oneof(fc.integer({ min: -1, max: 5 }), fc.anything({ maxDepth: 1 }))),
    fc.anything({ maxDepth: 1 }),
  ),
  error: fc.oneof(
    fc.record({ name: fc.anything({ maxDepth: 1 }), message: fc.anything({ maxDepth: 1 }) }, {
      requiredKeys: [],
    }),
    fc.anything({ maxDepth: 2 }),
  ),
  code: fc.anything({ maxDepth: 1 }),
  n: fc.anything({ maxDepth: 1 }),
  op: fc.constantFrom("tell", "send", "ask", "stop", "x"),
  kind: fc.anything({ maxDepth: 1 }),
  s: fc.oneof(
    fc.array(fc.oneof(fc.integer({ min: -1, max: 5 }), fc.anything({ maxDepth: 1 }))),
    fc.anything({ maxDepth: 1 }),
  ),
  u: fc.oneof(fc.constant(true), fc.anything({ maxDepth: 1 })),
}, { requiredKeys: ["t"] });

const garbageBatch: fc.Arbitrary<unknown> = fc.oneof(
  fc.anything({
    maxDepth: 3,
    withMap: true,
    withSet: true,
    withDate: true,
    withTypedArray: true,
    withBigInt: true,
    withNullPrototype: true,
    withSparseArray: true,
  }),
  fc.array(fc.oneof(frameLike, fc.anything({ maxDepth: 2 })), { maxLength: 4 }),
);

/** Pings until the actor answers; while its guest is being replaced, asks fail as crashes. */
async function recovered(
  saboteur: { ask(kind: "ping", msg: Record<string, never>): Promise<"pong"> },
) {
  for (let i = 0; i < 50; i++) {
    try {
      equal(await saboteur.ask("ping", {}), "pong");
      return;
    } catch (error) {
      ok(error instanceof ActorCrashedError, String(error));
    }
  }
  fail("the actor never recovered");
}

test("the host survives any batch a guest posts, and the actor recovers", async (t) => {
  for (const placement of UNTRUSTED) {
    await t.step(placement, async () => {
      await using system = await forgiving("frames");
      const saboteur = await spawnSaboteur(system, placement);
      await fc.assert(
        fc.asyncProperty(garbageBatch, async (value) => {
          saboteur.tell("post", { value });
          await recovered(saboteur);
          assertNotPolluted();
        }),
        { numRuns: placement === "shared" ? 30 : 20 },
      );
    });
  }
});

/**
 * Changes to the frame that answers `mutate`. Left out: the changes that turn it into another
 * well-formed frame (of another type, or for another actor, or a new frame in its place) or drop
 * it. They make the answer
 * vanish, which no check of a frame can tell from a guest that is slow to answer.
 */
const mutation: fc.Arbitrary<Mutation> = fc.record({
  path: fc.constantFrom<(string | number)[]>(
    [],
    ["t"],
    ["id"],
    ["ack"],
    ["r"],
    ["r", 0],
    ["r", 1],
    ["r", 2],
    ["r", 3],
    ["r", "length"],
  ),
  op: fc.constantFrom("set", "delete", "append"),
  value: fc.oneof(
    fc.integer({ min: -2, max: 60 }),
    fc.constantFrom("ready", "stopped", "crashed", "replies", "pong", 0, 1, 2, -1),
    frameLike,
    fc.anything({ maxDepth: 2 }),
  ),
}).filter(({ path, op, value }) => {
  if (path.length === 0) return op === "set" && checkFromGuest([value]) !== undefined;
  if (op !== "set" || path.length !== 1) return true;
  if (path[0] === "t") return value !== "ready" && value !== "stopped" && value !== "replies";
  return path[0] !== "id" || !Number.isSafeInteger(value);
});

test("the host survives any change to a frame a guest sends, and no ask hangs", async (t) => {
  for (const placement of UNTRUSTED) {
    await t.step(placement, async () => {
      await using system = await forgiving("frames");
      const saboteur = await spawnSaboteur(system, placement);
      await fc.assert(
        fc.asyncProperty(mutation, async (change) => {
          const outcome = saboteur.ask("mutate", change, { timeoutMs: 30_000 }).then(
            (value) => ({ value }),
            (error: unknown) => ({ error }),
          );
          await recovered(saboteur);
          const settled = await outcome;
          if ("value" in settled) equal(typeof settled.value, "number");
          else {
            ok(
              settled.error instanceof ActorCrashedError ||
                settled.error instanceof InvalidMessageError,
              String(settled.error),
            );
          }
          assertNotPolluted();
        }),
        { numRuns: placement === "shared" ? 40 : 25 },
      );
    });
  }
});

// ---------------------------------------------------------------------------------------------
// F. Replies are validated on the host too
// ---------------------------------------------------------------------------------------------

test("a reply too costly to validate is refused on the host without reading it path by path", async (t) => {
  for (const placement of UNTRUSTED) {
    await t.step(placement, async () => {
      await using system = await ActorSystem.start({ name: "replies" });
      const saboteur = await spawnSaboteur(system, placement);
      await rejects(
        saboteur.ask("bomb", { levels: 60 }),
        invalid(
          "/saboteur",
          "bomb",
          "reply (root): reaches the same objects from too many places to be validated",
        ),
      );
      equal(await saboteur.ask("ping", {}), "pong");
    });
  }
});

test("a reply a guest rewrote after its own validation is refused on the host", async (t) => {
  for (const placement of UNTRUSTED) {
    await t.step(placement, async () => {
      await using system = await ActorSystem.start({ name: "replies" });
      const saboteur = await spawnSaboteur(system, placement);
      await rejects(
        saboteur.ask("rewrite", {}),
        invalid(
          "/saboteur",
          "rewrite",
          "reply (root): Invalid input: expected number, received object",
        ),
      );
      equal(await saboteur.ask("ping", {}), "pong", "a bad reply is not a crash");
      equal(system.stats().actors[0].restarts, 0);
    });
  }
});
