/**
 * The cell that runs one actor on the guest side: its state, its context, and the validation of
 * every message at the trust boundary before a handler sees it.
 *
 * @module
 */

import { InvalidMessageError } from "../errors.ts";
import { formatIssues } from "../_util.ts";
import type { ActorDefinition, Schema } from "./define.ts";
import { isAsk } from "./define.ts";
import type { ActorContext, ActorLogger, DeliveryInfo } from "./context.ts";
import type { ActorRef } from "./ref.ts";
import { SlotWriter } from "./_slot.ts";

/** One message kind, resolved once per definition. */
export interface KindEntry {
  readonly kind: string;
  readonly index: number;
  readonly ask: boolean;
  readonly request: Schema;
  readonly reply: Schema | undefined;
}

type AnyHandler = (state: unknown, msg: unknown, ctx: ActorContext) => unknown;

const tables = new WeakMap<ActorDefinition, readonly KindEntry[]>();

/** The kinds of a definition by wire index, computed once per definition. */
export function kindTable(def: ActorDefinition): readonly KindEntry[] {
  let table = tables.get(def);
  if (table === undefined) {
    table = def.kinds.map((kind, index) => {
      const schema = def.protocol[kind];
      return isAsk(schema)
        ? { kind, index, ask: true, request: schema.request, reply: schema.reply }
        : { kind, index, ask: false, request: schema, reply: undefined };
    });
    tables.set(def, table);
  }
  return table;
}

/**
 * Validates a payload against a kind's schema.
 *
 * @returns The parsed payload (unknown keys stripped), or the `InvalidMessageError` to report.
 */
export function validate(
  path: string,
  entry: KindEntry,
  payload: unknown,
): { ok: true; value: unknown } | { ok: false; error: InvalidMessageError } {
  let result: ReturnType<Schema["safeParse"]>;
  try {
    result = entry.request.safeParse(payload);
  } catch (cause) {
    // A payload nested deeply enough overflows the schema's recursion: refuse it, do not crash.
    const detail = `(root): could not be validated (${
      cause instanceof Error ? cause.message : "unknown error"
    })`;
    return { ok: false, error: new InvalidMessageError(path, entry.kind, detail, { cause }) };
  }
  if (result.success) return { ok: true, value: result.data };
  return {
    ok: false,
    error: new InvalidMessageError(path, entry.kind, formatIssues(result.error), {
      cause: result.error,
    }),
  };
}

/**
 * Validates an ask's reply against its kind's reply schema, in the guest after the handler returned
 * and again on the host when the guest is not trusted.
 *
 * @returns The parsed reply, or the `InvalidMessageError` to reject the ask with.
 */
export function validateReply(
  path: string,
  entry: KindEntry,
  value: unknown,
): { ok: true; value: unknown } | { ok: false; error: InvalidMessageError } {
  let reply: ReturnType<Schema["safeParse"]>;
  try {
    reply = entry.reply!.safeParse(value);
  } catch (cause) {
    // A refinement or transform of the reply schema threw, or the reply overflowed its recursion:
    // refuse the reply, do not crash.
    const message = cause instanceof Error ? cause.message : "unknown error";
    reply = { success: false, error: { issues: [{ path: [], message }] } };
  }
  if (reply.success) return { ok: true, value: reply.data };
  const detail = `reply ${formatIssues(reply.error)}`;
  return {
    ok: false,
    error: new InvalidMessageError(path, entry.kind, detail, { cause: reply.error }),
  };
}

/** Runs one actor: holds its state and context, and calls its handlers. */
export class ActorCell {
  readonly def: ActorDefinition;
  readonly path: string;
  readonly kinds: readonly KindEntry[];
  /** This incarnation's shared slot: the stop flag, and what runs since when. */
  readonly slot: SlotWriter;
  readonly #args: unknown;
  readonly #self: ActorRef;
  /** `ctx.delivery` of a first attempt, shared by every such message. */
  readonly #first: DeliveryInfo;
  #delivery: DeliveryInfo;
  readonly #handlers: Record<string, AnyHandler>;
  #state: unknown;
  #controller = new AbortController();
  #ctx: ActorContext;

  constructor(
    def: ActorDefinition,
    path: string,
    args: unknown,
    slot: SharedArrayBuffer,
    self: ActorRef,
    maxDeliveries = 1,
    timed = false,
  ) {
    this.def = def;
    this.path = path;
    this.kinds = kindTable(def);
    this.#args = args;
    this.slot = new SlotWriter(slot, timed);
    this.#self = self;
    this.#first = Object.freeze({ attempt: 1, maxDeliveries });
    this.#delivery = this.#first;
    this.#handlers = def.handlers as unknown as Record<string, AnyHandler>;
    this.#ctx = this.#context();
  }

  /** Builds the state with `init`; after a crash, also runs `onRestart` with its error. */
  async start(crash?: Error): Promise<void> {
    this.#controller = new AbortController();
    this.#ctx = this.#context();
    const init = this.def.init as (args: unknown, ctx: ActorContext) => unknown;
    this.#state = await init(this.#args, this.#ctx);
    if (crash !== undefined && this.def.onRestart) {
      const onRestart = this.def.onRestart as (s: unknown, e: Error, c: ActorContext) => unknown;
      await onRestart(this.#state, crash, this.#ctx);
    }
  }

  /**
   * Calls the handler of `entry` with a validated payload; may return a promise.
   *
   * @param attempt Which delivery of the message this is, from 1 (`ctx.delivery.attempt`).
   */
  invoke(entry: KindEntry, msg: unknown, attempt = 1): unknown {
    this.#delivery = attempt === 1
      ? this.#first
      : Object.freeze({ attempt, maxDeliveries: this.#first.maxDeliveries });
    return this.#handlers[entry.kind](this.#state, msg, this.#ctx);
  }

  /** Aborts this incarnation's `signal` (on crash or stop). */
  abort(reason: unknown): void {
    this.#controller.abort(reason);
  }

  /** Aborts `signal` and runs `onStop`. */
  async stop(): Promise<void> {
    this.#controller.abort(new DOMException(`Actor ${this.path} is stopping`, "AbortError"));
    if (this.def.onStop) {
      const onStop = this.def.onStop as (s: unknown, c: ActorContext) => unknown;
      await onStop(this.#state, this.#ctx);
    }
  }

  #context(): ActorContext {
    const slot = this.slot;
    // deno-lint-ignore no-this-alias
    const cell = this;
    return {
      self: this.#self,
      path: this.path,
      signal: this.#controller.signal,
      shouldStop: () => slot.stopping,
      working: () => slot.working(),
      get delivery() {
        return cell.#delivery;
      },
      log: logger(this.path),
    };
  }
}

function logger(path: string): ActorLogger {
  const prefix = `[${path}]`;
  return {
    debug: (...data) => console.debug(prefix, ...data),
    info: (...data) => console.info(prefix, ...data),
    warn: (...data) => console.warn(prefix, ...data),
    error: (...data) => console.error(prefix, ...data),
  };
}
