/**
 * The value codec: what may cross a boundary (a worker's `postMessage`, a subprocess's pipe, a
 * journal), how deep, and what comes back to life on the other side.
 *
 * ```
 *   sender                                   boundary                 receiver
 *   validate ─▶ withinDepth (≤ MAX_DEPTH) ──▶ structured clone ──▶ revive: branded shared objects
 *                                             or the pipe codec      (SharedEvent, SharedQueue, …)
 *                                                                   become usable again
 *   assertStorable: plain data only (the journal, NATS and a shared-memory ring reuse it)
 * ```
 *
 * - **Depth.** Structured clone recurses once per level of nesting: a payload nested a few thousand
 *   levels deep overflows the stack inside `postMessage`. {@linkcode withinDepth} walks a value in
 *   the order structured clone does (each object once) and tells whether it stays within
 *   {@linkcode MAX_DEPTH} levels, so that the sender refuses it with a clear `RangeError`.
 * - **Revival.** Structured clone keeps only an object's own data fields: a `SharedEvent` arrives as
 *   `{ "~troupe": "event", buffer }`. Shared objects register a reviver for their brand
 *   ({@linkcode registerRevivable}); {@linkcode revive} walks a received value and turns every
 *   branded object back into a usable one. Actor args, messages and replies all go through it.
 * - **Storable.** {@linkcode assertStorable} accepts only plain data that can be written down and
 *   read back on another day or machine: no functions, symbols, shared memory, transferables,
 *   class instances or cycles.
 *
 * @module
 */

/** How many levels deep a value crossing a boundary may nest. */
export const MAX_DEPTH = 512;

/**
 * Past this many objects and slots the quick walk of {@linkcode withinDepth} gives way to the exact
 * one, which visits each object once (a small value with shared references can have very many
 * paths).
 */
const QUICK_BUDGET = 65_536;

/**
 * Whether a value nests at most `maxDepth` levels deep, as structured clone would recurse into it:
 * plain objects, arrays, class instances (their own fields), `Map` keys and values, `Set` values;
 * every other value is a leaf. Each object counts once, at its first visit, as structured clone
 * writes a back-reference for the next ones; so cycles and shared references are fine.
 *
 * A value whose walk throws (a getter, a proxy) counts as within the limit: structured clone will
 * report that value itself.
 *
 * @param value Any value.
 * @param maxDepth The deepest nesting allowed; a primitive is 0 levels deep, `{}` is 1.
 * @returns `true` when the value is within the limit.
 *
 * @example
 * ```ts
 * import { MAX_DEPTH, withinDepth } from "@troupe/troupe/mailbox";
 * import { equal } from "node:assert/strict";
 *
 * let deep: unknown = 1;
 * for (let i = 0; i < MAX_DEPTH + 1; i++) deep = [deep];
 * equal(withinDepth({ a: [1, 2] }), true);
 * equal(withinDepth(deep), false);
 * const cycle: Record<string, unknown> = {};
 * cycle.self = cycle;
 * equal(withinDepth(cycle), true);
 * ```
 */
export function withinDepth(value: unknown, maxDepth: number = MAX_DEPTH): boolean {
  if (typeof value !== "object" || value === null) return true;
  try {
    if (quick(value, 1, maxDepth, QUICK_BUDGET) >= 0) return true;
    return exact(value, 1, maxDepth, new Set());
  } catch (error) {
    // Too deep for this thread's stack: too deep to clone. Anything else is the clone's to report.
    return !(error instanceof RangeError);
  }
}

/**
 * Walks every path without remembering objects, within a budget of objects visited: returns the
 * budget left when every path is within the limit (then structured clone's, which is one of them,
 * is too), or -1 when a path is too long or the budget ran out (a cycle, or many shared
 * references), and the exact walk must decide.
 */
