/**
 * The cell that runs one actor on the guest side: its state, its context, and its handlers. The
 * guest validates every message at the trust boundary (`protocol.ts`) before a handler sees it.
 *
 * @module
 */

import type { ActorDefinition } from "./define.ts";
import type { ActorContext, ActorLogger, DeliveryInfo } from "./context.ts";
import type { ActorRef } from "./ref.ts";
import { SlotWriter } from "./_slot.ts";
import { type KindEntry, kindTable } from "./protocol.ts";

type AnyHandler = (state: unknown, msg: unknown, ctx: ActorContext) => unknown;

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
