/**
 * The guest runtime: the side of the wire where handlers run. One guest serves every actor of one
 * worker, subprocess, or (for the `"local"` placement) of the host's own thread.
 *
 * It takes frames from the host, runs each actor's messages one at a time in order, and answers
 * with coalesced frames: replies and a cumulative acknowledgement per actor, crash reports, and
 * lifecycle notices. A handler that throws is reported as a crash of that actor; the guest itself
 * keeps serving.
 *
 * @module
 */

import { Deque } from "../_util.ts";
import {
  depthError,
  type RefData,
  revive,
  type ReviveContext,
  withinDepth,
} from "../mailbox/codec.ts";
// Registers the revivers of SharedEvent and SharedQueue with the codec.
import "../mailbox/shared_event.ts";
import {
  type CallOp,
  DOWN_INDEX,
  REPLY_ERROR,
  REPLY_INVALID,
  REPLY_OK,
  type SerializedError,
  serializeError,
  type ToGuest,
  type ToHost,
} from "../mailbox/wire.ts";
import { deserializeError } from "../mailbox/wire.ts";
import { ActorStoppedError, InvalidMessageError } from "../errors.ts";
import { ActorCell, STASHED, UNSTASH } from "./cell.ts";
import {
  DOWN_ENTRY,
  isDownData,
  type KindEntry,
  kindTable,
  validate,
  validateReply,
} from "./protocol.ts";
import type { ActorDefinition, ActorDown } from "./define.ts";
import { definitionKey } from "./define.ts";
import type { ActorRef, AskOptions } from "./ref.ts";
import { asRef, GuestRef, type RefCaller, TOLD } from "./_guest_ref.ts";
import { markRunningLocal } from "./_running.ts";

type Deliver = Extract<ToGuest, { t: "deliver" }>;

/** What the guest needs from where it runs. */
export interface GuestPort {
  /** Sends frames to the host. */
  post(frames: ToHost[], transfer: Transferable[]): void;
  /** Finds an actor definition by module URL and name. */
  load(url: string, name: string): Promise<ActorDefinition>;
}

interface Slot {
  readonly id: number;
  cell: ActorCell | undefined;
  status: "starting" | "running" | "crashed" | "stopping";
  readonly trusted: boolean;
  readonly pending: Deque<Deliver>;
  pos: number;
  busy: boolean;
  ack: number;
  replies: unknown[];
  dirty: boolean;
  settled: (() => void) | undefined;
  /** While `init` (and `onRestart`) run: a stop waits for them, then stops the new state. */
  starting: Promise<unknown> | undefined;
  /** The host gave up on this cell (a handler overran its time): it answers nothing any more. */
  fenced: boolean;
  /** Revives the refs this actor receives as refs that reach the host on its behalf. */
  readonly refs: ReviveContext;
  /** The spawn's uid. */
  readonly uid: string;
  /** Seqs whose handler called `ctx.stash()`, for the next `replies` frame. */
  stashed: number[];
  /** The next `replies` frame carries `u`: the handler at its ack called `ctx.unstashAll()`. */
  unstash: boolean;
  /**
   * After an unstash, until the host's `rewind`: the messages held were dropped (the host queues
   * them again), and deliveries sent before the host heard of it are ignored.
   */
  rewinding: boolean;
}

interface PendingCall {
  /** The actor that made the call: its calls fail when it leaves this guest. */
  readonly from: number;
  resolve(v: unknown): void;
  reject(e: unknown): void;
}

/** Runs the cells of one worker, subprocess or thread. */
export class Guest implements RefCaller {
  readonly #port: GuestPort;
  readonly #slots = new Map<number, Slot>();
  #out: ToHost[] = [];
  /** The tell frame further tells of the same target and kind may join, while it is last out. */
  #lastTell: Extract<ToHost, { t: "call" }> | undefined;
  #transfer: Transferable[] = [];
  #dirty: Slot[] = [];
  #scheduled = false;
  #nextCall = 1;
  /** Set when the guest is going away (exit, fault): no message starts any more. */
  #halted = false;
  readonly #calls = new Map<number, PendingCall>();

  constructor(port: GuestPort) {
    this.#port = port;
  }

  /** How many actors this guest runs. */
  get size(): number {
    return this.#slots.size;
  }