function quick(value: object, depth: number, max: number, budget: number): number {
  if (depth > max || --budget < 0) return -1;
  const proto = Object.getPrototypeOf(value);
  if (proto === Object.prototype || proto === null) {
    // The common case first: a plain object, as a schema parses it.
    const record = value as Record<string, unknown>;
    for (const key in record) {
      const item = record[key];
      if (typeof item === "object" && item !== null) {
        budget = quick(item, depth + 1, max, budget);
      } else budget--;
      if (budget < 0) return -1;
    }
    return budget;
  }
  if (Array.isArray(value)) {
    budget -= value.length;
    if (budget < 0) return -1;
    for (let i = 0; i < value.length; i++) {
      const item = value[i];
      if (typeof item === "object" && item !== null) {
        budget = quick(item, depth + 1, max, budget);
        if (budget < 0) return -1;
      }
    }
    return budget;
  }
  if (isLeaf(value)) return budget;
  if (value instanceof Map) {
    budget -= value.size;
    if (budget < 0) return -1;
    for (const [key, item] of value) {
      if (typeof key === "object" && key !== null) {
        budget = quick(key, depth + 1, max, budget);
        if (budget < 0) return -1;
      }
      if (typeof item === "object" && item !== null) {
        budget = quick(item, depth + 1, max, budget);
        if (budget < 0) return -1;
      }
    }
    return budget;
  }
  const items = value instanceof Set ? [...value] : Object.values(value);
  budget -= items.length;
  if (budget < 0) return -1;
  for (const item of items) {
    if (typeof item === "object" && item !== null) {
      budget = quick(item, depth + 1, max, budget);
      if (budget < 0) return -1;
    }
  }
  return budget;
}

/** Structured clone's own walk: depth-first, each object once. */
function exact(value: object, depth: number, max: number, seen: Set<object>): boolean {
  if (seen.has(value)) return true;
  seen.add(value);
  if (depth > max) return false;
  const next = (item: unknown) =>
    typeof item !== "object" || item === null || exact(item, depth + 1, max, seen);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (!next(value[i])) return false;
    return true;
  }
  if (isLeaf(value)) return true;
  if (value instanceof Map) {
    for (const [key, item] of value) if (!next(key) || !next(item)) return false;
    return true;
  }
  if (value instanceof Set) {
    for (const item of value) if (!next(item)) return false;
    return true;
  }
  const record = value as Record<string, unknown>;
  for (const key in record) if (!next(record[key])) return false;
  return true;
}

/** Objects structured clone copies whole, without looking inside for more objects. */
function isLeaf(value: object): boolean {
  return ArrayBuffer.isView(value) || value instanceof ArrayBuffer ||
    value instanceof SharedArrayBuffer || value instanceof Date || value instanceof RegExp ||
    value instanceof Error || value instanceof Number || value instanceof String ||
    value instanceof Boolean || value instanceof BigInt;
}

/**
 * The `RangeError` for a value nested deeper than the limit, worded as Troupe's argument errors:
 * `Cannot send "echo" to /a: the payload is nested deeper than 512 levels`.
 *
 * @param prefix What was being done: `Cannot send "echo" to /a`.
 * @param what What the value is: `payload`, `reply`, `args` (a plural takes "are").
 * @param maxDepth The limit that was passed.
 * @returns The error, for the caller to throw or report.
 *
 * @example
 * ```ts
 * import { depthError } from "@troupe/troupe/mailbox";
 * import { equal } from "node:assert/strict";
 *
 * const error = depthError('Cannot send "echo" to /a', "payload");
 * equal(error.message, 'Cannot send "echo" to /a: the payload is nested deeper than 512 levels');
 * ```
 */
export function depthError(prefix: string, what: string, maxDepth: number = MAX_DEPTH): RangeError {
  const verb = what.endsWith("s") ? "are" : "is";
  return new RangeError(`${prefix}: the ${what} ${verb} nested deeper than ${maxDepth} levels`);
}

// ---- revival --------------------------------------------------------------------------------

/**
 * How deep {@linkcode revive} looks for branded objects: as deep as a value may go at all, so that
 * a ref nested anywhere in a payload arrives working.
 */
const REVIVE_DEPTH = MAX_DEPTH;

/** Turns the cloned form of a shared object back into a usable one. */
export type Reviver = (cloned: Record<string, unknown>) => unknown;

