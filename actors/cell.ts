/**
 * The cell that runs one actor on the guest side: its state, its context, and its handlers. The
 * guest validates every message at the trust boundary (`protocol.ts`) before a handler sees it.
 *
 * @module
 */

import { isRefData, type RefData } from "../mailbox/codec.ts";
import type { CallOp } from "../mailbox/wire.ts";
import type { ActorDefinition, ActorDown } from "./define.ts";
import { definitionKey, isActorDefinition } from "./define.ts";
import type { ActorContext, ActorLogger, ActorTimers, DeliveryInfo } from "./context.ts";
import type { ActorRef, AskOptions } from "./ref.ts";
import { refData } from "./_guest_ref.ts";
import { SlotWriter } from "./_slot.ts";
import { type KindEntry, kindTable, validate } from "./protocol.ts";

/** What a cell's context asks of the guest it runs in. */
export interface CellServices {
  /** `ctx.self`. */
  readonly self: ActorRef;
  /** `ctx.parent`. */
  readonly parent: ActorRef | undefined;
  /** Sends a `call` frame to the host for this actor and resolves with the answer. */
  call(
    op: CallOp,
    kind: string,
    payload: unknown,
    options?: AskOptions,
    to?: RefData,
  ): Promise<unknown>;
}

type AnyHandler = (state: unknown, msg: unknown, ctx: ActorContext) => unknown;

/** What {@linkcode ActorCell.finish} reports: the handler called `ctx.stash()`. */
export const STASHED = 1;
/** What {@linkcode ActorCell.finish} reports: the handler called `ctx.unstashAll()` with a stash. */
export const UNSTASH = 2;

/** Runs one actor: holds its state and context, and calls its handlers. */
export class ActorCell {
  readonly def: ActorDefinition;
  readonly path: string;
  readonly kinds: readonly KindEntry[];
  /** This incarnation's shared slot: the stop flag, and what runs since when. */
  readonly slot: SlotWriter;
  readonly #args: unknown;
  readonly #services: CellServices;
  /** Counts incarnations: a context's timers and watches act only while theirs is current. */
  #incarnation = 0;
  /** `ctx.delivery` of a first attempt, shared by every such message. */
  readonly #first: DeliveryInfo;
  #delivery: DeliveryInfo;
  readonly #handlers: Record<string, AnyHandler>;
  #state: unknown;
  #controller = new AbortController();
  #ctx: ActorContext;
  /** A handler (or `onDown`) is running: `ctx.stash()` applies to its message. */
  #handling = false;
  /** What the running handler asked of the stash (`STASHED`, `UNSTASH` bits). */
  #marks = 0;
  /**
   * How many messages the host's stash holds, as this side counts them: it mirrors the host's
   * (which decides) so that `ctx.stash()` can say at once whether the message fit.
   */
  #stashed = 0;
  readonly #stashCapacity: number;

  constructor(
    def: ActorDefinition,
    path: string,
    args: unknown,
    slot: SharedArrayBuffer,
    services: CellServices,
    maxDeliveries = 1,
    timed = false,
    stashCapacity = 1_000,
  ) {
    this.#stashCapacity = stashCapacity;
    this.def = def;
    this.path = path;
    this.kinds = kindTable(def);
    this.#args = args;
    this.slot = new SlotWriter(slot, timed);
    this.#services = services;
    this.#first = Object.freeze({ attempt: 1, maxDeliveries });
    this.#delivery = this.#first;
    this.#handlers = def.handlers as unknown as Record<string, AnyHandler>;
    this.#ctx = this.#context();
  }

  /** Builds the state with `init`; after a crash, also runs `onRestart` with its error. */
  async start(crash?: Error): Promise<void> {
    this.#incarnation++;
    this.#controller = new AbortController();
    this.#ctx = this.#context();
    // A restart puts the host's stash back at the head of the mailbox.
    this.#stashed = 0;
    this.#handling = false;
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
    this.#handling = true;
    this.#marks = 0;
    return this.#handlers[entry.kind](this.#state, msg, this.#ctx);
  }

  /**
   * The handler started by `invoke` or `down` has ended (returned, settled or thrown): what it
   * asked of the stash, as `STASHED` and `UNSTASH` bits (0 almost always).
   */
  finish(): number {
    this.#handling = false;
    const marks = this.#marks;
    if (marks === 0) return 0;
    this.#marks = 0;
    if ((marks & UNSTASH) !== 0) this.#stashed = 0;
    return marks;
  }

