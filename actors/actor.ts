/**
 * The host side of one actor: its authoritative mailbox, the ledger of messages delivered but not
 * yet acknowledged, pending asks, and the state machine a supervisor drives.
 *
 * ```
 *  caller ──tell/ask──▶ Mailbox ──pump (≤ prefetch in flight)──▶ Endpoint ══frames══▶ guest
 *                          ▲                                         │
 *                          └── redelivery on crash ◀── Ledger ◀──────┘ replies + cumulative ack
 * ```
 *
 * @module
 */

import {
  ActorCrashedError,
  ActorStoppedError,
  AskTimeoutError,
  HandlerTimeoutError,
  InvalidMessageError,
  MailboxClosedError,
  MailboxFullError,
  SpawnError,
} from "../errors.ts";
import type { Deadlines } from "../_util.ts";
import { Deque, longTimeout } from "../_util.ts";
import { Mailbox, type OverflowPolicy } from "../mailbox/mailbox.ts";
import {
  depthError,
  readsWithin,
  type RefData,
  revive,
  type ReviveContext,
  withinDepth,
} from "../mailbox/codec.ts";
import {
  deserializeError,
  REPLY_INVALID,
  REPLY_OK,
  type SerializedError,
  serializeError,
  type ToGuest,
  type ToHost,
} from "../mailbox/wire.ts";
import { DOWN_ENTRY, type KindEntry, kindTable, validate, validateReply } from "./protocol.ts";
import type { ActorDefinition, ActorDown, Protocol } from "./define.ts";
import { definitionKey } from "./define.ts";
import type { Endpoint, EndpointMember } from "./endpoint.ts";
import type { Placement } from "./placement.ts";
import type {
  ActorExit,
  ActorRef,
  AskOptions,
  RefStatus,
  SendOptions,
  StopOptions,
  TellOptions,
} from "./ref.ts";
import { runningLocal } from "./_running.ts";
import { liveClock } from "./_clock.ts";
import { newSlot, readSlot, resetSlot, type SlotReading, STOP, wallNow } from "./_slot.ts";

export type { Placement } from "./placement.ts";

/** What happens to messages taken but not acknowledged when an actor crashes. */
export type Delivery = "at_most_once" | "at_least_once";

/** Why a message went to dead letters. */
export type DeadLetterReason =
  | "invalid"
  | "overflow"
  | "stopped"
  | "crashed"
  | "quarantined"
  | "expired"
  | "undeliverable";

/** A message that was accepted or sent but will never be handled, and why. */
export interface DeadLetter {
  /** The path of the actor it was for. */
  readonly path: string;
  /** The message kind. */
  readonly kind: string;
  /** The payload as sent. */
  readonly payload: unknown;
  /** Why it was not handled. */
  readonly reason: DeadLetterReason;
  /** The error that made it a dead letter, if any; for `"quarantined"`, the last crash. */
  readonly error?: Error;
  /** For `"quarantined"`: every crash the message caused, in order. */
  readonly errors?: readonly Error[];
}

/** The resolved options of one actor. */
export interface ActorOptions {
  readonly placement: Placement;
  readonly capacity: number;
  readonly overflow: OverflowPolicy;
  readonly prefetch: number;
  readonly delivery: Delivery;
  readonly maxDeliveries: number;
  /** Past this, a running handler counts as a crash (`HandlerTimeoutError`); off when undefined. */
  readonly handlerTimeoutMs?: number | undefined;
  readonly askTimeoutMs: number;
  readonly permissions: Deno.PermissionOptions | undefined;
  /** For `"process"`: the V8 old-space limit of the subprocess, in MiB. */
  readonly maxHeapMb: number | undefined;
  /** For `"worker"`: keep a warm spare worker for fast restarts. */
  readonly spare: boolean;
  /** Handle queued messages before a final stop instead of dead-lettering them. */
  readonly drainOnStop: boolean;
  /** How many messages `ctx.stash()` may hold at once; past it, a stash is a dead letter. */
  readonly stashCapacity: number;
  /** How long a stop may take before the guest is killed, in milliseconds. */
  readonly shutdownMs: number;
}

/** Who decides what happens when an actor crashes or exits, and who hears of dead letters. */
export interface ActorOwner {
  /** The actor crashed (status `"crashed"`); call `restart` or `stop` on it. */
  crashed(actor: ActorCore, error: Error): void;
  /** The actor stopped itself (status `"down"`); call `restart` or `stop` on it. */
  exited(actor: ActorCore): void;
  /** The actor has stopped for good. */
  stopped(actor: ActorCore): void;
  /** A message will never be handled. */
  deadLetter(letter: DeadLetter): void;
  /**
   * A handler failed while its incarnation was being stopped (a sibling's recycle, a stop): no
   * restart is needed, but the failure is a crash to report.
   */
  handlerFailed?(actor: ActorCore, error: Error): void;
  /** `ctx.spawn`: starts a child (a validated child spec) supervised by this actor. */
  spawnChild?(spec: unknown): Promise<ActorRef>;
  /** The actor is about to stop for good: its `ctx.spawn` children stop first. */
  stopping?(actor: ActorCore, timeoutMs: number): Promise<void>;
}

/**
 * What the system offers its actors' calls from guests: refs by their cloned form, lookups and
 * children. One per system.
 */
export interface ActorHost {
  /** A working ref for a cloned one: the live actor's own, else a ref that is gone. */
  resolve(data: RefData): ActorRef;
  /** The host side of the actor a ref names, while it is alive in this system. */
  core(uid: string): ActorCore | undefined;
  /** How the actor a ref names ended, when the system still remembers it. */
  ended(uid: string): ActorExit | undefined;
  /** `ctx.lookup`: the actor at `path`, which must be of the definition `def` (`url#name`). */
  lookup(path: string, def: string): ActorRef;
  /** `ctx.spawn`: a child of `parent`, of the definition `def` (`url#name`). */
  spawn(parent: ActorCore, def: string, options: Record<string, unknown>): Promise<ActorRef>;
  /** A message to a ref that is gone, as the system reports it. */
  deadLetter(letter: DeadLetter): void;
}

/** Per-actor figures for `system.stats()`. */
export interface ActorStats {
  /** The actor's path. */
  readonly path: string;
  /** Where it runs. */
  readonly placement: Placement;
  /** Its lifecycle state. */
  readonly status: ActorStatus;
  /** Messages waiting in its mailbox plus those delivered and not yet acknowledged. */
  readonly mailboxDepth: number;
  /** Messages handled since it was spawned (across restarts). */
  readonly processed: number;
  /** How many times it was restarted. */
  readonly restarts: number;
  /** The message of the last crash, if any. */
  readonly lastError: string | undefined;
}

/** The lifecycle state of an actor. */
export type ActorStatus = "starting" | "running" | "crashed" | "down" | "stopping" | "stopped";

interface AskReply {
  resolve(value: unknown): void;
  reject(error: unknown): void;
  settled: boolean;
  cleanup: (() => void) | undefined;
}

interface Envelope {
  readonly entry: KindEntry;
  readonly payload: unknown;
  readonly transfer: Transferable[] | undefined;
  readonly reply: AskReply | undefined;
  seq: number;
  deliveries: number;
  errors: Error[] | undefined;
  /** When its delivery frame left (`liveClock.now()`): a subprocess's handler timeout counts from it. */
  sentAt: number;
  /** Its handler called `ctx.stash()`: the ack moves it to the stash instead of dropping it. */
  stashed: boolean;
}

/** How many timers (`ctx.timers` keys) one actor may hold at once. */
const MAX_TIMERS = 1_000;

/** How many of one actor's calls that wait (asks, sends, spawns…) the host serves at once. */
const MAX_CALLS_WAITING = 65_536;

/** The calls whose answer may take a while: the others are answered at once. */
const WAITING_OPS: ReadonlySet<string> = new Set(["send", "ask", "stop", "stopped", "spawn"]);

/** A random prefix per thread and a counter: a spawn's uid, unique across threads and hosts. */
const UID_PREFIX = crypto.randomUUID().slice(0, 8);
let nextUid = 1;

/** At most this many delivery frames per actor travel unacknowledged: later messages batch up. */
const MAX_FRAMES_IN_FLIGHT = 2;

const RESOLVED: Promise<void> = Promise.resolve();

let nextId = 1;