/**
 * The cloned form of an actor ref: `{ "~troupe": "ref", path, uid, def }`. A ref's own fields are
 * exactly these (its methods live on its prototype), so structured clone and the pipe carry it as
 * this plain object; the receiving side turns it back into a working ref.
 */
export interface RefData {
  /** Brands the object as a ref. */
  readonly "~troupe": "ref";
  /** The actor's path from the root. */
  readonly path: string;
  /** The spawn's unique id: a ref never reaches a later actor spawned at the same path. */
  readonly uid: string;
  /** The definition's `url#name`, which `refOf` schemas check. */
  readonly def: string;
}

/**
 * Whether a value has the fields of a ref (`"~troupe": "ref"` and the strings `path`, `uid`,
 * `def`), live or cloned.
 *
 * @param value Any value.
 * @returns `true` for a ref or its cloned form.
 *
 * @example
 * ```ts
 * import { isRefData } from "@troupe/troupe/mailbox";
 * import { equal } from "node:assert/strict";
 *
 * equal(isRefData({ "~troupe": "ref", path: "/a", uid: "u1", def: "file:///a.ts#a" }), true);
 * equal(isRefData({ path: "/a" }), false);
 * ```
 */
export function isRefData(value: unknown): value is RefData {
  if (typeof value !== "object" || value === null) return false;
  const record = value as Record<string, unknown>;
  return record["~troupe"] === "ref" && typeof record.path === "string" &&
    typeof record.uid === "string" && typeof record.def === "string";
}

/**
 * How the receiving side of a boundary revives what only it can: refs, which become working refs
 * of the host or of the guest that receives them.
 */
export interface ReviveContext {
  /** Turns the cloned form of a ref into a working ref. */
  ref(cloned: RefData): unknown;
  /**
   * Given a live ref (one that crossed without cloning, as on the local placement), returns the
   * ref to use on this side; without it, live refs stay as they are.
   */
  live?(value: RefData): unknown;
}

const revivers = new Map<string, Reviver>();

/**
 * Registers how to revive the objects branded `brand`: a shared object class brands its instances
 * with an own field `"~troupe": brand` (which structured clone keeps) and registers itself here
 * once, when its module loads. The reviver is called only for an object whose brand matches and
 * whose `buffer` is a `SharedArrayBuffer`.
 *
 * @param brand The value of the `"~troupe"` field, such as `"event"`.
 * @param reviver Builds the usable object from the cloned form.
 * @throws {TypeError} When another reviver holds the brand already.
 *
 * @example
 * ```ts
 * import { registerRevivable, revive } from "@troupe/troupe/mailbox";
 * import { ok } from "node:assert/strict";
 *
 * class Counter {
 *   readonly "~troupe" = "example-counter";
 *   constructor(readonly buffer: SharedArrayBuffer) {}
 * }
 * registerRevivable("example-counter", (cloned) => new Counter(cloned.buffer as SharedArrayBuffer));
 * const cloned = structuredClone({ hits: new Counter(new SharedArrayBuffer(4)) });
 * ok(revive(cloned).hits instanceof Counter);
 * ```
 */
export function registerRevivable(brand: string, reviver: Reviver): void {
  const held = revivers.get(brand);
  if (held !== undefined && held !== reviver) {
    throw new TypeError(`Cannot register a reviver for "${brand}": it has one already`);
  }
  revivers.set(brand, reviver);
}

/**
 * Revives the shared objects inside a value that went through structured clone: plain objects,
 * arrays, `Map` values and `Set` items are walked, as deep as {@linkcode MAX_DEPTH}, and every
 * object branded by a registered shared type (a
 * `SharedEvent`, a `SharedQueue`) becomes a usable one again over the same memory. Typed arrays over
 * shared memory need nothing: structured clone keeps them. Actor args, messages and replies are
 * revived this way when they cross into another thread. An object whose reviver refuses it (a forged
 * brand, a buffer of the wrong size) is left as it is, for its schema to judge.
 *
 * Refs (`{ "~troupe": "ref", … }`) are revived only with a `context`: the host turns them into its
 * own refs, a guest into refs that reach the host.
 *
 * @typeParam T The value's type.
 * @param value Any cloned value; it is revived in place.
 * @param context How the receiving side revives refs; without it, cloned refs stay plain objects.
 * @returns The same value, or the revived object when the value itself is branded.
 *
 * @example
 * ```ts
 * import { revive, SharedEvent } from "@troupe/troupe/mailbox";
 * import { ok } from "node:assert/strict";
 *
 * const cloned = structuredClone({ stop: new SharedEvent() });
 * ok(revive(cloned).stop instanceof SharedEvent);
 * ```
 */
