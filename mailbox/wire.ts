/**
 * The wire between a host and a guest (a worker, a subprocess, or the host's own thread): the frame
 * types both sides share, and the codec that carries errors across intact.
 *
 * Messages for one guest that are sent in the same tick travel as one array of frames in one
 * `postMessage`. A delivery frame carries many messages of one actor as a flat array
 * `[kindIndex, payload, kindIndex, payload, …]` numbered from `seq`: structured clone costs per
 * object, so the fewer wrappers the better.
 *
 * @module
 */

import {
  ActorCrashedError,
  ActorStoppedError,
  AskTimeoutError,
  CancelledError,
  HandlerTimeoutError,
  HungError,
  InvalidMessageError,
  MailboxClosedError,
  MailboxFullError,
  RestartIntensityError,
  SpawnError,
  TimeoutError,
} from "../errors.ts";

/** Frames from host to guest. */
export type ToGuest =
  | {
    t: "spawn";
    id: number;
    url: string;
    name: string;
    path: string;
    args: unknown;
    /** The cell's shared slot (`actors/_slot.ts`): stop flag, running and finished seqs, start time. */
    stop: SharedArrayBuffer;
    trusted: boolean;
    /** What `ctx.delivery.maxDeliveries` says (1 for at most once). */
    maxDeliveries?: number;
    /** Record each message's start time in the slot (the actor has a `handlerTimeoutMs`). */
    timed?: boolean;
    /** Set when this incarnation replaces one that crashed: `onRestart` runs with it. */
    crash?: SerializedError;
    /** The spawn's unique id: `ctx.self` travels as a ref with it. */
    uid?: string;
    /** The actor that spawned this one with `ctx.spawn` (`ctx.parent`), as a ref. */
    parent?: unknown;
    /** How many messages `ctx.stash()` may hold (the host decides; the guest mirrors it). */
    stashCapacity?: number;
  }
  /** `a`, when some message is a redelivery: the attempt of each message (`ctx.delivery.attempt`). */
  | { t: "deliver"; id: number; seq: number; m: unknown[]; a?: number[] }
  | { t: "restart"; id: number; error: SerializedError }
  | { t: "stop"; id: number }
  /** The cell's handler overran its time: forget the cell (no `onStop`), abort its `ctx.signal`. */
  | { t: "fence"; id: number; error: SerializedError }
  /**
   * The answer to a `replies` frame with `u` (`ctx.unstashAll()`): the host put the stash and every
   * message the guest had not started back in its mailbox; deliveries resume at `seq`, and the
   * guest ignores the deliveries that were on their way before this frame.
   */
  | { t: "rewind"; id: number; seq: number }
  | { t: "result"; call: number; ok: boolean; value: unknown }
  | { t: "ping"; n: number }
  /** Load an actor's module and run its schemas once, so that a spare guest answers at full speed. */
  | { t: "warm"; url: string; name: string };

/** What a guest's `call` frame asks of the host. */
export type CallOp =
  | "tell"
  | "send"
  | "ask"
  | "stop"
  | "stopped"
  | "watch"
  | "unwatch"
  | "lookup"
  | "spawn"
  | "timer"
  | "cancel_timer";

/** The kind index of a delivery that is a watched actor's end, for `onDown`: no protocol has it. */
export const DOWN_INDEX = -2;

/** Reply status inside a `replies` frame: the handler failed (while stopping; else it is a crash). */
export const REPLY_ERROR = 0;
/** Reply status inside a `replies` frame: the handler's reply follows. */
export const REPLY_OK = 1;
/** The message was refused by its schema (or the reply by its): not a crash. */
export const REPLY_INVALID = 2;

