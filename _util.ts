/**
 * Tiny private helpers shared across layers.
 *
 * @module
 */

import type { z } from "npm:zod@4.6.7";

const MIN_CAPACITY = 16;

/**
 * A double-ended queue on a growable ring buffer: O(1) push and shift at both ends and O(1)
 * indexed reads, with no per-item allocation. `Array.prototype.shift` is O(n) on large arrays,
 * which the message path cannot afford.
 */
export class Deque<T> {
  #items: (T | undefined)[] = new Array(MIN_CAPACITY);
  #head = 0;
  #length = 0;
  #mask = MIN_CAPACITY - 1;

  /** How many items are queued. */
  get length(): number {
    return this.#length;
  }

  /** Appends an item at the back. */
  push(item: T): void {
    if (this.#length === this.#items.length) this.#grow();
    this.#items[(this.#head + this.#length) & this.#mask] = item;
    this.#length++;
  }

  /** Prepends an item at the front. */
  unshift(item: T): void {
    if (this.#length === this.#items.length) this.#grow();
    this.#head = (this.#head - 1) & this.#mask;
    this.#items[this.#head] = item;
    this.#length++;
  }

  /** Removes and returns the front item, or `undefined` when empty. */
  shift(): T | undefined {
    if (this.#length === 0) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head] = undefined;
    this.#head = (this.#head + 1) & this.#mask;
    this.#length--;
    return item;
  }

  /** Removes and returns the back item, or `undefined` when empty. */
  pop(): T | undefined {
    if (this.#length === 0) return undefined;
    this.#length--;
    const index = (this.#head + this.#length) & this.#mask;
    const item = this.#items[index];
    this.#items[index] = undefined;
    return item;
  }

  /** The front item, or `undefined` when empty. */
  peek(): T | undefined {
    return this.#length === 0 ? undefined : this.#items[this.#head];
  }

  /** The item at `index` from the front (0-based), or `undefined` when out of range. */
  at(index: number): T | undefined {
    if (index < 0 || index >= this.#length) return undefined;
    return this.#items[(this.#head + index) & this.#mask];
  }

  /** Removes every item. */
  clear(): void {
    this.#items = new Array(MIN_CAPACITY);
    this.#head = 0;
    this.#length = 0;
    this.#mask = MIN_CAPACITY - 1;
  }

  /** Removes every item and returns them front to back. */
  drain(): T[] {
    const out = [...this];
    this.clear();
    return out;
  }

  /** Iterates front to back without removing. */
  *[Symbol.iterator](): IterableIterator<T> {
    for (let i = 0; i < this.#length; i++) {
      yield this.#items[(this.#head + i) & this.#mask] as T;
    }
  }

  #grow(): void {
    const old = this.#items;
    const size = old.length * 2;
    const next: (T | undefined)[] = new Array(size);
    for (let i = 0; i < this.#length; i++) next[i] = old[(this.#head + i) & this.#mask];
    this.#items = next;
    this.#head = 0;
    this.#mask = size - 1;
  }
}

/** A scheduled callback that can be cancelled. */
export interface Deadline {
  readonly at: number;
  fire: (() => void) | undefined;
}

/** A deadline as `Deadlines` holds it: a node of its delay's list. */
interface Entry extends Deadline {
  prev: Entry | undefined;
  next: Entry | undefined;
  list: List | undefined;
}

/** The deadlines of one delay, oldest first: they expire in the order they were added. */
interface List {
  readonly ms: number;
  head: Entry | undefined;
  tail: Entry | undefined;
}

/**
 * Many timeouts on one timer. A `setTimeout`/`clearTimeout` pair costs microseconds in Deno, as much
 * as an ask round trip to a worker, so asks share this queue instead: deadlines with the same delay
 * expire in the order they were added, one list per delay, and one timer is armed for the earliest.
 * Cancelling unlinks the entry at once (O(1)), so a settled ask leaves nothing behind until its
 * original expiry. The timer is armed only while a deadline is held, and then it keeps the process
 * alive: an ask waiting only on its timeout still ends.
 */
export class Deadlines {
  readonly #lists = new Map<number, List>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #armedAt = Infinity;
  #size = 0;

  /** How many deadlines are held: added, and neither fired nor cancelled yet. */
  get size(): number {
    return this.#size;
  }

  /** Calls `fire` after `ms` milliseconds unless cancelled first. */
  add(ms: number, fire: () => void): Deadline {
    let list = this.#lists.get(ms);
    if (list === undefined) this.#lists.set(ms, list = { ms, head: undefined, tail: undefined });
    const entry: Entry = {
      at: performance.now() + ms,
      fire,
      prev: list.tail,
      next: undefined,
      list,
    };
    if (list.tail === undefined) list.head = entry;
    else list.tail.next = entry;
    list.tail = entry;
    this.#size++;
    if (entry.at < this.#armedAt) this.#arm(entry.at);
    return entry;
  }

  /** Cancels a deadline and frees it; cancelling twice or after it fired does nothing. */
  cancel(deadline: Deadline): void {
    const entry = deadline as Entry;
    if (entry.list === undefined) return;
    this.#unlink(entry);
    if (this.#size === 0) this.#disarm();
  }

  /** Cancels every deadline and the timer. */
  clear(): void {
    for (const list of this.#lists.values()) {
      for (let entry = list.head; entry !== undefined;) {
        const next = entry.next;
        entry.fire =
          entry.prev =
          entry.next =
          entry.list =
            undefined;
        entry = next;
      }
      list.head = list.tail = undefined;
    }
    this.#lists.clear();
    this.#size = 0;
    this.#disarm();
  }

  #unlink(entry: Entry): void {
    const list = entry.list!;
    if (entry.prev === undefined) list.head = entry.next;
    else entry.prev.next = entry.next;
    if (entry.next === undefined) list.tail = entry.prev;
    else entry.next.prev = entry.prev;
    entry.fire =
      entry.prev =
      entry.next =
      entry.list =
        undefined;
    if (list.head === undefined) this.#lists.delete(list.ms);
    this.#size--;
  }

  #arm(at: number): void {
    this.#disarm();
    this.#armedAt = at;
    // A delay past what setTimeout takes would fire at once: wake at its limit and arm again then.
    const delay = Math.min(Math.max(0, at - performance.now()), MAX_TIMER_MS);
    // Kept ref'd: an ask waiting on its deadline alone (a local actor that never answers) must
    // still end, so the process waits for it. It is armed only while a deadline is held.
    this.#timer = setTimeout(this.#expire, delay);
  }

  #disarm(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#armedAt = Infinity;
  }

  #expire = (): void => {
    this.#timer = undefined;
    this.#armedAt = Infinity;
    const now = performance.now();
    for (const list of [...this.#lists.values()]) {
      while (list.head !== undefined && list.head.at <= now) {
        const entry = list.head;
        const fire = entry.fire!;
        this.#unlink(entry);
        fire();
      }
    }
    // A callback may have added or cancelled deadlines: arm for whatever is earliest now.
    let next = Infinity;
    for (const list of this.#lists.values()) if (list.head!.at < next) next = list.head!.at;
    if (next < Infinity && next < this.#armedAt) this.#arm(next);
  };
}

/**
 * A value as an error message names it: strings quoted, `null`, `an array`, `an object`,
 * `a Map`, `an Int32Array`, a function by its name.
 */
export function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "function") return value.name === "" ? "a function" : value.name;
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "symbol") return value.toString();
  if (value === null) return "null";
  if (typeof value !== "object") return String(value);
  const proto = Object.getPrototypeOf(value);
  if (Array.isArray(value) && proto === Array.prototype) return "an array";
  const name: unknown = proto?.constructor?.name;
  if (typeof name !== "string" || name === "") return "an object";
  if (name === "Object") {
    return proto === Object.prototype || proto === null
      ? "an object"
      : "an object with a prototype other than Object.prototype";
  }
  return `${/^([AEIO]|Un(?!i))/.test(name) ? "an" : "a"} ${name}`;
}

/** The longest delay `setTimeout` takes; longer timeouts are armed in steps. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Calls `fire` after `ms` milliseconds, in steps when that is longer than `setTimeout` takes (about
 * 24.8 days; a longer delay would fire at once).
 *
 * @returns A function that cancels the timer; calling it after `fire` ran does nothing.
 */
export function longTimeout(ms: number, fire: () => void): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const arm = (left: number) => {
    const delay = Math.min(left, MAX_TIMER_MS);
    timer = setTimeout(() => {
      timer = undefined;
      if (left > delay) arm(left - delay);
      else fire();
    }, delay);
  };
  arm(ms);
  return () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
  };
}

/** One problem a schema found, as {@linkcode formatIssues} reads it. */
export interface IssueLike {
  readonly path: readonly PropertyKey[];
  readonly message: string;
}

/** Formats a schema error's issues as one line: `n: Invalid input; tags.0: Too small`. */
export function formatIssues(error: { readonly issues: readonly IssueLike[] }): string {
  return error.issues
    .map((issue) =>
      `${issue.path.length ? issue.path.map(String).join(".") : "(root)"}: ${issue.message}`
    )
    .join("; ");
}

/**
 * Validates an options object against its schema, throwing a `TypeError` (wrong type, unknown key)
 * or a `RangeError` (a value out of range) whose message names `what`, the field and the value:
 * `Cannot start pool: size must be a positive integer, received 0`.
 *
 * A schema's own message is used as it is when it starts with "must " (a custom issue whose
 * `params.range` is true is a `RangeError`); zod's default messages are reworded.
 *
 * @param schema The options' schema (a zod object, usually strict).
 * @param value The options as given.
 * @param what The start of the message: `Cannot start pool`.
 * @returns The parsed options.
 */
export function parseOptions<S extends z.ZodType>(
  schema: S,
  value: unknown,
  what: string,
): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  if (issue.code === "unrecognized_keys") {
    const keys = issue.keys.map((key) => JSON.stringify(key)).join(", ");
    throw new TypeError(`${what}: unknown option ${keys}`);
  }
  const field = issue.path.map(String).join(".");
  const received = pick(value, issue.path);
  const custom = issue.message.startsWith("must ");
  const range = custom
    ? (issue.code === "custom" && issue.params?.range === true) ||
      issue.code === "too_small" || issue.code === "too_big"
    : issue.code === "too_small" || issue.code === "too_big" ||
      (issue.code === "invalid_type" && issue.expected === "int") ||
      (issue.code === "invalid_union" && typeof received === "number");
  const message = `${what}: ${field || "options"} ${custom ? issue.message : explain(issue)}, ` +
    `received ${describe(received)}`;
  throw range ? new RangeError(message) : new TypeError(message);
}

function explain(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case "too_small":
      return issue.inclusive === false
        ? `must be greater than ${issue.minimum}`
        : `must be at least ${issue.minimum}`;
    case "too_big":
      return issue.inclusive === false
        ? `must be less than ${issue.maximum}`
        : `must be at most ${issue.maximum}`;
    case "invalid_value":
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`;
    case "invalid_type":
      return issue.expected === "int" ? "must be an integer" : `must be of type ${issue.expected}`;
    default:
      return issue.message.toLowerCase().startsWith("invalid")
        ? `is invalid (${issue.message})`
        : `must have ${issue.message}`;
  }
}

function pick(value: unknown, path: readonly PropertyKey[]): unknown {
  let current = value;
  for (const key of path) {
    if (typeof current !== "object" || current === null) return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}