export function revive<T>(value: T, context?: ReviveContext): T {
  if (typeof value !== "object" || value === null) return value;
  return reviveAt(value, 0, { budget: REVIVE_BUDGET, seen: undefined, context }) as T;
}

/** Past this many objects and slots, {@linkcode revive} visits each object once. */
const REVIVE_BUDGET = 65_536;

interface ReviveWalk {
  budget: number;
  /** Once the budget ran out: the objects walked since, each walked once. */
  seen: Set<object> | undefined;
  /** Revives refs; without it a cloned ref stays as it is. */
  readonly context: ReviveContext | undefined;
}

function reviveAt(value: object, depth: number, walk: ReviveWalk): unknown {
  const record = value as Record<string, unknown>;
  const brand = record["~troupe"];
  if (brand === "ref") {
    if (!isRefData(value) || walk.context === undefined) return value;
    // A live ref (the local placement passes them uncloned) works as it is, or as `live` says.
    if (Object.getPrototypeOf(value) !== Object.prototype) {
      return walk.context.live === undefined ? value : walk.context.live(value);
    }
    return walk.context.ref(value);
  }
  if (typeof brand === "string" && record.buffer instanceof SharedArrayBuffer) {
    const reviver = revivers.get(brand);
    // Already a live object (the local placement passes them uncloned): nothing to do.
    if (reviver === undefined || Object.getPrototypeOf(value) !== Object.prototype) return value;
    try {
      return reviver(record);
    } catch {
      return value; // a forged or damaged brand: left as it is, for its schema to judge
    }
  }
  if (depth >= REVIVE_DEPTH) return value;
  // A value with many paths to the same objects (a hostile guest's reply, say) could take far
  // longer to walk path by path than its size: past the budget, each object is walked once.
  if (walk.seen !== undefined) {
    if (walk.seen.has(value)) return value;
    walk.seen.add(value);
  } else if (--walk.budget < 0) {
    walk.seen = new Set([value]);
  }
  if (Array.isArray(value)) {
    walk.budget -= value.length;
    if (walk.budget < 0) walk.seen ??= new Set([value]);
    for (let i = 0; i < value.length; i++) {
      const item = value[i];
      if (typeof item === "object" && item !== null) value[i] = reviveAt(item, depth + 1, walk);
    }
    return value;
  }
  if (value instanceof Map) {
    walk.budget -= value.size;
    if (walk.budget < 0) walk.seen ??= new Set([value]);
    for (const [key, item] of value) {
      if (typeof item !== "object" || item === null) continue;
      const revived = reviveAt(item, depth + 1, walk);
      if (revived !== item) value.set(key, revived);
    }
    return value;
  }
  if (value instanceof Set) {
    walk.budget -= value.size;
    if (walk.budget < 0) walk.seen ??= new Set([value]);
    const swaps: [unknown, unknown][] = [];
    for (const item of value) {
      if (typeof item !== "object" || item === null) continue;
      const revived = reviveAt(item, depth + 1, walk);
      if (revived !== item) swaps.push([item, revived]);
    }
    for (const [item, revived] of swaps) {
      value.delete(item);
      value.add(revived);
    }
    return value;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value;
  for (const key in record) {
    const item = record[key];
    if (typeof item === "object" && item !== null) {
      const revived = reviveAt(item, depth + 1, walk);
      if (revived !== item) record[key] = revived;
    } else if (--walk.budget < 0) walk.seen ??= new Set([value]);
  }
  return value;
}

// ---- reading cost -----------------------------------------------------------------------------

/** How many values a schema may have to read in a value that shares objects. */
export const MAX_READS = 1_000_000;

/**
 * Whether a schema can read a value in time proportional to its size. A schema reads a value path
 * by path: a value that reaches the same objects from many places (which structured clone
 * preserves: `[a, a, a]` with `a = [b, b, b]`, …) can be tiny on the wire and take longer than
 * the age of the universe to validate. A value is accepted when reading it path by path visits at
 * most `maxReads` values, or when no object in it is reached twice (it is a tree: reading it costs
 * its own size). The host checks this before it validates anything an untrusted guest sent.
 *
 * @param value Any value, as it arrived.
 * @param maxReads How many values a value with shared objects may make a schema read.
 * @returns `true` when validating the value costs at most its size or `maxReads`.
 *
 * @example
 * ```ts
 * import { readsWithin } from "@troupe/troupe/mailbox";
 * import { equal } from "node:assert/strict";
 *
 * let bomb: unknown = [1];
 * for (let i = 0; i < 40; i++) bomb = [bomb, bomb]; // 41 arrays, 2^40 paths
 * equal(readsWithin(bomb), false);
 * equal(readsWithin({ big: new Array(2_000_000).fill(0) }), true); // a tree, however big
 * const shared = { x: 1 };
 * equal(readsWithin([shared, shared]), true); // few reads
 * ```
 */
export function readsWithin(value: unknown, maxReads: number = MAX_READS): boolean {
  if (typeof value !== "object" || value === null) return true;
  try {
    if (reads(value, maxReads) >= 0) return true;
    return !sharesObjects(value, new Set());
  } catch {
    return false; // too deep to walk, or a walk that throws: no schema should try
  }
}

/** What structured clone walks into: array items, `Map` keys and values, `Set` values, fields. */
function childrenOf(value: object): readonly unknown[] {
  if (Array.isArray(value)) return value;
  if (value instanceof Map) return [...value.keys(), ...value.values()];
  if (value instanceof Set) return [...value];
  return Object.values(value);
}

/** Counts values path by path: the budget left, or -1 once it ran out. */
function reads(value: object, budget: number): number {
  if (--budget < 0) return -1;
  if (isLeaf(value)) return budget;
  const items = childrenOf(value);
  budget -= items.length;
  if (budget < 0) return -1;
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    if (typeof item === "object" && item !== null) {
      budget = reads(item, budget);
      if (budget < 0) return -1;
    }
  }
  return budget;
}