  /** Handles a batch of frames from the host. */
  receive(frames: ToGuest[]): void {
    for (const frame of frames) {
      switch (frame.t) {
        case "deliver": {
          const slot = this.#slots.get(frame.id);
          // Frames for a crashed or stopping actor are dropped: the host still holds them unacked
          // and redelivers or dead-letters them.
          if (
            slot === undefined || (slot.status !== "running" && slot.status !== "starting") ||
            slot.rewinding
          ) break;
          slot.pending.push(frame);
          if (slot.status === "running") this.#run(slot);
          break;
        }
        case "spawn":
          this.#spawn(frame);
          break;
        case "restart":
          this.#restart(frame.id, deserializeError(frame.error));
          break;
        case "stop":
          this.#stop(frame.id);
          break;
        case "fence":
          this.#fence(frame.id, deserializeError(frame.error));
          break;
        case "rewind": {
          const slot = this.#slots.get(frame.id);
          if (slot === undefined || !slot.rewinding) break;
          slot.rewinding = false;
          if (slot.status === "running") this.#run(slot);
          break;
        }
        case "result": {
          const call = this.#calls.get(frame.call);
          this.#calls.delete(frame.call);
          if (call === undefined) break;
          if (!frame.ok) call.reject(deserializeError(frame.value as SerializedError));
          else {
            const refs = this.#slots.get(call.from)?.refs;
            call.resolve(refs === undefined ? frame.value : revive(frame.value, refs));
          }
          break;
        }
        case "ping":
          this.#emit({ t: "pong", n: frame.n });
          break;
        case "warm":
          this.#warm(frame.url, frame.name);
          break;
      }
    }
    // Everything the batch produced synchronously leaves now, without waiting for a microtask.
    if (this.#scheduled) this.#flush();
  }

  /**
   * Reports an error that escaped every handler (an uncaught exception or rejection in the
   * guest's thread). The host ends the guest and restarts its actors elsewhere; from the slots it
   * charges only the messages that were running.
   */
  fault(error: unknown): void {
    // Acks first: the host must know what was handled before it hears the guest is lost.
    this.halt();
    this.#takeDirty();
    this.#emit({ t: "fault", error: serializeError(error) });
  }

  /**
   * The guest is going away (its thread exits or faulted): no message starts from now on, so that
   * what the host redelivers can never also run here.
   */
  halt(): void {
    this.#halted = true;
  }

  /** Posts every pending reply and acknowledgement now, synchronously (before an exit). */
  flush(): void {
    this.#takeDirty();
    this.#scheduled = true;
    this.#flush();
  }

  #takeDirty(): void {
    for (const slot of this.#dirty) this.#flushSlot(slot);
    this.#dirty = [];
  }

  /** The host gave up on a cell whose handler overran: forget it, abort its signal, no onStop. */
  #fence(id: number, error: Error): void {
    const slot = this.#slots.get(id);
    if (slot === undefined) return;
    this.#slots.delete(id);
    slot.fenced = true;
    slot.status = "crashed";
    slot.pending.clear();
    slot.pos = 0;
    slot.dirty = false;
    slot.replies = [];
    slot.cell?.abort(error);
    this.#forgetCalls(id);
  }