/** Frames from guest to host. */
export type ToHost =
  | { t: "ready"; id: number }
  | { t: "spawn_failed"; id: number; error: SerializedError }
  /**
   * `ack`: every message up to this seq is done; `r`: `[seq, status, value, …]` for asks and
   * refusals; `s`: the seqs among them whose handler called `ctx.stash()` (in increasing order,
   * none past `ack`, none in `r`); `u`: the handler at `ack` called `ctx.unstashAll()`, and the
   * guest dropped the messages it held after `ack` and waits for a `rewind` frame.
   */
  | { t: "replies"; id: number; ack: number; r: unknown[]; s?: number[]; u?: true }
  | { t: "crashed"; id: number; seq: number; error: SerializedError }
  | { t: "stopped"; id: number }
  | { t: "fault"; error: SerializedError }
  /** The guest is exiting by itself (`self.close()`, `Deno.exit()` in a worker). */
  | { t: "exit"; code: number }
  /**
   * A request of actor `id` to the host: a message to `ctx.self`, or to the actor `to` names (a
   * ref the guest holds), a stop, or one of the context's services (`ctx.watch`, `ctx.timers`,
   * `ctx.lookup`, `ctx.spawn`, `ref.stopped()`). `invalid` when the guest's own check refused the
   * payload. The host answers with a `result` frame, except to a `tell`: it dead-letters a tell it
   * cannot deliver, and the guest does not wait.
   */
  | {
    t: "call";
    id: number;
    call: number;
    op: CallOp;
    kind: string;
    payload: unknown;
    invalid?: SerializedError;
    timeoutMs?: number;
    /** For a `tell`: the payloads of the same tell that follow `payload`, in order. */
    more?: unknown[];
    /** The target of a message, a stop, a watch or `stopped()`; `ctx.self` when absent. */
    to?: { "~troupe": "ref"; path: string; uid: string; def: string };
  }
  | { t: "pong"; n: number };

/** An error flattened to cloneable data. */
export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  cause?: SerializedError | { value: unknown };
  fields?: Record<string, unknown>;
  errors?: SerializedError[];
}

const BUILTINS: Record<string, new (message?: string) => Error> = {
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
};

// Troupe's own errors, rebuilt with their class so that `instanceof` works on the other side.
// Their constructors take other arguments; they are restored from fields without running them.
const TROUPE: Record<string, { prototype: Error }> = {
  InvalidMessageError,
  AskTimeoutError,
  ActorStoppedError,
  ActorCrashedError,
  MailboxFullError,
  MailboxClosedError,
  SpawnError,
  RestartIntensityError,
  HungError,
  HandlerTimeoutError,
  TimeoutError,
  CancelledError,
};

const OWN_KEYS_SKIPPED = new Set(["name", "message", "stack", "cause"]);

/**
 * Flattens any thrown value into cloneable data, keeping `name`, `message`, `stack`, the `cause`
 * chain (to a depth of 8), `AggregateError.errors` and the custom fields that survive cloning.
 */
export function serializeError(error: unknown, depth = 0): SerializedError {
  if (!(error instanceof Error)) {
    return { name: "Error", message: describe(error), fields: { thrown: cloneable(error) } };
  }
  const out: SerializedError = { name: error.name, message: error.message, stack: error.stack };
  const fields: Record<string, unknown> = {};
  let hasFields = false;
  for (const key of Object.keys(error)) {
    if (OWN_KEYS_SKIPPED.has(key)) continue;
    if (key === "errors" && error instanceof AggregateError) continue;
    fields[key] = cloneable((error as unknown as Record<string, unknown>)[key]);
    hasFields = true;
  }
  if (hasFields) out.fields = fields;
  if ("cause" in error && depth < 8) {
    out.cause = error.cause instanceof Error
      ? serializeError(error.cause, depth + 1)
      : { value: cloneable(error.cause) };
  }
  if (error instanceof AggregateError && depth < 8) {
    out.errors = error.errors.map((e) => serializeError(e, depth + 1));
  }
  return out;
}

/**
 * Rebuilds an error from {@linkcode serializeError}'s output. Built-in and Troupe error classes keep
 * `instanceof`; other classes come back as an `Error` with the original `name`, `stack` and fields.
 */