/** Whether any object is reached twice (a cycle counts): each object is walked once. */
function sharesObjects(value: object, seen: Set<object>): boolean {
  if (seen.has(value)) return true;
  seen.add(value);
  if (isLeaf(value)) return false;
  const items = childrenOf(value);
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    if (typeof item === "object" && item !== null && sharesObjects(item, seen)) return true;
  }
  return false;
}

// ---- storable -------------------------------------------------------------------------------

/** Options of {@linkcode assertStorable}. */
export interface StorableOptions {
  /**
   * What the value is, for the error message: `Cannot store the ${what}: …`.
   *
   * @default {"value"}
   */
  what?: string;
  /**
   * The deepest nesting allowed.
   *
   * @default {MAX_DEPTH}
   */
  maxDepth?: number;
  /**
   * The transfer list sent with the value: a stored value cannot transfer anything.
   *
   * @default {undefined}
   */
  transfer?: readonly unknown[];
}

/**
 * Checks that a value is plain data that can be stored and read back later, elsewhere (a journal,
 * a NATS message, a shared-memory ring): `null`, `undefined`, booleans, numbers, strings, bigints,
 * plain objects, arrays, `Date`, `Map`, `Set`, `ArrayBuffer` and typed arrays over one, nested at
 * most `maxDepth` levels, without cycles. Shared references that are not cycles are fine.
 *
 * @param value The value to check.
 * @param options What to call it, the depth limit, and the transfer list sent with it.
 * @throws {TypeError} Naming the path inside the value: a function, a symbol, shared memory (a
 * `SharedArrayBuffer`, a typed array over one, a `SharedEvent`…), any other class instance, a
 * cycle, a nesting past `maxDepth`, or a non-empty transfer list.
 *
 * @example
 * ```ts
 * import { assertStorable } from "@troupe/troupe/mailbox";
 * import { throws } from "node:assert/strict";
 *
 * assertStorable({ id: 1, tags: ["a"], at: new Date(0) });
 * throws(
 *   () => assertStorable({ jobs: [{ done: () => {} }] }, { what: "message" }),
 *   { name: "TypeError", message: "Cannot store the message: value.jobs[0].done is a function" },
 * );
 * ```
 */