/** The host side of one actor. */
export class ActorCore implements EndpointMember {
  /**
   * The actor's id on the wire, new for each cell the guest creates: frames from an abandoned
   * cell (a stop that timed out on a shared or local guest) can never reach its successor.
   */
  id: number = nextId++;
  readonly path: string;
  readonly def: ActorDefinition;
  readonly args: unknown;
  readonly options: ActorOptions;
  readonly ref: ActorRef;
  /** The spawn's unique id: refs carry it, and it never names a later actor at the same path. */
  readonly uid: string = `${UID_PREFIX}.${nextUid++}`;
  /** The actor that spawned this one with `ctx.spawn` (`ctx.parent`). */
  parent: ActorRef | undefined;
  /**
   * The cell's shared slot (`_slot.ts`), new for each cell: the flag behind `ctx.shouldStop()`,
   * the seqs the guest started and finished last, and when the running one started.
   */
  slot: Int32Array<SharedArrayBuffer> = newSlot(0);

  readonly #owner: ActorOwner;
  readonly #acquire: (actor: ActorCore) => Endpoint;
  readonly #deadlines: Deadlines;
  /** With a frame in flight, a batch goes out once this many messages wait. */
  readonly #nagle: number;
  readonly #kinds: Map<string, KindEntry>;
  readonly #mailbox: Mailbox<Envelope>;
  readonly #ledger = new Deque<Envelope>();
  /**
   * Messages set aside by `ctx.stash()`, in the order they were stashed: kept across restarts
   * (which put them back at the head of the mailbox), dead-lettered by a final stop.
   */
  readonly #stash = new Deque<Envelope>();
  readonly #frameEnds = new Deque<number>();
  /** Seqs that never reached the guest; the cumulative ack passes over them. */
  readonly #skipped = new Set<number>();
  #hasStarted = false;
  #nextSeq = 1;
  #endpoint: Endpoint | undefined;
  #status: ActorStatus = "starting";
  #pumpScheduled = false;
  /** Settles when the current incarnation is ready (or failed to start). */
  #ready = Promise.withResolvers<void>();
  /** Settles when the guest confirmed a stop of the current incarnation. */
  #guestStop = Promise.withResolvers<void>();
  /** Whether the guest holds a cell for this actor (spawned, not yet stopped). */
  #inGuest = false;
  #stopped = Promise.withResolvers<void>();
  #stopping: Promise<void> | undefined;
  #recycling: Promise<void> | undefined;
  #draining: PromiseWithResolvers<void> | undefined;
  #processed = 0;
  #restarts = 0;
  #lastError: Error | undefined;
  /** Tells whose handler failed during a recycle, to redeliver ahead of what the guest held. */
  #requeue: Envelope[] = [];
  /** While the host finds out whether the thread of an overdue handler still turns. */
  #overdueTimer: ReturnType<typeof setTimeout> | undefined;
  /** When the ledger last shrank (`liveClock.now()`). */
  #lastAckAt = 0;
  readonly #host: ActorHost;
  /** Revives the refs that guests send as this system's refs. */
  readonly #refs: ReviveContext;
  /** The actors watching this one, each told once when it is gone for good. */
  readonly #watchers = new Set<ActorCore>();
  /** The actors this one watches. */
  readonly #watching = new Set<ActorCore>();
  /** `ctx.timers` of the current incarnation, by key: how to cancel each. */
  readonly #timers = new Map<string, () => void>();
  /** The calls of its guest being served (asks, sends, spawns waiting for an answer). */
  #callsWaiting = 0;
  /** Whether the last incarnation ended in a crash (the end is then `"crashed"`). */
  #crashedLast = false;
  #end: ActorExit | undefined;