  /** Runs `onDown` for a watched actor that is gone; nothing when the definition has none. */
  down(down: ActorDown): unknown {
    const onDown = this.def.onDown as
      | ((s: unknown, d: ActorDown, c: ActorContext) => unknown)
      | undefined;
    this.#handling = true;
    this.#marks = 0;
    return onDown?.(this.#state, down, this.#ctx);
  }

  /** Aborts this incarnation's `signal` (on crash or stop); its timers go with it on the host. */
  abort(reason: unknown): void {
    this.#incarnation++;
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
    const services = this.#services;
    const path = this.path;
    const incarnation = this.#incarnation;
    // deno-lint-ignore no-this-alias
    const cell = this;
    const current = () => cell.#incarnation === incarnation;
    const quiet = (op: CallOp, payload: unknown, to?: RefData) => {
      if (current()) services.call(op, "", payload, undefined, to).catch(() => {});
    };
    const target = (ref: unknown, what: string): RefData => {
      if (!isRefData(ref)) throw new TypeError(`Cannot ${what} from ${path}: not an actor ref`);
      return refData(ref);
    };
    return {
      self: services.self,
      parent: services.parent,
      path,
      signal: this.#controller.signal,
      shouldStop: () => slot.stopping,
      working: () => slot.working(),
      get delivery() {
        return cell.#delivery;
      },
      log: logger(path),
      lookup(def, where) {
        if (!isActorDefinition(def)) {
          return Promise.reject(
            new TypeError(`Cannot look up ${where} from ${path}: not a definition`),
          );
        }
        return services.call("lookup", "", { path: where, def: definitionKey(def) }) as Promise<
          // deno-lint-ignore no-explicit-any
          any
        >;
      },
      spawn(def, ...[options]) {
        if (!isActorDefinition(def)) {
          return Promise.reject(new TypeError(`Cannot spawn from ${path}: not a definition`));
        }
        const payload = { def: definitionKey(def), options: options ?? {} };
        // deno-lint-ignore no-explicit-any
        return services.call("spawn", "", payload) as Promise<any>;
      },
      stash() {
        if (!cell.#handling || !current()) {
          throw new TypeError(
            `Cannot stash from ${path}: only a message handler can stash the message it handles`,
          );
        }
        if ((cell.#marks & STASHED) !== 0) return true;
        cell.#marks |= STASHED;
        // Past the capacity the host makes it a dead letter: it is marked all the same.
        if (cell.#stashed >= cell.#stashCapacity) return false;
        cell.#stashed++;
        return true;
      },
      unstashAll() {
        if (!cell.#handling || !current()) {
          throw new TypeError(`Cannot unstash from ${path}: only a message handler can unstash`);
        }
        if (cell.#stashed > 0) cell.#marks |= UNSTASH;
      },
      watch: (ref) => quiet("watch", null, target(ref, "watch")),
      unwatch: (ref) => quiet("unwatch", null, target(ref, "unwatch")),
      timers: this.#timers(current, quiet),
    };
  }

  #timers(
    current: () => boolean,
    quiet: (op: CallOp, payload: unknown) => void,
  ): ActorTimers {
    const start = (key: string, kind: string, msg: unknown, ms: number, every: boolean) => {
      const what = `Cannot start timer "${key}" of ${this.path}`;
      if (typeof key !== "string") throw new TypeError(`${what}: key must be a string`);
      if (typeof ms !== "number" || !Number.isFinite(ms) || ms < (every ? 1 : 0)) {
        throw new TypeError(
          `${what}: ms must be a finite number of at least ${every ? 1 : 0}, received ${ms}`,
        );
      }
      const entry = this.kinds.find((k) => k.kind === kind);
      if (entry === undefined || entry.ask) {
        throw new TypeError(`${what}: "${kind}" is not a tell of the protocol`);
      }
      const checked = validate(this.path, entry, msg);
      if (!checked.ok) throw checked.error;
      if (current()) {
        this.#services.call("timer", kind, { key, msg: checked.value, ms, every }).catch(() => {});
      }
    };
    return {
      once: (key, kind, msg, ms) => start(key, kind, msg, ms, false),
      every: (key, kind, msg, ms) => start(key, kind, msg, ms, true),
      cancel: (key) => quiet("cancel_timer", { key }),
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
