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
  }
  /** `a`, when some message is a redelivery: the attempt of each message (`ctx.delivery.attempt`). */
  | { t: "deliver"; id: number; seq: number; m: unknown[]; a?: number[] }
  | { t: "restart"; id: number; error: SerializedError }
  | { t: "stop"; id: number }
  /** The cell's handler overran its time: forget the cell (no `onStop`), abort its `ctx.signal`. */
  | { t: "fence"; id: number; error: SerializedError }
  | { t: "result"; call: number; ok: boolean; value: unknown }
  | { t: "ping"; n: number }
  /** Load an actor's module and run its schemas once, so that a spare guest answers at full speed. */
  | { t: "warm"; url: string; name: string };

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
  /** `ack`: every message up to this seq is done; `r`: `[seq, status, value, …]` for asks and refusals. */
  | { t: "replies"; id: number; ack: number; r: unknown[] }
  | { t: "crashed"; id: number; seq: number; error: SerializedError }
  | { t: "stopped"; id: number }
  | { t: "fault"; error: SerializedError }
  /** The guest is exiting by itself (`self.close()`, `Deno.exit()` in a worker). */
  | { t: "exit"; code: number }
  /** A message to `ctx.self` (or a stop): `invalid` when the guest's own check refused it. */
  | {
    t: "call";
    id: number;
    call: number;
    op: "tell" | "send" | "ask" | "stop";
    kind: string;
    payload: unknown;
    invalid?: SerializedError;
    timeoutMs?: number;
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
  const options: ErrorOptions | undefined = data.cause === undefined
    ? undefined
    : { cause: "value" in data.cause ? data.cause.value : deserializeError(data.cause) };
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
  if (data.fields) Object.assign(error, data.fields);
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