  constructor(
    def: ActorDefinition,
    path: string,
    args: unknown,
    options: ActorOptions,
    owner: ActorOwner,
    acquire: (actor: ActorCore) => Endpoint,
    deadlines: Deadlines,
    host: ActorHost,
  ) {
    this.#deadlines = deadlines;
    this.#host = host;
    this.#refs = {
      ref: (data) => host.resolve(data),
      // A local guest hands over its own refs uncloned (`ctx.self`): they become the host's.
      live: (value) =>
        value instanceof Ref || value instanceof GoneRef ? value : host.resolve({
          "~troupe": "ref",
          path: value.path,
          uid: value.uid,
          def: value.def,
        }),
    };
    this.#nagle = Math.max(1, Math.min(options.capacity, options.prefetch) >> 1);
    this.def = def;
    this.path = path;
    this.args = args;
    this.options = options;
    this.#owner = owner;
    this.#acquire = acquire;
    this.#kinds = new Map(kindTable(def).map((entry) => [entry.kind, entry]));
    this.#mailbox = new Mailbox<Envelope>({
      capacity: options.capacity,
      overflow: options.overflow,
      owner: path,
      onDrop: (envelope) => this.#drop(envelope, "overflow"),
    });
    this.ref = new Ref(this) as unknown as ActorRef;
    this.#ready.promise.catch(() => {});
  }

  /** The lifecycle state. */
  get status(): ActorStatus {
    return this.#status;
  }

  /** The status a ref reports: a crash with a restart pending reads `"restarting"`. */
  get refStatus(): RefStatus {
    switch (this.#status) {
      case "starting":
        return this.#hasStarted ? "restarting" : "starting";
      case "crashed":
      case "down":
        return "restarting";
    }
    return this.#status;
  }

  /** How the actor ended, once it is gone for good. */
  get end(): ActorExit | undefined {
    return this.#end;
  }

  /** `ctx.spawn`: starts a child supervised by this actor (`spec` is a validated child spec). */
  spawnChild(spec: unknown): Promise<ActorRef> {
    if (this.#owner.spawnChild === undefined) {
      return Promise.reject(new TypeError(`Cannot spawn from ${this.path}: it has no supervisor`));
    }
    return this.#owner.spawnChild(spec);
  }

  /** Resolves once the actor is gone for good, with how it ended. */
  async exited(): Promise<ActorExit> {
    await this.#stopped.promise;
    return this.#end!;
  }

  /** The error of the last crash. */
  get lastError(): Error | undefined {
    return this.#lastError;
  }

  /** Current figures. */
  stats(): ActorStats {
    return {
      path: this.path,
      placement: this.options.placement,
      status: this.#status,
      mailboxDepth: this.#mailbox.size + this.#ledger.length + this.#stash.length,
      processed: this.#processed,
      restarts: this.#restarts,
      lastError: this.#lastError?.message,
    };
  }

  /** Starts the actor's first incarnation; resolves once `init` has returned. */
  start(): Promise<void> {
    this.#connect();
    return this.#ready.promise;
  }

  /** Resolves once the actor has stopped for good. */
  stopped(): Promise<void> {
    return this.#stopped.promise;
  }

  /**
   * Starts a new incarnation after a crash or a recycle: in the same guest when it is alive (a
   * `restart` frame re-runs `init` and `onRestart` there), else in a new one. Resolves once it is
   * ready; a failure to start is also reported to the owner as a crash.
   */
  restart(): Promise<void> {
    if (this.#status !== "crashed" && this.#status !== "down") return this.#ready.promise;
    this.#restarts++;
    this.#ready = Promise.withResolvers<void>();
    this.#ready.promise.catch(() => {});
    const endpoint = this.#endpoint;
    const crash = this.#status === "crashed" ? this.#lastError : undefined;
    this.#status = "starting";
    if (endpoint?.alive && this.#inGuest) {
      // The crashed cell runs nothing any more: what it recorded is settled.
      resetSlot(this.slot, this.#nextSeq - 1);
      const error = serializeError(crash ?? new Error("restart"));
      endpoint.post({ t: "restart", id: this.id, error });
    } else {
      this.#connect(crash);
    }
    return this.#ready.promise;
  }

  #connect(crash?: Error): void {
    let endpoint = this.#endpoint;
    if (endpoint === undefined || !endpoint.alive) {
      this.id = nextId++;
      endpoint = this.#acquire(this);
      this.#endpoint = endpoint;
      endpoint.attach(this);
    } else {
      const old = this.id;
      this.id = nextId++;
      endpoint.rekey(this, old);
    }
    this.slot = newSlot(this.#nextSeq - 1);
    this.#inGuest = true;
    this.#guestStop = Promise.withResolvers<void>();
    endpoint.post({
      t: "spawn",
      id: this.id,
      url: this.def.url,
      name: this.def.name,
      path: this.path,
      args: this.args,
      stop: this.slot.buffer,
      trusted: endpoint.trusted,
      maxDeliveries: this.options.delivery === "at_least_once" ? this.options.maxDeliveries : 1,
      timed: this.options.handlerTimeoutMs !== undefined,
      crash: crash === undefined ? undefined : serializeError(crash),
      uid: this.uid,
      parent: this.parent,
      stashCapacity: this.options.stashCapacity,
    });
  }

  // ---- sending ------------------------------------------------------------------------------

  /** The kind's entry, or a `TypeError` naming it. */
  #entry(kind: string, ask: boolean): KindEntry {
    const entry = this.#kinds.get(kind);
    if (entry === undefined) {
      throw new TypeError(`Unknown message kind "${kind}" for ${this.path}`);
    }
    if (entry.ask !== ask) {
      const want = ask ? "ask" : "tell or send";
      const is = entry.ask ? "an ask" : "a tell";
      throw new TypeError(`Cannot ${want} "${kind}" to ${this.path}: it is ${is}`);
    }
    return entry;
  }

  tell(kind: string, msg: unknown, options?: TellOptions): void {
    const entry = this.#entry(kind, false);
    if (this.#status === "stopping" || this.#status === "stopped") {
      const error = new ActorStoppedError(this.path);
      this.#owner.deadLetter({ path: this.path, kind, payload: msg, reason: "stopped", error });
      return;
    }
    const checked = this.#validate(entry, msg);
    if (!checked.ok) {
      const { error, reason } = checked;
      this.#owner.deadLetter({ path: this.path, kind, payload: msg, reason, error });
      return;
    }
    this.#mailbox.offer(this.#envelope(entry, checked.value, options?.transfer, undefined));
    this.#wake();
  }

  send(kind: string, msg: unknown, options?: SendOptions): Promise<void> {
    let envelope: Envelope;
    try {
      const entry = this.#entry(kind, false);
      if (this.#status === "stopping" || this.#status === "stopped") {
        throw new ActorStoppedError(this.path);
      }
      const checked = this.#validate(entry, msg);
      if (!checked.ok) throw checked.error;
      envelope = this.#envelope(entry, checked.value, options?.transfer, undefined);
      if (this.#mailbox.userSize < this.#mailbox.capacity && this.#mailbox.waitingPutters === 0) {
        this.#mailbox.offer(envelope);
        this.#wake();
        return RESOLVED;
      }
      // The caller hears of the refusal: the message is its own, not a dead letter.
      if (this.options.overflow === "drop_newest") throw this.#full();
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#mailbox.put(envelope, { signal: options?.signal }).then(
      () => this.#wake(),
      (error) => {
        throw error instanceof MailboxClosedError ? new ActorStoppedError(this.path) : error;
      },
    );
  }

  ask(kind: string, msg: unknown, options?: AskOptions): Promise<unknown> {
    let entry: KindEntry;
    try {
      entry = this.#entry(kind, true);
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.#status === "stopping" || this.#status === "stopped") {
      return Promise.reject(new ActorStoppedError(this.path));
    }
    const checked = this.#validate(entry, msg);
    if (!checked.ok) return Promise.reject(checked.error);
    try {
      this.#checkTransfer(entry, options?.transfer);
    } catch (error) {
      return Promise.reject(error);
    }
    const timeoutMs = options?.timeoutMs ?? this.options.askTimeoutMs;
    if (!(timeoutMs > 0)) {
      return Promise.reject(
        new RangeError(`Cannot ask "${kind}": timeoutMs must be positive, received ${timeoutMs}`),
      );
    }
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    const room = this.#mailbox.userSize < this.#mailbox.capacity &&
      this.#mailbox.waitingPutters === 0;
    // Refused as `send` is: the caller hears of it, so it is not also a dead letter.
    if (!room && this.options.overflow === "drop_newest") return Promise.reject(this.#full());

    const { promise, resolve, reject } = Promise.withResolvers<unknown>();
    const reply: AskReply = { resolve, reject, settled: false, cleanup: undefined };
    const deadline = timeoutMs === Infinity ? undefined : this.#deadlines.add(timeoutMs, () => {
      settle(reply, false, new AskTimeoutError(this.path, kind, timeoutMs));
    });
    if (signal === undefined) {
      if (deadline !== undefined) reply.cleanup = () => this.#deadlines.cancel(deadline);
    } else {
      const onAbort = () => settle(reply, false, signal.reason);
      signal.addEventListener("abort", onAbort, { once: true });
      reply.cleanup = () => {
        if (deadline !== undefined) this.#deadlines.cancel(deadline);
        signal.removeEventListener("abort", onAbort);
      };
    }

    const envelope = this.#envelope(entry, checked.value, options?.transfer, reply);
    if (room) {
      this.#mailbox.offer(envelope);
      this.#wake();
    } else {
      this.#mailbox.put(envelope, { signal }).then(
        () => this.#wake(),
        (error) => {
          const stopped = error instanceof MailboxClosedError;
          settle(reply, false, stopped ? new ActorStoppedError(this.path) : error);
        },
      );
    }
    return promise;
  }

  /**
   * The payload as its schema parsed it, or why it cannot be sent: invalid (`InvalidMessageError`),
   * or nested too deep for structured clone (`RangeError`, the value codec's limit).
   */
  #validate(
    entry: KindEntry,
    msg: unknown,
  ):
    | { ok: true; value: unknown }
    | { ok: false; error: Error; reason: "invalid" | "undeliverable" } {
    const checked = validate(this.path, entry, msg);
    if (!checked.ok) return { ok: false, error: checked.error, reason: "invalid" };
    if (withinDepth(checked.value)) return checked;
    const error = depthError(`Cannot send "${entry.kind}" to ${this.path}`, "payload");
    return { ok: false, error, reason: "undeliverable" };
  }

  #envelope(
    entry: KindEntry,
    payload: unknown,
    transfer: Transferable[] | undefined,
    reply: AskReply | undefined,
  ): Envelope {
    this.#checkTransfer(entry, transfer);
    return {
      entry,
      payload,
      transfer,
      reply,
      seq: 0,
      deliveries: 0,
      errors: undefined,
      sentAt: 0,
      stashed: false,
    };
  }

  /** Messages flow while running, and while a stop drains the mailbox. */
  #deliverable(): boolean {
    return this.#status === "running" || (this.#draining !== undefined && this.#hasStarted);
  }

  /** A transferred buffer is gone after the first delivery: it could not be redelivered. */
  #checkTransfer(entry: KindEntry, transfer: Transferable[] | undefined): void {
    if (
      transfer !== undefined && transfer.length > 0 && this.options.delivery === "at_least_once"
    ) {
      throw new TypeError(
        `Cannot send "${entry.kind}" to ${this.path}: transfer cannot be used with at_least_once delivery`,
      );
    }
  }

  #wake(): void {
    if (this.#pumpScheduled || !this.#deliverable()) return;
    const queued = this.#mailbox.size;
    if (queued === 0) {
      if (this.#draining && this.#ledger.length === 0) this.#draining.resolve();
      return;
    }
    // Each of these ends with an ack, which wakes the pump again.
    if (!this.#canSend(queued)) return;
    this.#pumpScheduled = true;
    this.#endpoint!.schedulePump(this);
  }

  /**
   * Whether a delivery frame may leave now: within the prefetch window, at most two frames in
   * flight, and, with one already in flight, only a batch worth a frame (Nagle's rule): a message
   * or two would take the second slot and leave the rest waiting for a round trip.
   */
  #canSend(queued: number): boolean {
    const inFlight = this.#frameEnds.length;
    if (inFlight >= MAX_FRAMES_IN_FLIGHT) return false;
    const room = this.options.prefetch - this.#ledger.length;
    if (room <= 0) return false;
    return inFlight === 0 || queued >= Math.min(room, this.#nagle);
  }

  /** Moves messages from the mailbox into one delivery frame, within the prefetch window. */
  pump(endpoint: Endpoint): void {
    this.#pumpScheduled = false;
    if (!this.#deliverable() || endpoint !== this.#endpoint) return;
    if (!this.#canSend(this.#mailbox.size)) return;
    let room = this.options.prefetch - this.#ledger.length;
    const first = this.#nextSeq;
    const m: unknown[] = [];
    let transfer: Transferable[] | undefined;
    /** The attempt of each message, once one of them is a redelivery. */
    let attempts: number[] | undefined;
    // A subprocess's handler timeout counts from the delivery: only then is the time needed.
    const now = this.options.handlerTimeoutMs === undefined ? 0 : liveClock.now();
    while (room > 0) {
      const envelope = this.#mailbox.tryTake();
      if (envelope === undefined) break;
      if (envelope.reply?.settled) {
        this.#deadLetter(envelope, "expired", undefined);
        continue;
      }
      envelope.seq = this.#nextSeq++;
      envelope.deliveries++;
      envelope.sentAt = now;
      if (attempts === undefined && envelope.deliveries > 1) {
        attempts = new Array<number>(m.length >> 1).fill(1);
      }
      attempts?.push(envelope.deliveries);
      this.#ledger.push(envelope);
      m.push(envelope.entry.index, envelope.payload);
      if (envelope.transfer) (transfer ??= []).push(...envelope.transfer);
      room--;
    }
    if (m.length === 0) return;
    this.#frameEnds.push(this.#nextSeq - 1);
    endpoint.post(
      attempts === undefined
        ? { t: "deliver", id: this.id, seq: first, m }
        : { t: "deliver", id: this.id, seq: first, m, a: attempts },
      transfer,
    );
  }

  /** Delivers a frame's messages one by one, failing those that cannot be cloned. */
  undeliverable(frame: Extract<ToGuest, { t: "deliver" }>, post: (f: ToGuest) => void): void {
    for (let i = 0; i < frame.m.length; i += 2) {
      const seq = frame.seq + i / 2;
      const envelope = this.#ledger.at(seq - this.#ledgerBase());
      try {
        const m = [frame.m[i], frame.m[i + 1]];
        post(
          frame.a === undefined
            ? { t: "deliver", id: this.id, seq, m }
            : { t: "deliver", id: this.id, seq, m, a: [frame.a[i / 2]] },
        );
      } catch (cause) {
        if (envelope === undefined) continue;
        const kind = envelope.entry.kind;
        const error = new TypeError(
          `Cannot send "${kind}" to ${this.path}: the payload could not be cloned`,
          { cause },
        );
        if (envelope.reply) settle(envelope.reply, false, error);
        else this.#deadLetter(envelope, "undeliverable", error);
        // The guest must still see the seq, so that its cumulative ack passes it and the frame
        // counts as answered: a kind index no protocol has is refused there, and ignored here.
        this.#skipped.add(seq);
        post({ t: "deliver", id: this.id, seq, m: [-1, null] });
      }
    }
  }

  /**
   * Empties the ledger: its messages, less those that never reached the guest (`undeliverable`
   * failed them already; going round again would fail them twice).
   */
  #drainLedger(): Envelope[] {
    const left = this.#ledger.drain();
    if (this.#skipped.size === 0) return left;
    const reached = left.filter((envelope) => !this.#skipped.has(envelope.seq));
    this.#skipped.clear();
    return reached;
  }

  #ledgerBase(): number {
    return this.#ledger.peek()?.seq ?? this.#nextSeq;
  }

  // ---- receiving ----------------------------------------------------------------------------

  receive(frame: ToHost): void {
    switch (frame.t) {
      case "replies":
        this.#replies(frame.r, frame.ack, frame.s);
        if (frame.u) this.#unstashAll();
        break;
      case "ready":
        if (this.#status !== "starting") break;
        this.#status = "running";
        this.#crashedLast = false;
        this.#hasStarted = true;
        this.#ready.resolve();
        this.#wake();
        break;
      case "spawn_failed": {
        this.#inGuest = false;
        const cause = deserializeError(frame.error);
        if (!this.#hasStarted) {
          this.#startFailed(new SpawnError(this.path, "init failed", { cause }));
        } else if (this.#status === "starting") {
          this.#ready.reject(cause);
          this.#fail(cause);
        }
        break;
      }
      case "crashed":
        this.#crashed(frame.seq, deserializeError(frame.error));
        break;
      case "stopped":
        this.#inGuest = false;
        this.#guestStop.resolve();
        break;
      case "call":
        if (frame.op === "tell") this.#tellFrom(frame);
        else this.#call(frame);
        break;
    }
  }

  /**
   * Why a frame from an untrusted guest cannot be right for this actor: a sequence number past
   * what was delivered, or an ack that passes an ask without answering it (which would leave the
   * ask hanging). The frame's shape was checked by the endpoint.
   */
  check(frame: ToHost): string | undefined {
    const last = this.#nextSeq - 1;
    if (frame.t === "crashed") {
      if (frame.seq === -1) return undefined;
      if (frame.seq < 1 || frame.seq > last) {
        return `crashed.seq ${frame.seq} was never delivered to ${this.path} (last: ${last})`;
      }
      // The crash acknowledges every message before it: each ask among them must be answered.
      const seq = this.#unanswered(frame.seq - 1, []);
      return seq === undefined
        ? undefined
        : `crashed.seq ${frame.seq} passes the ask at seq ${seq} without answering it`;
    }
    if (frame.t !== "replies") return undefined;
    const { ack, r } = frame;
    if (ack < 0 || ack > last) {
      return `replies.ack ${ack} was never delivered to ${this.path} (last: ${last})`;
    }
    if (r.length > 0 && (r[r.length - 3] as number) > ack) {
      return `replies.r answers seq ${r[r.length - 3]}, past its ack ${ack}`;
    }
    const seq = this.#unanswered(ack, r, frame.s);
    return seq === undefined
      ? undefined
      : `replies.ack ${ack} passes the ask at seq ${seq} without answering it`;
  }

  /**
   * The seq of an ask up to `ack` that is still waiting and that `r` does not answer, if any. A
   * stashed ask (in `s`) is answered later, once it is handled again.
   */
  #unanswered(ack: number, r: unknown[], s: number[] = []): number | undefined {
    const base = this.#ledgerBase();
    let j = 0;
    let k = 0;
    for (let seq = base; seq <= ack; seq++) {
      const envelope = this.#ledger.at(seq - base);
      if (envelope === undefined) break;
      while (j < r.length && (r[j] as number) < seq) j += 3;
      while (k < s.length && s[k] < seq) k++;
      const answered = (j < r.length && r[j] === seq) || (k < s.length && s[k] === seq);
      if (envelope.reply !== undefined && !envelope.reply.settled && !answered) return seq;
    }
    return undefined;
  }

  #replies(r: unknown[], ack: number, stashed: number[] | undefined): void {
    const base = this.#ledgerBase();
    if (stashed !== undefined) {
      for (const seq of stashed) {
        const envelope = this.#ledger.at(seq - base);
        if (envelope !== undefined && !this.#skipped.has(seq)) envelope.stashed = true;
      }
    }
    const trusted = this.#endpoint?.trusted === true;
    for (let i = 0; i < r.length; i += 3) {
      const envelope = this.#ledger.at((r[i] as number) - base);
      if (envelope === undefined || this.#skipped.has(r[i] as number)) continue;
      let ok = r[i + 1] === REPLY_OK;
      let value = ok ? r[i + 2] : deserializeError(r[i + 2] as SerializedError);
      if (ok && envelope.reply && !trusted) {
        // The guest validated the reply, but it is not trusted: validate it again here.
        const checked = readsWithin(value)
          ? validateReply(this.path, envelope.entry, revive(value, this.#refs))
          : { ok: false as const, error: tooManyReads(this.path, envelope.entry.kind, "reply ") };
        ok = checked.ok;
        value = checked.ok ? checked.value : checked.error;
      } else if (ok && envelope.reply && typeof value === "object" && value !== null) {
        value = revive(value, this.#refs); // a local guest's own refs become the host's
      }
      if (envelope.reply) settle(envelope.reply, ok, value);
      else if (r[i + 1] === REPLY_INVALID) this.#deadLetter(envelope, "invalid", value as Error);
      else if (!ok) this.#handlerFailed(envelope, value as Error);
    }
    this.#ack(ack);
  }

  /**
   * A tell's handler failed while its incarnation was stopping (`REPLY_ERROR`): a crash of that
   * message. During a recycle, at least once charges it a delivery and redelivers it; otherwise it
   * is a dead letter.
   */
  #handlerFailed(envelope: Envelope, error: Error): void {
    this.#owner.handlerFailed?.(this, error);
    if (this.#recycling === undefined || this.options.delivery !== "at_least_once") {
      this.#deadLetter(envelope, "crashed", error);
    } else if (this.#failTaken(envelope, error, error)) {
      this.#requeue.push(envelope);
    }
  }

  #ack(seq: number): void {
    let front = this.#ledger.peek();
    if (front !== undefined && front.seq <= seq && this.options.handlerTimeoutMs !== undefined) {
      this.#lastAckAt = liveClock.now();
    }
    while (front !== undefined && front.seq <= seq) {
      this.#ledger.shift();
      if (front.stashed) this.#stashAway(front);
      else if (this.#skipped.size === 0 || !this.#skipped.delete(front.seq)) this.#processed++;
      front = this.#ledger.peek();
    }
    let end = this.#frameEnds.peek();
    while (end !== undefined && end <= seq) {
      this.#frameEnds.shift();
      end = this.#frameEnds.peek();
    }
    this.#wake();
  }

  // ---- the stash ----------------------------------------------------------------------------

  /**
   * A handled message whose handler called `ctx.stash()`: set aside, its delivery not charged (a
   * stash is not a failure), its ask still waiting. Past `stashCapacity` it is a dead letter
   * `"overflow"`, and an ask rejects with `MailboxFullError`.
   */
  #stashAway(envelope: Envelope): void {
    envelope.stashed = false;
    envelope.deliveries--;
    if (envelope.reply?.settled) {
      this.#deadLetter(envelope, "expired", undefined);
      return;
    }
    const capacity = this.options.stashCapacity;
    if (this.#stash.length < capacity) {
      this.#stash.push(envelope);
      return;
    }
    const error = new MailboxFullError(capacity, `${this.path} (stash)`);
    if (envelope.reply) settle(envelope.reply, false, error);
    this.#deadLetter(envelope, "overflow", error);
  }

  /**
   * `ctx.unstashAll()`: the guest finished the handler at its ack and dropped what it held after
   * it. Those messages (never started: uncharged) go back to the head of the mailbox, and the
   * stash in front of them; the guest resumes with deliveries from the next seq.
   */
  #unstashAll(): void {
    const back = this.#drainLedger();
    for (const envelope of back) envelope.deliveries--;
    this.#frameEnds.clear();
    this.#mailbox.pushFront([...this.#stash.drain(), ...back]);
    const endpoint = this.#endpoint;
    if (endpoint?.alive && this.#inGuest) {
      endpoint.post({ t: "rewind", id: this.id, seq: this.#nextSeq });
    }
    this.#wake();
  }

  /** Before a restart: the stash goes back to the head of the mailbox, ahead of `redeliver`. */
  #withStash(redeliver: Envelope[]): Envelope[] {
    return this.#stash.length === 0 ? redeliver : [...this.#stash.drain(), ...redeliver];
  }

  /**
   * A message the guest took and did not finish, because of `error`: an ask rejects with
   * `askError`; a tell is dead-lettered (`at_most_once`, or past `maxDeliveries`) or, when this
   * returns `true`, goes back to the mailbox for redelivery.
   */
  #failTaken(envelope: Envelope, error: Error, askError: Error): boolean {
    if (envelope.reply) {
      settle(envelope.reply, false, askError);
      return false;
    }
    if (this.options.delivery === "at_most_once") {
      this.#deadLetter(envelope, "crashed", error);
      return false;
    }
    (envelope.errors ??= []).push(error);
    if (envelope.deliveries >= this.options.maxDeliveries) {
      this.#deadLetter(envelope, "quarantined", error);
      return false;
    }
    return true;
  }

  /** A handler threw (at `seq`), or `init`/`onRestart` did (`seq` is -1). */
  #crashed(seq: number, error: Error): void {
    this.#lastError = error;
    if (this.#status === "stopped" || this.#status === "crashed") return;
    this.#ack(seq - 1);
    if (this.#recycling) {
      // It threw before the guest took the recycle's stop (a handler that saw the stop flag, set
      // first): that message failed as one failing while stopping does; the rest stays for the
      // recycle, which hands back what never started.
      const envelope = this.#ledger.peek();
      if (envelope?.seq === seq) {
        this.#ledger.shift();
        this.#processed++;
        if (envelope.reply === undefined) this.#handlerFailed(envelope, error);
        else {
          this.#owner.handlerFailed?.(this, error);
          settle(envelope.reply, false, error);
        }
      }
      return;
    }
    if (this.#status === "stopping") {
      // A crash while a stop drains the mailbox: that message fails as a crash; the rest stays
      // for the stop to dead-letter, and the drain ends now.
      const envelope = this.#ledger.peek();
      if (envelope?.seq === seq) {
        this.#ledger.shift();
        this.#processed++;
        if (this.#failTaken(envelope, error, error)) this.#deadLetter(envelope, "crashed", error);
      }
      this.#draining?.resolve();
      return;
    }
    if (this.#status === "starting") this.#ready.reject(error);
    const redeliver: Envelope[] = [];
    for (const envelope of this.#drainLedger()) {
      if (envelope.seq !== seq) {
        redeliver.push(envelope); // never started: back to the mailbox, in order
        envelope.deliveries--;
        continue;
      }
      this.#processed++;
      if (this.#failTaken(envelope, error, error)) redeliver.push(envelope);
    }
    this.#frameEnds.clear();
    this.#skipped.clear();
    this.#mailbox.pushFront(this.#withStash(redeliver));
    this.#fail(error);
  }

  /**
   * What became of an unacknowledged message, from the slot: `"handled"` (its handler finished,
   * the ack never came), `"running"` (it was in flight), or `"unstarted"` (only prefetched).
   * Without a reading (a `"process"` guest shares no memory) every such message was in flight.
   */
  #fate(envelope: Envelope, reading: SlotReading | undefined): "handled" | "running" | "unstarted" {
    if (reading === undefined) return "running";
    if (envelope.seq <= reading.finished) return "handled";
    return envelope.seq === reading.running ? "running" : "unstarted";
  }

  /** The slot's figures, or `undefined` when the guest does not share memory with the host. */
  #read(endpoint: Endpoint | undefined): SlotReading | undefined {
    if (endpoint?.traits.sharesMemory === false) return undefined;
    return readSlot(this.slot, this.#ledgerBase() - 1);
  }

  /**
   * Settles the unacknowledged messages of a guest that is gone or abandoned: handled ones count
   * as handled (an ask whose reply was lost rejects), the one in flight is charged (`failTaken`),
   * the prefetched ones go back to the front of the mailbox uncharged.
   */
  #settleLedger(reading: SlotReading | undefined, error: Error, stopping: boolean): void {
    const redeliver = this.#requeue;
    this.#requeue = [];
    for (const envelope of this.#drainLedger()) {
      const fate = this.#fate(envelope, reading);
      if (fate === "handled") {
        this.#processed++;
        if (envelope.reply) {
          settle(envelope.reply, false, new ActorCrashedError(this.path, { cause: error }));
        }
      } else if (stopping) {
        // Stopping for good: what it held was never going to be handled.
        const stopped = new ActorStoppedError(this.path, { cause: error });
        if (envelope.reply) settle(envelope.reply, false, stopped);
        else this.#deadLetter(envelope, "stopped", stopped);
      } else if (fate === "unstarted") {
        envelope.deliveries--;
        redeliver.push(envelope);
      } else if (
        this.#failTaken(envelope, error, new ActorCrashedError(this.path, { cause: error }))
      ) {
        redeliver.push(envelope);
      }
    }
    this.#frameEnds.clear();
    this.#skipped.clear();
    // Stopping for good: the stop dead-letters the stash with the mailbox.
    this.#mailbox.pushFront(stopping ? redeliver : this.#withStash(redeliver));
  }

  /** The guest is gone: whatever it held unacknowledged is redelivered or dead-lettered. */
  lost(error: Error): void {
    Atomics.store(this.slot, STOP, 1); // an abandoned thread starts nothing, its loops end
    const reading = this.#read(this.#endpoint);
    this.#endpoint = undefined;
    this.#inGuest = false;
    this.#guestStop.resolve();
    if (this.#status === "stopped") return;
    if (!this.#hasStarted) {
      this.#startFailed(new SpawnError(this.path, "its guest failed", { cause: error }));
      return;
    }
    const stopping = this.#status === "stopping";
    this.#settleLedger(reading, error, stopping);
    if (stopping || this.#recycling) return;
    // Already down and reported (a crash awaiting its restart): one failure, one report.
    if (this.#status === "crashed" || this.#status === "down") return;
    if (this.#status === "starting") this.#ready.reject(error);
    this.#fail(error);
  }

  // ---- handler timeouts --------------------------------------------------------------------

  /**
   * With `handlerTimeoutMs`, called on every heartbeat tick: a handler running past the limit is a
   * crash with `HandlerTimeoutError`. The host pings the guest and waits `graceMs`: if the guest
   * answered, its thread still turns (an async handler), so this incarnation is fenced and the
   * actor restarts in the same guest; if not, a synchronous handler holds the thread, so the
   * guest is replaced (`abandon` is told when that leaves a thread behind).
   */
  checkHandler(graceMs: number, abandon: (actor: ActorCore, error: Error) => void): void {
    const limit = this.options.handlerTimeoutMs;
    const endpoint = this.#endpoint;
    if (
      limit === undefined || this.#status !== "running" || this.#overdueTimer !== undefined ||
      endpoint === undefined || !endpoint.alive || !this.#inGuest
    ) return;
    const seq = this.#overdueSeq(endpoint, limit);
    if (seq === undefined) return;
    const id = this.id;
    const asked = liveClock.now();
    endpoint.ping();
    this.#overdueTimer = setTimeout(() => {
      this.#overdueTimer = undefined;
      if (
        this.#endpoint !== endpoint || this.id !== id || this.#status !== "running" ||
        !endpoint.alive || this.#overdueSeq(endpoint, limit) !== seq
      ) return; // it finished, or the actor moved on, meanwhile
      const kind = this.#ledger.at(seq - this.#ledgerBase())?.entry.kind ?? "unknown";
      const error = new HandlerTimeoutError(this.path, kind, limit);
      if (endpoint.lastHeard >= asked) {
        this.#fence(seq, error);
        return;
      }
      if (endpoint.leavesThread) abandon(this, error);
      endpoint.die(error); // lost() charges the running message
    }, graceMs);
  }

  /** The seq of a handler running past `limit`, if any. */
  #overdueSeq(endpoint: Endpoint, limit: number): number | undefined {
    if (!endpoint.traits.sharesMemory) {
      // No shared memory: the oldest unacknowledged message is taken as running since it was
      // delivered or since the message before it was acknowledged, whichever is later.
      const front = this.#ledger.peek();
      if (front === undefined) return undefined;
      const since = Math.max(front.sentAt, this.#lastAckAt);
      return liveClock.now() - since > limit ? front.seq : undefined;
    }
    const reading = readSlot(this.slot, this.#ledgerBase() - 1);
    if (reading.running === undefined) return undefined;
    return wallNow() - reading.started > limit ? reading.running : undefined;
  }

  /**
   * Gives up on an incarnation whose async handler overran: its later frames are ignored (the
   * restart gives the actor a new wire id and slot), the guest drops the cell and aborts its
   * `ctx.signal`, and the overdue message is charged as a crash's.
   */
  #fence(seq: number, error: Error): void {
    Atomics.store(this.slot, STOP, 1);
    this.#endpoint?.post({ t: "fence", id: this.id, error: serializeError(error) });
    this.#inGuest = false;
    this.#crashed(seq, error);
  }

  #fail(error: Error): void {
    this.#draining?.resolve();
    this.#cancelTimers();
    this.#crashedLast = true;
    this.#status = "crashed";
    this.#lastError = error;
    this.#owner.crashed(this, error);
  }

  #startFailed(error: Error): void {
    this.#status = "stopped";
    this.#lastError = error;
    this.#crashedLast = true;
    this.#endpoint?.detach(this);
    this.#endpoint = undefined;
    this.#closeMailbox(error);
    this.#ready.reject(error);
    this.#ended();
    this.#stopped.resolve();
  }

  /**
   * A guest's tell: fire and forget, no `result` frame. What cannot be delivered is a dead letter:
   * a refused payload, a kind its target does not have (`"invalid"`), a full mailbox (`"overflow"`).
   */
  #tellFrom(frame: Extract<ToHost, { t: "call" }>): void {
    const target = frame.to === undefined ? this.ref : this.#host.resolve(frame.to);
    this.#tellOne(target, frame, frame.payload);
    const more = frame.more;
    if (more !== undefined) {
      for (let i = 0; i < more.length; i++) this.#tellOne(target, frame, more[i]);
    }
  }

  #tellOne(target: ActorRef, frame: Extract<ToHost, { t: "call" }>, value: unknown): void {
    let payload: unknown;
    try {
      if (frame.invalid !== undefined) throw deserializeError(frame.invalid);
      payload = this.#incoming(value, frame.kind, this.#endpoint);
    } catch (thrown) {
      const error = thrown instanceof Error ? thrown : new Error(String(thrown));
      const letter = { path: target.path, kind: frame.kind, payload: value, error };
      this.#owner.deadLetter({ ...letter, reason: "invalid" });
      return;
    }
    this.#tellQuietly(target, frame.kind, payload);
  }

  #call(frame: Extract<ToHost, { t: "call" }>): void {
    const endpoint = this.#endpoint;
    const id = this.id;
    // Only the cell that asked may hear the answer: a successor numbers its calls afresh.
    const answer = (ok: boolean, value: unknown) => {
      if (this.#endpoint === endpoint && this.id === id) {
        endpoint?.post({ t: "result", call: frame.call, ok, value });
      }
    };
    // Each call that waits holds a little host memory: a guest may not pile up more than this.
    if (WAITING_OPS.has(frame.op) && this.#callsWaiting >= MAX_CALLS_WAITING) {
      const error = new RangeError(
        `Cannot ${frame.op} from ${this.path}: ${MAX_CALLS_WAITING} of its calls are waiting already`,
      );
      return answer(false, serializeError(error));
    }
    let result: unknown;
    try {
      result = this.#serve(frame, endpoint);
    } catch (error) {
      return answer(false, serializeError(error));
    }
    if (!(result instanceof Promise)) return answer(true, result);
    this.#callsWaiting++;
    result.then(
      (value) => answer(true, value),
      (error) => answer(false, serializeError(error)),
    ).finally(() => this.#callsWaiting--);
  }

  /**
   * What a guest's call asks for, done on the host: the answer (a promise for a call that waits),
   * or a throw that rejects it.
   */
  #serve(frame: Extract<ToHost, { t: "call" }>, endpoint: Endpoint | undefined): unknown {
    const to = frame.to;
    // A guest always names the target of these; a forged frame without one is refused cleanly.
    const named = (): RefData => {
      if (to !== undefined) return to;
      throw new TypeError(`Cannot serve "${frame.op}" from ${this.path}: the call names no actor`);
    };
    switch (frame.op) {
      case "stop": {
        if (to === undefined) {
          void this.#exit();
          return undefined;
        }
        const stopping = this.#host.resolve(to).stop(
          frame.timeoutMs === undefined ? undefined : { timeoutMs: frame.timeoutMs },
        );
        // A stop of this actor, or of an actor that stops it first, waits for the very handler
        // that asked: it starts, and the handler goes on, as with `ctx.self.stop()`.
        if (!this.#stopsFirst(to.uid)) return stopping;
        stopping.catch(() => {});
        return undefined;
      }
      case "send":
      case "ask": {
        // (A tell never comes here: `#tellFrom` takes it, and answers nothing.)
        const target = to === undefined ? this.ref : this.#host.resolve(to);
        if (frame.invalid !== undefined) throw deserializeError(frame.invalid);
        const payload = this.#incoming(frame.payload, frame.kind, endpoint);
        if (frame.op === "send") return target.send(frame.kind as never, payload as never);
        return target.ask(frame.kind as never, payload as never, { timeoutMs: frame.timeoutMs });
      }
      case "stopped":
        return this.#host.resolve(named()).stopped().then((exit) => ({
          reason: exit.reason,
          error: exit.error === undefined ? undefined : serializeError(exit.error),
          exitCode: exit.exitCode,
        }));
      case "watch":
        this.#watch(named());
        return undefined;
      case "unwatch": {
        const watched = this.#host.core(named().uid);
        if (watched !== undefined) {
          watched.#watchers.delete(this);
          this.#watching.delete(watched);
        }
        return undefined;
      }
      case "lookup": {
        const { path, def } = (frame.payload ?? {}) as { path: unknown; def: unknown };
        if (typeof path !== "string" || typeof def !== "string") {
          throw new TypeError(
            `Cannot look up from ${this.path}: path and definition must be strings`,
          );
        }
        return this.#host.lookup(path, def);
      }
      case "spawn": {
        const { def, options } = (this.#incoming(frame.payload, "spawn", endpoint) ?? {}) as {
          def: unknown;
          options: unknown;
        };
        if (typeof def !== "string" || typeof options !== "object" || options === null) {
          throw new TypeError(
            `Cannot spawn from ${this.path}: a definition and options are needed`,
          );
        }
        return this.#host.spawn(this, def, options as Record<string, unknown>);
      }
      case "timer":
        this.#startTimer(frame.kind, this.#incoming(frame.payload, frame.kind, endpoint) ?? {});
        return undefined;
      case "cancel_timer": {
        const key = (frame.payload as { key?: unknown })?.key;
        if (typeof key === "string") this.#cancelTimer(key);
        return undefined;
      }
      default:
        throw new TypeError(`Cannot ${frame.op} from ${this.path}: not supported`);
    }
  }

  /** Whether this actor is the actor `uid` or one of its `ctx.spawn` ancestors. */
  stopsBefore(uid: string): boolean {
    for (let core = this.#host.core(uid); core !== undefined;) {
      if (core === this) return true;
      const parent = core.parent;
      core = parent === undefined ? undefined : this.#host.core(parent.uid);
    }
    return false;
  }

  /** Whether the actor `uid` is this one or a `ctx.spawn` ancestor (which stops its children first). */
  #stopsFirst(uid: string): boolean {
    return this.#host.core(uid)?.stopsBefore(this.uid) === true;
  }

  /**
   * A tell whose sender cannot hear a refusal (a guest's `tell`, a timer): what `tell` throws at a
   * caller on this thread (a full `"reject"` or `"backpressure"` mailbox, an unknown kind) becomes
   * a dead letter, so that nothing vanishes and nothing throws on this thread.
   */
  #tellQuietly(target: ActorRef, kind: string, payload: unknown): void {
    try {
      target.tell(kind as never, payload as never);
    } catch (error) {
      const reason = error instanceof MailboxFullError ? "overflow" : "invalid";
      this.#owner.deadLetter({ path: target.path, kind, payload, reason, error: error as Error });
    }
  }

  /** A value a guest sent: checked for its reading cost when the guest is untrusted; refs revived. */
  #incoming(value: unknown, kind: string, endpoint: Endpoint | undefined): unknown {
    if (typeof value !== "object" || value === null) return value;
    if (endpoint?.trusted === false && !readsWithin(value)) {
      throw tooManyReads(this.path, kind, "");
    }
    return revive(value, this.#refs);
  }

  // ---- watches ------------------------------------------------------------------------------

  /** `ctx.watch`: `onDown` runs once when the actor `to` names is gone for good. */
  #watch(to: RefData): void {
    const target = this.#host.core(to.uid);
    if (target !== undefined && target.#status !== "stopped") {
      if (target === this) return; // an actor does not outlive itself to hear of its own end
      target.#watchers.add(this);
      this.#watching.add(target);
      return;
    }
    const exit = (target === undefined ? undefined : target.#end) ?? this.#host.ended(to.uid) ??
      { reason: "stopped" as const };
    this.down({ path: to.path, reason: exit.reason, error: exit.error });
  }

  /** Queues `onDown` for a watched actor's end, ahead of user messages (the system lane). */
  down(down: ActorDown): void {
    if (this.#status === "stopping" || this.#status === "stopped") return;
    const payload = {
      path: down.path,
      reason: down.reason,
      error: down.error === undefined ? undefined : serializeError(down.error),
    };
    this.#mailbox.pushSystem(this.#envelope(DOWN_ENTRY, payload, undefined, undefined));
    this.#wake();
  }

  /** Gone for good: every watcher hears of it once; this actor's own watches end. */
  #ended(): void {
    const lastError = this.#lastError as (Error & { exitCode?: unknown }) | undefined;
    const exit: { reason: ActorExit["reason"]; error?: Error; exitCode?: number } = this
        .#crashedLast
      ? { reason: "crashed", error: lastError }
      : { reason: "stopped" };
    if (typeof lastError?.exitCode === "number") {
      exit.exitCode = lastError.exitCode;
    }
    this.#end = exit;
    this.#cancelTimers();
    for (const target of this.#watching) target.#watchers.delete(this);
    this.#watching.clear();
    const watchers = [...this.#watchers];
    this.#watchers.clear();
    for (const watcher of watchers) {
      watcher.#watching.delete(this);
      watcher.down({ path: this.path, reason: exit.reason, error: exit.error });
    }
  }

  // ---- timers -------------------------------------------------------------------------------

  #startTimer(kind: string, payload: unknown): void {
    const { key, msg, ms, every } = payload as {
      key: unknown;
      msg: unknown;
      ms: unknown;
      every: unknown;
    };
    const what = `Cannot start a timer of ${this.path}`;
    if (typeof key !== "string") throw new TypeError(`${what}: key must be a string`);
    if (typeof ms !== "number" || !Number.isFinite(ms) || ms < (every ? 1 : 0)) {
      throw new TypeError(`${what}: ms must be a finite number, received ${ms}`);
    }
    // Checked now, so that a bad timer fails where it was started, and again on each send.
    const entry = this.#entry(kind, false);
    const checked = this.#validate(entry, msg);
    if (!checked.ok) throw checked.error;
    if (this.#status !== "running" && this.#status !== "starting") return;
    this.#cancelTimer(key);
    if (this.#timers.size >= MAX_TIMERS) {
      // Each timer holds host memory and fires on the host's thread: a guest gets a bounded number.
      const error = new RangeError(`${what}: it has ${MAX_TIMERS} timers already`);
      this.#owner.deadLetter({ path: this.path, kind, payload: msg, reason: "overflow", error });
      return;
    }
    const fire = () => this.#tellQuietly(this.ref, kind, checked.value);
    if (!every) {
      this.#timers.set(
        key,
        longTimeout(ms, () => {
          this.#timers.delete(key);
          fire();
        }),
      );
      return;
    }
    // Repeats as a chain of timeouts, so that a period past setTimeout's limit still holds.
    let cancel = () => {};
    const arm = () => {
      cancel = longTimeout(ms, () => {
        arm();
        fire();
      });
    };
    arm();
    this.#timers.set(key, () => cancel());
  }

  #cancelTimer(key: string): void {
    const cancel = this.#timers.get(key);
    if (cancel === undefined) return;
    this.#timers.delete(key);
    cancel();
  }

  /** Every timer of the incarnation goes when it stops, crashes or restarts. */
  #cancelTimers(): void {
    for (const cancel of this.#timers.values()) cancel();
    this.#timers.clear();
  }

  // ---- stopping -----------------------------------------------------------------------------

  /**
   * Ends the current incarnation gracefully and keeps the mailbox: the stop flag is set, the guest
   * aborts `ctx.signal`, lets a running handler finish and runs `onStop`; messages it had taken but
   * not started go back to the front of the mailbox. Past `timeoutMs` a dedicated worker or
   * subprocess is killed (a shared or local guest is left alone). The status becomes `"down"`
   * until `restart()`. Used by supervisors to restart siblings without losing their messages.
   */
  recycle(timeoutMs: number): Promise<void> {
    if (this.#recycling) return this.#recycling;
    if (this.#status !== "running" && this.#status !== "starting" && this.#status !== "crashed") {
      return Promise.resolve();
    }
    const endpoint = this.#endpoint;
    this.#cancelTimers();
    // A restart under way: if it ends before its `ready`, whoever awaits the restart must hear.
    const restarting = this.#status === "starting" && this.#hasStarted ? this.#ready : undefined;
    this.#recycling = this.#endIncarnation(timeoutMs).then((outcome) => {
      this.#recycling = undefined;
      restarting?.reject(new ActorStoppedError(this.path));
      if (this.#status === "stopped" || this.#status === "stopping") {
        // Stopping for good meanwhile: the stop dead-letters what the mailbox holds.
        this.#mailbox.pushFront(this.#requeue);
        this.#requeue = [];
        return;
      }
      if (!this.#hasStarted) {
        // Its first init never returned: the start fails, as when its guest fails then.
        this.#startFailed(new SpawnError(this.path, "stopped before init returned"));
        return;
      }
      this.#status = "down";
      // Stopped: what the guest did not acknowledge, it never started. Abandoned (a cell left
      // running on a shared or local guest): the slot tells what it was running, which is
      // charged like a crash's.
      const reading = outcome === "abandoned" ? this.#read(endpoint) : { finished: -Infinity };
      const error = new Error(`Actor ${this.path} did not stop within ${timeoutMs} ms`);
      this.#settleLedger(reading as SlotReading, error, false);
    });
    return this.#recycling;
  }

  /** The actor stopped itself (`ctx.self.stop()`): end the incarnation, then tell the owner. */
  async #exit(): Promise<void> {
    if (this.#status !== "running") return;
    await this.recycle(this.options.shutdownMs);
    if ((this.#status as ActorStatus) === "down") this.#owner.exited(this);
  }

  /**
   * With `drainOnStop`: handles what is queued before stopping, for at most `timeoutMs`; new
   * messages are refused meanwhile. A crash ends the drain: the rest is dead-lettered.
   */
  async #drain(timeoutMs: number): Promise<void> {
    this.#draining = Promise.withResolvers<void>();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<void>((resolve) => timer = setTimeout(resolve, timeoutMs));
    this.#wake();
    await Promise.race([this.#draining.promise, timedOut]);
    clearTimeout(timer);
    this.#draining = undefined;
  }

  /**
   * Sets the stop flag and asks the guest to stop this incarnation. Past the timeout a dedicated
   * worker or subprocess is killed (`"killed"`); a cell on a shared or local guest is abandoned
   * (`"abandoned"`): it may go on running, under a wire id nothing listens to any more.
   */
  async #endIncarnation(
    timeoutMs: number,
    nominalMs = timeoutMs,
  ): Promise<"stopped" | "killed" | "abandoned"> {
    Atomics.store(this.slot, STOP, 1);
    const endpoint = this.#endpoint;
    if (!endpoint?.alive || !this.#inGuest) return "stopped";
    endpoint.post({ t: "stop", id: this.id });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), timeoutMs);
    });
    const outcome = await Promise.race([this.#guestStop.promise, timedOut]);
    clearTimeout(timer);
    if (outcome !== "timeout") return "stopped";
    const error = new Error(`Actor ${this.path} did not stop within ${nominalMs} ms`);
    if (endpoint.traits.dedicated) {
      endpoint.die(error); // calls lost(), which settles what the guest held
      return "killed";
    }
    // A shared or local guest carries other actors: leave the cell, forget it here.
    this.#inGuest = false;
    endpoint.detach(this);
    this.#endpoint = undefined;
    return "abandoned";
  }

  /**
   * Stops the actor for good: ends its incarnation as {@linkcode recycle} does, then rejects what
   * is left with `ActorStoppedError` and dead-letters the tells.
   */
  stop(options?: StopOptions): Promise<void> {
    const timeoutMs = options?.timeoutMs ?? this.options.shutdownMs;
    if (!(timeoutMs > 0)) {
      return Promise.reject(
        new RangeError(
          `Cannot stop ${this.path}: timeoutMs must be positive, received ${timeoutMs}`,
        ),
      );
    }
    this.#stopping ??= this.#stop(timeoutMs);
    return this.#stopping;
  }

  async #stop(timeoutMs: number): Promise<void> {
    clearTimeout(this.#overdueTimer);
    this.#overdueTimer = undefined;
    this.#cancelTimers();
    if (this.#status === "stopped") return;
    const wasStarting = this.#status === "starting";
    const wasRunning = this.#status === "running";
    this.#status = "stopping";
    this.#mailbox.close();
    await this.#owner.stopping?.(this, timeoutMs);
    if (this.#recycling) await this.#recycling;
    // One deadline for the whole stop: what the drain uses, onStop does not get again.
    const deadline = performance.now() + timeoutMs;
    if (this.options.drainOnStop && wasRunning) await this.#drain(timeoutMs);
    await this.#endIncarnation(Math.max(1, deadline - performance.now()), timeoutMs);
    if (wasStarting) this.#ready.reject(new ActorStoppedError(this.path));
    this.#status = "stopped";
    const endpoint = this.#endpoint;
    this.#endpoint = undefined;
    endpoint?.detach(this);
    this.#closeMailbox(new ActorStoppedError(this.path));
    this.#ended();
    this.#stopped.resolve();
    this.#owner.stopped(this);
  }

  #closeMailbox(error: Error): void {
    this.#mailbox.close();
    const left = [...this.#drainLedger(), ...this.#stash.drain(), ...this.#mailbox.drain()];
    this.#frameEnds.clear();
    for (const envelope of left) {
      if (envelope.reply) settle(envelope.reply, false, error);
      else this.#deadLetter(envelope, "stopped", error);
    }
  }

  // ---- dead letters -------------------------------------------------------------------------

  #drop(envelope: Envelope, reason: "overflow"): void {
    if (envelope.reply) {
      settle(envelope.reply, false, new MailboxFullError(this.options.capacity, this.path));
    }
    this.#deadLetter(envelope, reason, undefined);
  }

  /** The error of a message refused by a full mailbox. */
  #full(): MailboxFullError {
    return new MailboxFullError(this.options.capacity, this.path);
  }

  #deadLetter(envelope: Envelope, reason: DeadLetter["reason"], error: Error | undefined): void {
    this.#owner.deadLetter({
      path: this.path,
      kind: envelope.entry.kind,
      payload: envelope.payload,
      reason,
      error,
      errors: envelope.errors,
    });
  }
}