export function deserializeError(data: SerializedError): Error {
  const options: ErrorOptions | undefined = data.cause === undefined ? undefined : {
    cause: Object.hasOwn(data.cause, "value")
      ? (data.cause as { value: unknown }).value
      : deserializeError(data.cause as SerializedError),
  };
  let error: Error;
  const troupe = Object.hasOwn(TROUPE, data.name) ? TROUPE[data.name] : undefined;
  if (data.errors !== undefined) {
    error = new AggregateError(data.errors.map(deserializeError), data.message, options);
  } else if (troupe !== undefined) {
    error = Object.create(troupe.prototype) as Error;
    Object.defineProperty(error, "message", { value: data.message, writable: true });
    if (options) Object.defineProperty(error, "cause", { value: options.cause, writable: true });
  } else {
    const Builtin = (Object.hasOwn(BUILTINS, data.name) ? BUILTINS[data.name] : undefined) ??
      denoError(data.name) ?? Error;
    error = new (Builtin as ErrorConstructor)(data.message, options);
  }
  Object.defineProperty(error, "name", {
    value: data.name,
    writable: true,
    configurable: true,
    enumerable: false,
  });
  if (data.stack !== undefined) {
    Object.defineProperty(error, "stack", {
      value: data.stack,
      writable: true,
      configurable: true,
    });
  }
  if (data.fields) {
    // Defined, not assigned: a field named `__proto__` must not replace the error's prototype.
    for (const key of Object.keys(data.fields)) {
      // Never written by serializeError: from a hostile guest, they would replace the strings
      // checkFromGuest found with any value.
      if (OWN_KEYS_SKIPPED.has(key)) continue;
      try {
        Object.defineProperty(error, key, {
          value: data.fields[key],
          writable: true,
          configurable: true,
          enumerable: true,
        });
      } catch {
        // A field the error cannot take (a non-configurable property of its class): left out.
      }
    }
  }
  return error;
}

/** `Deno.errors.NotFound` and its siblings, where the runtime has them. */
function denoError(name: string): (new (message?: string) => Error) | undefined {
  const errors = (globalThis as { Deno?: { errors?: Record<string, unknown> } }).Deno?.errors;
  const candidate = errors !== undefined && Object.hasOwn(errors, name) ? errors[name] : undefined;
  return typeof candidate === "function" ? candidate as new (message?: string) => Error : undefined;
}

function describe(value: unknown): string {
  if (typeof value === "string") return value;
  try {
    return `Non-error thrown: ${JSON.stringify(value) ?? safeString(value)}`;
  } catch {
    return `Non-error thrown: ${safeString(value)}`;
  }
}

/** The value if it survives structured clone, else its string form. */
function cloneable(value: unknown): unknown {
  const type = typeof value;
  if (value === null || type === "string" || type === "number" || type === "boolean") return value;
  if (type === "undefined" || type === "bigint") return value;
  try {
    structuredClone(value);
    return value;
  } catch {
    return safeString(value);
  }
}