export function assertStorable(value: unknown, options: StorableOptions = {}): void {
  const what = options.what ?? "value";
  const maxDepth = options.maxDepth ?? MAX_DEPTH;
  if (options.transfer !== undefined && options.transfer.length > 0) {
    throw new TypeError(`Cannot store the ${what}: it cannot carry a transfer list`);
  }
  const problem = storableProblem(value, "value", 0, maxDepth, new Set(), new Set());
  if (problem !== undefined) throw new TypeError(`Cannot store the ${what}: ${problem}`);
}

function storableProblem(
  value: unknown,
  path: string,
  depth: number,
  max: number,
  open: Set<object>,
  done: Set<object>,
): string | undefined {
  switch (typeof value) {
    case "undefined":
    case "boolean":
    case "number":
    case "string":
    case "bigint":
      return undefined;
    case "function":
      return `${path} is a function`;
    case "symbol":
      return `${path} is a symbol`;
  }
  if (value === null) return undefined;
  const object = value as object;
  if (done.has(object)) return undefined;
  if (open.has(object)) return `${path} refers back to an object that contains it (a cycle)`;
  if (depth >= max) return `${path} is nested deeper than ${max} levels`;
  if (object instanceof SharedArrayBuffer) return `${path} is a SharedArrayBuffer (shared memory)`;
  if (ArrayBuffer.isView(object)) {
    return object.buffer instanceof SharedArrayBuffer
      ? `${path} is a view of a SharedArrayBuffer (shared memory)`
      : undefined;
  }
  if (object instanceof ArrayBuffer || object instanceof Date) return undefined;
  const proto = Object.getPrototypeOf(object);
  const isArray = Array.isArray(object);
  const isMap = object instanceof Map && proto === Map.prototype;
  const isSet = object instanceof Set && proto === Set.prototype;
  const plain = proto === Object.prototype || proto === null;
  if (!isArray && !isMap && !isSet && !plain) {
    const name = typeof proto?.constructor === "function" ? proto.constructor.name : "";
    return `${path} is ${name ? `a ${name}` : "an object with a prototype"}, not plain data`;
  }
  const record = object as Record<string, unknown>;
  if (!isArray && typeof record["~troupe"] === "string") {
    return `${path} is a shared object ("${record["~troupe"]}"), which holds shared memory`;
  }
  open.add(object);
  let problem: string | undefined;
  if (isArray) {
    const array = object as unknown[];
    for (let i = 0; i < array.length && problem === undefined; i++) {
      problem = storableProblem(array[i], `${path}[${i}]`, depth + 1, max, open, done);
    }
  } else if (isMap) {
    let i = 0;
    for (const [key, item] of object as Map<unknown, unknown>) {
      problem = storableProblem(key, `${path}.keys()[${i}]`, depth + 1, max, open, done) ??
        storableProblem(item, `${path}.values()[${i}]`, depth + 1, max, open, done);
      if (problem !== undefined) break;
      i++;
    }
  } else if (isSet) {
    let i = 0;
    for (const item of object as Set<unknown>) {
      problem = storableProblem(item, `${path}.values()[${i}]`, depth + 1, max, open, done);
      if (problem !== undefined) break;
      i++;
    }
  } else {
    for (const key of Object.keys(record)) {
      problem = storableProblem(record[key], member(path, key), depth + 1, max, open, done);
      if (problem !== undefined) break;
    }
    if (problem === undefined && Object.getOwnPropertySymbols(record).length > 0) {
      problem = `${path} has a symbol key`;
    }
  }
  open.delete(object);
  if (problem === undefined) done.add(object);
  return problem;
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

function member(path: string, key: string): string {
  return IDENTIFIER.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}