/** A value from an untrusted guest that would take a schema far longer to read than its size. */
function tooManyReads(path: string, kind: string, what: "reply " | ""): InvalidMessageError {
  return new InvalidMessageError(
    path,
    kind,
    `${what}(root): reaches the same objects from too many places to be validated`,
  );
}

function settle(reply: AskReply, ok: boolean, value: unknown): void {
  if (reply.settled) return;
  reply.settled = true;
  reply.cleanup?.();
  if (ok) reply.resolve(value);
  else reply.reject(value);
}

/** Gives a ref its own fields, read-only: exactly those of its cloned form. */
function brand(ref: object, data: RefData): void {
  Object.defineProperties(ref, {
    "~troupe": { value: "ref", enumerable: true },
    path: { value: data.path, enumerable: true },
    uid: { value: data.uid, enumerable: true },
    def: { value: data.def, enumerable: true },
  });
}

/** The public face of an actor: only the `ActorRef` methods. */
class Ref<P extends Protocol> {
  // Own fields are exactly a ref's cloned form (plus its status, read when it is cloned): the
  // methods live on the prototype, so structured clone and the pipe carry a ref as data.
  declare readonly "~troupe": "ref";
  declare readonly path: string;
  declare readonly uid: string;
  declare readonly def: string;
  declare readonly status: RefStatus;
  readonly #core: ActorCore;