/** `String(value)`, or the `[object Tag]` form when the value's own conversion throws. */
function safeString(value: unknown): string {
  try {
    return String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

// ---- checking what a guest sends ------------------------------------------------------------

/** How deep a serialized error's `cause` and `errors` may nest (the codec writes at most 9). */
const MAX_ERROR_DEPTH = 16;

const CALL_OPS: ReadonlySet<string> = new Set<CallOp>([
  "tell",
  "send",
  "ask",
  "stop",
  "stopped",
  "watch",
  "unwatch",
  "lookup",
  "spawn",
  "timer",
  "cancel_timer",
]);

type Frame = Record<string, unknown>;

function isRecord(value: unknown): value is Frame {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Checks a batch that arrived from a guest the host does not trust (a worker, a shared worker, a
 * subprocess) before any of it is used: that it is an array of frames, each of a known type with
 * fields of the right types (whole numbers for ids and sequence numbers, a reply list of
 * `[seq, status, value]` triples in increasing seq order, errors shaped as
 * {@linkcode SerializedError}). The cost is linear in the batch's size, payloads aside: a reply's
 * value is left to its schema. Whether the numbers fit what the host delivered is for each actor to
 * check.
 *
 * @param frames What the guest posted.
 * @returns The first problem found, or `undefined` when the batch is well formed.
 */
export function checkFromGuest(frames: unknown): string | undefined {
  if (!Array.isArray(frames)) return `the batch is ${kindOf(frames)}, not an array of frames`;
  for (let i = 0; i < frames.length; i++) {
    const problem = frameProblem(frames[i]);
    if (problem !== undefined) return `frame ${i}: ${problem}`;
  }
  return undefined;
}

function frameProblem(frame: unknown): string | undefined {
  if (!isRecord(frame)) return `${kindOf(frame)} is not a frame`;
  const t = frame.t;
  switch (t) {
    case "ready":
    case "stopped":
      return wholeProblem(frame, "id");
    case "spawn_failed":
      return wholeProblem(frame, "id") ?? errorProblem(frame.error, "error", 0, new Set());
    case "crashed":
      return wholeProblem(frame, "id") ?? wholeProblem(frame, "seq") ??
        errorProblem(frame.error, "error", 0, new Set());
    case "replies":
      return wholeProblem(frame, "id") ?? wholeProblem(frame, "ack") ?? repliesProblem(frame.r) ??
        stashedProblem(frame.s, frame.ack as number, frame.r as unknown[]) ??
        (frame.u === undefined || frame.u === true ? undefined : `replies.u is ${kindOf(frame.u)}`);
    case "fault":
      return errorProblem(frame.error, "error", 0, new Set());
    case "exit":
      return wholeProblem(frame, "code");
    case "pong":
      return typeof frame.n === "number" ? undefined : `pong.n is ${kindOf(frame.n)}`;
    case "call": {
      const problem = wholeProblem(frame, "id") ?? wholeProblem(frame, "call");
      if (problem !== undefined) return problem;
      if (!CALL_OPS.has(frame.op as string)) return `call.op is ${kindOf(frame.op)}`;
      if (typeof frame.kind !== "string") return `call.kind is ${kindOf(frame.kind)}`;
      if (frame.timeoutMs !== undefined && typeof frame.timeoutMs !== "number") {
        return `call.timeoutMs is ${kindOf(frame.timeoutMs)}`;
      }
      if (frame.to !== undefined) {
        const to = frame.to as Frame;
        if (
          typeof to !== "object" || to === null || to["~troupe"] !== "ref" ||
          typeof to.path !== "string" || typeof to.uid !== "string" || typeof to.def !== "string"
        ) return `call.to is not a ref`;
      }
      if (frame.more !== undefined && (frame.op !== "tell" || !Array.isArray(frame.more))) {
        return `call.more is ${kindOf(frame.more)} for a ${kindOf(frame.op)}`;
      }
      if (frame.invalid !== undefined) {
        return errorProblem(frame.invalid, "call.invalid", 0, new Set());
      }
      return undefined;
    }
    default:
      return `unknown frame type ${kindOf(t)}`;
  }
}

function wholeProblem(frame: Frame, key: string): string | undefined {
  const value = frame[key];
  if (Number.isSafeInteger(value)) return undefined;
  return `${String(frame.t)}.${key} is ${kindOf(value)}, not a whole number`;
}

function repliesProblem(r: unknown): string | undefined {
  if (!Array.isArray(r)) return `replies.r is ${kindOf(r)}, not an array`;
  if (r.length % 3 !== 0) return `replies.r has ${r.length} items, not triples`;
  let previous = 0;
  for (let i = 0; i < r.length; i += 3) {
    const seq = r[i];
    if (!Number.isSafeInteger(seq) || (seq as number) <= previous) {
      return `replies.r[${i}] is ${kindOf(seq)}, not a seq after ${previous}`;
    }
    previous = seq as number;
    const status = r[i + 1];
    if (status === REPLY_OK) continue;
    if (status !== REPLY_ERROR && status !== REPLY_INVALID) {
      return `replies.r[${i + 1}] is ${kindOf(status)}, not a reply status`;
    }
    const problem = errorProblem(r[i + 2], `replies.r[${i + 2}]`, 0, new Set());
    if (problem !== undefined) return problem;
  }
  return undefined;
}

/** `s` after `r` passed its own check: increasing seqs up to `ack`, none answered in `r`. */
function stashedProblem(s: unknown, ack: number, r: unknown[]): string | undefined {
  if (s === undefined) return undefined;
  if (!Array.isArray(s)) return `replies.s is ${kindOf(s)}, not an array`;
  let previous = 0;
  let j = 0; // r's seqs increase too: one walk over both
  for (let i = 0; i < s.length; i++) {
    const seq = s[i];
    if (!Number.isSafeInteger(seq) || (seq as number) <= previous || (seq as number) > ack) {
      return `replies.s[${i}] is ${kindOf(seq)}, not a seq after ${previous} up to its ack ${ack}`;
    }
    while (j < r.length && (r[j] as number) < (seq as number)) j += 3;
    // A stashed message is answered when it runs again, never in the frame that stashes it.
    if (j < r.length && r[j] === seq) return `replies.s[${i}] is seq ${seq}, which r answers`;
    previous = seq as number;
  }
  return undefined;
}

/** Whether `value` has the shape {@linkcode deserializeError} relies on; each object once. */
function errorProblem(
  value: unknown,
  path: string,
  depth: number,
  seen: Set<object>,
): string | undefined {
  if (!isRecord(value)) return `${path} is ${kindOf(value)}, not a serialized error`;
  // The codec never shares an object between two places: a repeat could make the walk (and the
  // rebuilding) exponential in the frame's size.
  if (seen.has(value)) return `${path} repeats an error found elsewhere in the frame`;
  seen.add(value);
  if (depth > MAX_ERROR_DEPTH) return `${path} nests causes deeper than ${MAX_ERROR_DEPTH}`;
  if (typeof value.name !== "string") return `${path}.name is ${kindOf(value.name)}`;
  if (typeof value.message !== "string") return `${path}.message is ${kindOf(value.message)}`;
  if (value.stack !== undefined && typeof value.stack !== "string") {
    return `${path}.stack is ${kindOf(value.stack)}`;
  }
  if (value.fields !== undefined && !isRecord(value.fields)) {
    return `${path}.fields is ${kindOf(value.fields)}`;
  }
  const cause = value.cause;
  if (cause !== undefined) {
    if (!isRecord(cause)) return `${path}.cause is ${kindOf(cause)}`;
    if (!Object.hasOwn(cause, "value")) {
      const problem = errorProblem(cause, `${path}.cause`, depth + 1, seen);
      if (problem !== undefined) return problem;
    }
  }
  const errors = value.errors;
  if (errors !== undefined) {
    if (!Array.isArray(errors)) return `${path}.errors is ${kindOf(errors)}`;
    for (let i = 0; i < errors.length; i++) {
      const problem = errorProblem(errors[i], `${path}.errors[${i}]`, depth + 1, seen);
      if (problem !== undefined) return problem;
    }
  }
  return undefined;
}

/** A short, safe description of a value for a problem report: never its contents. */
function kindOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  switch (typeof value) {
    case "number":
      return Number.isFinite(value) ? `the number ${value}` : `${value}`;
    case "string":
      return value.length <= 32 ? JSON.stringify(value) : "a long string";
    case "object":
      return "an object";
    case "undefined":
      return "undefined";
    default:
      return `a ${typeof value}`;
  }
}