  /** The calls of an actor that left this guest fail: no answer will reach them. */
  #forgetCalls(id: number): void {
    for (const [n, call] of this.#calls) {
      if (call.from !== id) continue;
      this.#calls.delete(n);
      const path = this.#paths.get(id) ?? "an actor";
      call.reject(new ActorStoppedError(path));
    }
    this.#paths.delete(id);
  }

  /** The paths of the actors that made calls, for the errors of calls that cannot end. */
  readonly #paths = new Map<number, string>();

  /**
   * zod compiles a schema's parser on its first use, which costs milliseconds: a spare guest runs
   * every schema of the definition once (on values they refuse, so no user refinement runs).
   */
  async #warm(url: string, name: string): Promise<void> {
    try {
      const def = await this.#port.load(url, name);
      for (const entry of kindTable(def)) {
        entry.request.safeParse(undefined);
        entry.request.safeParse({});
        entry.reply?.safeParse(undefined);
      }
    } catch {
      // Warming is best effort: a real spawn reports any error.
    }
  }

  async #spawn(frame: Extract<ToGuest, { t: "spawn" }>): Promise<void> {
    const slot: Slot = {
      id: frame.id,
      cell: undefined,
      status: "starting",
      trusted: frame.trusted,
      pending: new Deque(),
      pos: 0,
      busy: false,
      ack: 0,
      replies: [],
      dirty: false,
      settled: undefined,
      starting: undefined,
      fenced: false,
      refs: { ref: (data) => new GuestRef(this, frame.id, data) },
      uid: frame.uid ?? "",
      stashed: [],
      unstash: false,
      rewinding: false,
    };
    this.#slots.set(frame.id, slot);
    this.#paths.set(frame.id, frame.path);
    try {
      const def = await this.#port.load(frame.url, frame.name);
      const args = frame.trusted ? frame.args : revive(frame.args, slot.refs);
      const parent = frame.parent === undefined
        ? undefined
        : revive(frame.parent, slot.refs) as ActorRef;
      const self = new GuestRef(this, frame.id, {
        "~troupe": "ref",
        path: frame.path,
        uid: frame.uid ?? "",
        def: definitionKey(def),
      }, true);
      slot.cell = new ActorCell(
        def,
        frame.path,
        args,
        frame.stop,
        {
          self: asRef(self),
          parent,
          call: (op, kind, payload, options, to) =>
            this.call(frame.id, op, kind, payload, options, to),
        },
        frame.maxDeliveries,
        frame.timed,
        frame.stashCapacity,
      );
      const crash = frame.crash === undefined ? undefined : deserializeError(frame.crash);
      slot.starting = slot.cell.start(crash);
      await slot.starting;
      slot.starting = undefined;
    } catch (error) {
      slot.starting = undefined;
      if (slot.status !== "starting") return; // a stop is waiting for this: it reports

      this.#slots.delete(frame.id);
      this.#forgetCalls(frame.id);
      this.#emit({ t: "spawn_failed", id: frame.id, error: serializeError(error) });
      return;
    }
    if (slot.status !== "starting") return; // stopped while starting
    slot.status = "running";
    this.#emit({ t: "ready", id: frame.id });
    this.#run(slot);
  }

  async #restart(id: number, crash: Error): Promise<void> {
    const slot = this.#slots.get(id);
    if (slot === undefined || slot.cell === undefined) return;
    slot.status = "starting";
    try {
      slot.starting = slot.cell.start(crash);
      await slot.starting;
      slot.starting = undefined;
    } catch (error) {
      slot.starting = undefined;
      if (slot.status === "starting") this.#crash(slot, -1, error);
      return;
    }
    if (slot.status !== "starting") return;
    slot.status = "running";
    this.#emit({ t: "ready", id });
    this.#run(slot);
  }

  async #stop(id: number): Promise<void> {
    const slot = this.#slots.get(id);
    if (slot === undefined) {
      this.#emit({ t: "stopped", id });
      return;
    }
    // As OTP: a cell that crashed (or never finished starting) gets no onStop.
    const crashed = slot.status === "crashed";
    slot.status = "stopping";
    slot.pending.clear();
    slot.pos = 0;
    const cell = slot.cell;
    cell?.abort(new DOMException(`Actor ${cell.path} is stopping`, "AbortError"));
    let started = true;
    if (slot.starting) await slot.starting.catch(() => started = false);
    if (slot.busy) await new Promise<void>((resolve) => slot.settled = resolve);
    try {
      if (started && !crashed) await cell?.stop();
    } catch (error) {
      this.#flushSlot(slot);
      this.#slots.delete(id);
      this.#forgetCalls(id);
      this.#emit({ t: "crashed", id, seq: -1, error: serializeError(error) });
      this.#emit({ t: "stopped", id });
      return;
    }
    this.#flushSlot(slot);
    this.#slots.delete(id);
    this.#forgetCalls(id);
    this.#emit({ t: "stopped", id });
  }

  /** Runs queued messages of one actor until it is empty or a handler goes async. */
  #run(slot: Slot): void {
    const cell = slot.cell!;
    const kinds = cell.kinds;
    const shared = cell.slot;
    while (slot.status === "running" && !slot.busy && !slot.rewinding) {
      const frame = slot.pending.peek();
      if (frame === undefined) break;
      const m = frame.m;
      if (slot.pos >= m.length) {
        slot.pending.shift();
        slot.pos = 0;
        continue;
      }
      // Asked to stop, abandoned, or going away: start nothing the host may hand to a successor.
      if (this.#halted || shared.stopping) break;
      const seq = frame.seq + (slot.pos >> 1);
      const attempt = frame.a === undefined ? 1 : frame.a[slot.pos >> 1] ?? 1;
      const index = m[slot.pos];
      // Only a whole number in range names a kind: "length", "1" or {} are refused, not looked up.
      const entry = typeof index === "number" ? kinds[index] : undefined;
      const payload = m[slot.pos + 1];
      slot.pos += 2;
      // Only the host makes these; a malformed one is refused as an unknown kind would be.
      const down = index === DOWN_INDEX && isDownData(payload);
      if (entry === undefined && !down) {
        const kind = nameOf(index);
        this.#refuse(slot, seq, new InvalidMessageError(cell.path, kind, "unknown message kind"));
        continue;
      }
      let msg = payload;
      if (down) msg = downOf(payload);
      else if (!slot.trusted) {
        const checked = validate(cell.path, entry!, revive(payload, slot.refs));
        if (!checked.ok) {
          this.#refuse(slot, seq, checked.error);
          continue;
        }
        msg = checked.value;
      }
      let result: unknown;
      shared.begin(seq);
      if (slot.trusted) markRunningLocal(slot.uid);
      try {
        result = down ? cell.down(msg as ActorDown) : cell.invoke(entry!, msg, attempt);
      } catch (error) {
        if (slot.trusted) markRunningLocal(undefined);
        cell.finish();
        this.#crash(slot, seq, error);
        return;
      }
      if (slot.trusted) markRunningLocal(undefined);
      if (result instanceof Promise) {
        slot.busy = true;
        result.then(
          (value) => {
            shared.end(seq);
            slot.busy = false;
            if (slot.fenced) return;
            this.#done(slot, seq, entry ?? DOWN_ENTRY, value);
            this.#resume(slot);
          },
          (error) => {
            slot.busy = false;
            cell.finish();
            if (slot.fenced) return;
            if (slot.status !== "stopping") return this.#crash(slot, seq, error);
            // Rejected while stopping (most often because ctx.signal aborted): answer, no crash.
            this.#answer(slot, seq, REPLY_ERROR, serializeError(error));
            this.#resume(slot);
          },
        );
        return;
      }
      shared.end(seq);
      this.#done(slot, seq, entry ?? DOWN_ENTRY, result);
    }
  }

  /** After an async handler settled: wakes a pending stop, or runs the next messages. */
  #resume(slot: Slot): void {
    const settled = slot.settled;
    if (settled === undefined) return this.#run(slot);
    slot.settled = undefined;
    settled();
  }

  #done(slot: Slot, seq: number, entry: KindEntry, value: unknown): void {
    const marks = slot.cell!.finish();
    if (marks !== 0) return this.#stashDone(slot, seq, entry, value, marks);
    if (entry.ask) {
      const reply = validateReply(slot.cell!.path, entry, value);
      if (reply.ok && withinDepth(reply.value)) {
        slot.replies.push(seq, REPLY_OK, reply.value);
      } else {
        const error = reply.ok
          ? depthError(`Cannot reply to "${entry.kind}" from ${slot.cell!.path}`, "reply")
          : reply.error;
        slot.replies.push(seq, REPLY_INVALID, serializeError(error));
      }
    }
    slot.ack = seq;
    this.#touch(slot);
  }

  /**
   * A handler that used the stash ended. A stashed message gets no reply (its ask waits for the
   * handler that runs it again). An unstash drops the messages held after this one: the host puts
   * them back behind the stash, and this side waits for its `rewind`.
   */
  #stashDone(slot: Slot, seq: number, entry: KindEntry, value: unknown, marks: number): void {
    if ((marks & STASHED) !== 0) {
      slot.stashed.push(seq);
      slot.ack = seq;
      this.#touch(slot);
    } else this.#done(slot, seq, entry, value);
    if ((marks & UNSTASH) !== 0) {
      slot.unstash = true;
      slot.rewinding = true;
      slot.pending.clear();
      slot.pos = 0;
      this.#touch(slot);
    }
  }

  #refuse(slot: Slot, seq: number, error: InvalidMessageError): void {
    this.#answer(slot, seq, REPLY_INVALID, serializeError(error));
  }

  #answer(slot: Slot, seq: number, status: number, value: unknown): void {
    slot.replies.push(seq, status, value);
    slot.ack = seq;
    this.#touch(slot);
  }

  #crash(slot: Slot, seq: number, error: unknown): void {
    this.#flushSlot(slot);
    slot.status = "crashed";
    slot.pending.clear();
    slot.pos = 0;
    slot.cell?.abort(error);
    this.#emit({ t: "crashed", id: slot.id, seq, error: serializeError(error) });
  }

  #touch(slot: Slot): void {
    if (!slot.dirty) {
      slot.dirty = true;
      this.#dirty.push(slot);
    }
    this.#schedule();
  }

  /** Moves one actor's replies and ack into the outgoing frames now, ahead of what follows. */
  #flushSlot(slot: Slot): void {
    if (!slot.dirty) return;
    slot.dirty = false;
    const r = slot.replies;
    slot.replies = [];
    const frame: Extract<ToHost, { t: "replies" }> = {
      t: "replies",
      id: slot.id,
      ack: slot.ack,
      r,
    };
    if (slot.stashed.length > 0) {
      frame.s = slot.stashed;
      slot.stashed = [];
    }
    if (slot.unstash) {
      frame.u = true;
      slot.unstash = false;
    }
    this.#out.push(frame);
  }

  /**
   * Emits a tell. Tells in a row from one actor to one target of one kind share a frame (`more`
   * carries the payloads after the first, in order), so that a burst costs one frame, not one per
   * message. A tell that transfers or that the guest's own check refused travels alone.
   */
  #tell(frame: Extract<ToHost, { t: "call" }>, transfer: Transferable[] | undefined): void {
    const last = this.#lastTell;
    if (
      transfer === undefined && frame.invalid === undefined && last !== undefined &&
      this.#out[this.#out.length - 1] === last && last.id === frame.id &&
      last.kind === frame.kind && last.to?.uid === frame.to?.uid
    ) {
      (last.more ??= []).push(frame.payload);
      return;
    }
    this.#emit(frame, transfer);
    this.#lastTell = transfer === undefined && frame.invalid === undefined ? frame : undefined;
  }

  #emit(frame: ToHost, transfer?: Transferable[]): void {
    this.#out.push(frame);
    if (transfer !== undefined) { for (const t of transfer) this.#transfer.push(t); }
    this.#schedule();
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(this.#flush);
  }

  #flush = (): void => {
    if (!this.#scheduled) return; // flushed already, at the end of a batch
    this.#scheduled = false;
    for (const slot of this.#dirty) this.#flushSlot(slot);
    this.#dirty = [];
    if (this.#out.length === 0) return;
    const frames = this.#out;
    const transfer = this.#transfer;
    this.#out = [];
    this.#transfer = [];
    try {
      this.#port.post(frames, transfer);
    } catch {
      // Whatever the port threw (a value it cannot clone, one too deep for its stack): send each
      // frame alone so that only the bad one fails. Nothing escapes into the microtask.
      for (const frame of frames) this.#postAlone(frame);
    }
  };

  #postAlone(frame: ToHost): void {
    try {
      this.#port.post([frame], []);
      return;
    } catch (cause) {
      if (frame.t === "call" && frame.more !== undefined) {
        // Tells that shared a frame: each alone, so that only the one that cannot be cloned fails.
        const { more, ...first } = frame;
        this.#postAlone(first);
        for (const payload of more) this.#postAlone({ ...first, payload });
        return;
      }
      if (frame.t === "call" && frame.op === "tell" && frame.invalid === undefined) {
        // A tell that cannot be cloned travels without its payload: the host dead-letters it.
        const error = new TypeError(
          `Cannot tell "${frame.kind}": the payload could not be cloned`,
          {
            cause,
          },
        );
        this.#postAlone({ ...frame, payload: null, invalid: serializeError(error) });
        return;
      }
      if (frame.t === "call") {
        // A message to ctx.self that cannot be cloned fails that call, not the guest.
        const call = this.#calls.get(frame.call);
        this.#calls.delete(frame.call);
        call?.reject(
          new TypeError(`Cannot send "${frame.kind}" to self: the payload could not be cloned`, {
            cause,
          }),
        );
        return;
      }
      if (frame.t === "replies") {
        // Each reply that cannot be cloned becomes an error for its ask.
        const r = frame.r.slice();
        for (let i = 0; i < r.length; i += 3) {
          try {
            structuredClone(r[i + 2]);
          } catch (cause) {
            r[i + 1] = REPLY_INVALID;
            r[i + 2] = serializeError(
              new TypeError("Cannot send reply: it could not be cloned", { cause }),
            );
          }
        }
        try {
          this.#port.post([{ ...frame, r }], []);
          return;
        } catch {
          // reported below
        }
      }
      // A lifecycle frame that cannot be sent: the host cannot follow this guest any more.
      try {
        const error = new Error(`A guest could not send its "${frame.t}" frame`, { cause });
        this.#port.post([{ t: "fault", error: serializeError(error) }], []);
      } catch {
        // The port itself is gone: the host notices through heartbeats or the exit.
      }
    }
  }

  /**
   * Sends a `call` frame for actor `from` and resolves with the host's answer; a tell resolves at
   * once, for the host answers none (it dead-letters what it cannot deliver). A message to
   * `ctx.self` (no `to`) is checked here as the host would check it, so that a bad message neither
   * crosses the wire (a function in an unknown key would fail to clone) nor vanishes: it travels
   * as `invalid`, and the host dead-letters it or rejects. A message to another actor is checked
   * by the host, which holds that actor's protocol.
   */
  call(
    from: number,
    op: CallOp,
    kind: string,
    payload: unknown,
    options: AskOptions | undefined,
    to: RefData | undefined,
  ): Promise<unknown> {
    const slot = this.#slots.get(from);
    const path = this.#paths.get(from) ?? "an actor";
    if (slot === undefined || slot.fenced) return Promise.reject(new ActorStoppedError(path));
    let invalid: SerializedError | undefined;
    if (op === "tell" || op === "send" || op === "ask") {
      let checked: { ok: true; value: unknown } | { ok: false; error: Error } = {
        ok: true,
        value: payload,
      };
      const where = to?.path ?? path;
      if (to === undefined) {
        const entry = slot.cell?.kinds.find((k) => k.kind === kind);
        if (entry === undefined) {
          return Promise.reject(new TypeError(`Unknown message kind "${kind}" for ${path}`));
        }
        if (entry.ask !== (op === "ask")) {
          const want = op === "ask" ? "ask" : "tell or send";
          const is = entry.ask ? "an ask" : "a tell";
          return Promise.reject(new TypeError(`Cannot ${want} "${kind}" to ${path}: it is ${is}`));
        }
        checked = validate(path, entry, payload);
      }
      if (checked.ok && !withinDepth(checked.value)) {
        checked = { ok: false, error: depthError(`Cannot send "${kind}" to ${where}`, "payload") };
      }
      if (!checked.ok && to !== undefined) return Promise.reject(checked.error);
      payload = checked.ok ? checked.value : null;
      if (!checked.ok) invalid = serializeError(checked.error);
    } else if (!withinDepth(payload)) {
      return Promise.reject(depthError(`Cannot ${op} from ${path}`, "payload"));
    }
    const n = op === "tell" ? 0 : this.#nextCall++;
    const frame: Extract<ToHost, { t: "call" }> = {
      t: "call",
      id: from,
      call: n,
      op,
      kind,
      payload,
    };
    if (invalid !== undefined) frame.invalid = invalid;
    if (options?.timeoutMs !== undefined) frame.timeoutMs = options.timeoutMs;
    if (to !== undefined) frame.to = to;
    // A tell is fire and forget: the host answers nothing, and dead-letters what it cannot deliver.
    if (op === "tell") {
      this.#tell(frame, options?.transfer);
      return TOLD;
    }
    const { promise, resolve, reject } = Promise.withResolvers<unknown>();
    this.#calls.set(n, { from, resolve, reject });
    this.#emit(frame, options?.transfer);
    return promise;
  }
}

/** What crosses for a watched actor's end, as `onDown` receives it. */
function downOf(payload: unknown): ActorDown {
  const data = payload as { path: string; reason: ActorDown["reason"]; error?: SerializedError };
  return data.error === undefined
    ? { path: data.path, reason: data.reason }
    : { path: data.path, reason: data.reason, error: deserializeError(data.error) };
}

/** A printable name for whatever arrived as a kind index; `String()` may throw on hostile input. */
function nameOf(index: unknown): string {
  try {
    return String(index);
  } catch {
    return Object.prototype.toString.call(index);
  }
}

/**
 * Routes errors that escape every handler in this thread (an uncaught exception, an unhandled
 * rejection) to `guest.fault`, instead of letting them end the worker or subprocess silently.
 */
export function reportUncaught(guest: Guest): void {
  globalThis.addEventListener("error", (event) => {
    event.preventDefault();
    guest.fault(event.error ?? new Error(event.message));
  });
  globalThis.addEventListener("unhandledrejection", (event) => {
    event.preventDefault();
    guest.fault(event.reason);
  });
}