  constructor(core: ActorCore) {
    this.#core = core;
    brand(this, { "~troupe": "ref", path: core.path, uid: core.uid, def: definitionKey(core.def) });
    Object.defineProperty(this, "status", { get: () => core.refStatus, enumerable: true });
  }

  tell(kind: string, msg: unknown, options?: TellOptions): void {
    this.#core.tell(kind, msg, options);
  }

  send(kind: string, msg: unknown, options?: SendOptions): Promise<void> {
    return this.#core.send(kind, msg, options);
  }

  // deno-lint-ignore no-explicit-any
  ask(kind: string, msg: unknown, options?: AskOptions): Promise<any> {
    return this.#core.ask(kind, msg, options);
  }

  stop(options?: StopOptions): Promise<void> {
    // From a local handler of this actor, or of a child it stops first: that stop waits for the
    // very handler asking, so it starts and the handler goes on (as `ctx.self.stop()` does).
    const caller = runningLocal();
    if (caller !== undefined && this.#core.stopsBefore(caller)) {
      this.#core.stop(options).catch(() => {});
      return Promise.resolve();
    }
    return this.#core.stop(options);
  }

  stopped(): Promise<ActorExit> {
    return this.#core.exited();
  }
}

/**
 * A ref whose actor is gone (or was never in this system): it behaves as the ref of a stopped
 * actor does. Tells are dead letters, sends and asks reject with `ActorStoppedError`.
 */
export class GoneRef {
  declare readonly "~troupe": "ref";
  declare readonly path: string;
  declare readonly uid: string;
  declare readonly def: string;
  readonly status: RefStatus = "stopped";
  readonly #exit: ActorExit;
  readonly #deadLetter: (letter: DeadLetter) => void;

  constructor(data: RefData, exit: ActorExit, deadLetter: (letter: DeadLetter) => void) {
    brand(this, data);
    this.#exit = exit;
    this.#deadLetter = deadLetter;
  }

  tell(kind: string, msg: unknown): void {
    const error = new ActorStoppedError(this.path);
    this.#deadLetter({ path: this.path, kind, payload: msg, reason: "stopped", error });
  }

  send(): Promise<void> {
    return Promise.reject(new ActorStoppedError(this.path));
  }

  // deno-lint-ignore no-explicit-any
  ask(): Promise<any> {
    return Promise.reject(new ActorStoppedError(this.path));
  }

  stop(): Promise<void> {
    return Promise.resolve();
  }

  stopped(): Promise<ActorExit> {
    return Promise.resolve(this.#exit);
  }
}
