/**
 * The host's end of the wire to one guest (a Web Worker, a subprocess, or the host's own thread),
 * and the {@linkcode Link} interface every placement's link module implements (`links/`).
 *
 * Frames queued in one tick leave in one `postMessage`: system frames as they are queued, then one
 * delivery frame per actor that has messages and room for them. Incoming frames are routed to the
 * actor they name.
 *
 * @module
 */

import { liveClock } from "./_clock.ts";
import { depthError, withinDepth } from "../mailbox/codec.ts";
import { checkFromGuest, serializeError, type ToGuest, type ToHost } from "../mailbox/wire.ts";
import type { Placement } from "./placement.ts";

/** What an endpoint needs from each actor it serves. */
export interface EndpointMember {
  readonly id: number;
  /** Appends this actor's delivery frame for the tick, if it has messages and room. */
  pump(endpoint: Endpoint): void;
  /** Handles a frame the guest sent for this actor. */
  receive(frame: ToHost): void;
  /**
   * Why a well-formed frame from an untrusted guest cannot be right for this actor (a sequence
   * number it never delivered, say), or `undefined`.
   */
  check(frame: ToHost): string | undefined;
  /** The guest is gone (its worker died or was killed); `error` says why. */
  lost(error: Error): void;
  /** A delivery frame could not be cloned: deliver its messages one by one, failing the bad ones. */
  undeliverable(frame: Extract<ToGuest, { t: "deliver" }>, post: (f: ToGuest) => void): void;
}

/** The two directions of a link, with a way to end it. */
export interface Link {
  post(frames: ToGuest[], transfer: Transferable[]): void;
  /** Ends the guest now. */
  terminate(): void;
}

/**
 * What the host may rely on about a placement's guests. Each link module (`links/*.ts`) declares
 * its own; the core reads these, never the placement's name.
 */
export interface PlacementTraits {
  /**
   * One guest per actor: the guest ends with its actor (detaching the last member closes it), and
   * ending it affects no other actor. False when guests carry many actors (`"shared"`,
   * `"local"`).
   */
  readonly dedicated: boolean;
  /**
   * Ending the guest ends its code for certain, even a handler in a synchronous loop (a subprocess
   * gets SIGKILL). False for Web Workers: `worker.terminate()` leaves such a thread running.
   */
  readonly killable: boolean;
  /**
   * The guest is Troupe's own code on the host's thread: its frames are used as they come,
   * unchecked, and its replies are not validated a second time. Only such a guest is trusted, so
   * an untrusted guest is also one with a thread of its own.
   */
  readonly trusted: boolean;
  /**
   * The guest shares memory with the host: a `SharedArrayBuffer` crosses as itself, so the actor's
   * slot (stop flag, running and finished seqs) is read on the host, and `SharedEvent`,
   * `SharedQueue` and `sharedArray` work. False across a process boundary.
   */
  readonly sharesMemory: boolean;
}

/** The host's end of the wire to one guest. */
export class Endpoint {
  /** The placement of its guest, for messages. */
  readonly kind: Placement;
  /** What the guest's placement lets the host rely on. */
  readonly traits: PlacementTraits;
  /**
   * Whether the guest is Troupe's own code on this thread (`traits.trusted`): its frames are used
   * as they come. Frames from any other guest are checked first, and its replies validated again.
   */
  readonly trusted: boolean;
  readonly #members = new Map<number, EndpointMember>();
  #link: Link | undefined;
  #out: ToGuest[] = [];
  #transfer: Transferable[] = [];
  #pumps: EndpointMember[] = [];
  #scheduled = false;
  #closed = false;
  #error: Error | undefined;

  /** Called once the endpoint has no member left and was closed, or died. */
  onClose: ((endpoint: Endpoint) => void) | undefined;

  /** A name for messages: the first actor's path, or the shared worker's name. */
  readonly label: string;

  constructor(
    kind: Placement,
    traits: PlacementTraits,
    label: string,
    connect: (endpoint: Endpoint) => Link,
  ) {
    this.kind = kind;
    this.traits = traits;
    this.trusted = traits.trusted;
    this.label = label;
    this.#link = connect(this);
  }

  /**
   * Whether ending this guest may leave a thread running: it is not killable for certain, and it
   * has a thread of its own (it is not the host's, which only a trusted guest runs on).
   */
  get leavesThread(): boolean {
    return !this.traits.killable && !this.traits.trusted;
  }

  /** Whether the guest is still there. */
  get alive(): boolean {
    return !this.#closed;
  }

  /** Why the guest is gone, if it died. */
  get error(): Error | undefined {
    return this.#error;
  }

  /** How many actors this endpoint serves. */
  get size(): number {
    return this.#members.size;
  }

  /** Adds an actor. */
  attach(member: EndpointMember): void {
    this.#members.set(member.id, member);
  }

  /** Moves an actor to its new wire id (a new cell in the same guest). */
  rekey(member: EndpointMember, oldId: number): void {
    if (this.#members.get(oldId) === member) this.#members.delete(oldId);
    this.#members.set(member.id, member);
  }

  /** Removes an actor; a dedicated guest ends with its last actor. */
  detach(member: EndpointMember): void {
    this.#members.delete(member.id);
    if (this.#members.size === 0 && this.traits.dedicated) {
      this.close();
    }
  }

  /** Queues a frame for this tick. */
  post(frame: ToGuest, transfer?: Transferable[]): void {
    if (this.#closed) return;
    this.#out.push(frame);
    if (transfer !== undefined) { for (const t of transfer) this.#transfer.push(t); }
    this.#schedule();
  }

  /** Asks for `member.pump` to run at the end of this tick. */
  schedulePump(member: EndpointMember): void {
    if (this.#closed) return;
    this.#pumps.push(member);
    this.#schedule();
  }

  /** When the guest last sent anything (`liveClock.now()`), for heartbeats. */
  lastHeard: number = liveClock.now();
  /** Whether the guest has sent anything yet: until then it is still loading its modules. */
  heard = false;
  #pings = 0;

  /** Sends a heartbeat ping; the guest answers when its event loop is free. */
  ping(): void {
    this.post({ t: "ping", n: ++this.#pings });
  }

  /**
   * Handles frames from the guest. From an untrusted guest the batch is checked before any of it is
   * used, and each frame again by the actor it names: a malformed frame is the guest's crash (it
   * dies, its actors restart), never an exception on this thread.
   */
  receive(frames: unknown): void {
    this.lastHeard = liveClock.now();
    this.heard = true;
    if (this.trusted) return this.#route(frames as ToHost[]);
    const problem = checkFromGuest(frames);
    if (problem !== undefined) return this.#malformed(problem);
    try {
      this.#route(frames as ToHost[]);
    } catch (error) {
      // Nothing a guest sends may throw on the host: whatever did, the guest is at fault.
      const reason = error instanceof Error ? error.message : "unknown error";
      this.#malformed(`handling it threw (${reason})`, error);
    }
  }

  #route(frames: ToHost[]): void {
    for (const frame of frames) {
      if (this.#closed) return;
      if (frame.t === "fault") {
        const error = new Error(`Uncaught error in a ${this.kind} guest: ${frame.error.message}`);
        error.stack = frame.error.stack;
        this.die(error);
        return;
      }
      if (frame.t === "exit") {
        // The guest is going anyway: end the link after the restart got going, since
        // `worker.terminate()` blocks this thread for milliseconds.
        const error = new Error(`The ${this.kind} guest exited with code ${frame.code}`);
        // `ref.stopped()` of an actor that ended this way reports the code.
        this.die(Object.assign(error, { exitCode: frame.code }), 100);
        return;
      }
      if (frame.t === "pong") continue;
      const member = this.#members.get(frame.id);
      if (member === undefined) {
        // No actor of that id here (gone, or never): a call still gets its answer, so the guest's
        // caller does not wait for ever.
        if (frame.t === "call") {
          const error = new TypeError(
            `Cannot serve a call of actor ${frame.id}: not on this guest`,
          );
          this.post({ t: "result", call: frame.call, ok: false, value: serializeError(error) });
        }
        continue;
      }
      if (!this.trusted) {
        const problem = member.check(frame);
        if (problem !== undefined) return this.#malformed(problem);
      }
      member.receive(frame);
    }
  }

  /** The guest sent something it never could have: it dies, and its actors with it. */
  #malformed(problem: string, cause?: unknown): void {
    this.die(
      new Error(`The ${this.kind} guest ${this.label} sent a malformed frame: ${problem}`, {
        cause,
      }),
    );
  }

  /**
   * The guest died or must be abandoned: ends it and tells every member.
   *
   * @param error Why.
   * @param terminateAfterMs When the guest is known to be gone, end the link this much later.
   */
  die(error: Error, terminateAfterMs = 0): void {
    if (this.#closed) return;
    this.#error = error;
    this.#end(terminateAfterMs);
    const members = [...this.#members.values()];
    this.#members.clear();
    for (const member of members) member.lost(error);
    this.onClose?.(this);
  }

  /** Ends the guest once every member is gone. */
  close(): void {
    if (this.#closed) return;
    this.#flush();
    this.#end();
    this.onClose?.(this);
  }

  #end(terminateAfterMs = 0): void {
    this.#closed = true;
    this.#out = [];
    this.#transfer = [];
    this.#pumps = [];
    const link = this.#link;
    this.#link = undefined;
    if (terminateAfterMs === 0 || link === undefined) {
      link?.terminate();
      return;
    }
    const timer = setTimeout(() => this.finish(), terminateAfterMs);
    this.#pending = { timer, link };
  }

  #pending: { timer: ReturnType<typeof setTimeout>; link: Link } | undefined;

  /** Whether a termination was put off (see {@linkcode die}) and has not happened yet. */
  get finishing(): boolean {
    return this.#pending !== undefined;
  }

  /** Ends a link whose termination was put off, now. */
  finish(): void {
    const pending = this.#pending;
    this.#pending = undefined;
    if (pending === undefined) return;
    clearTimeout(pending.timer);
    pending.link.terminate();
    this.onFinish?.(this);
  }

  /** Called when a put-off termination has happened. */
  onFinish: ((endpoint: Endpoint) => void) | undefined;

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(this.#flush);
  }

  #flush = (): void => {
    this.#scheduled = false;
    if (this.#closed) return;
    const pumps = this.#pumps;
    if (pumps.length > 0) {
      this.#pumps = [];
      for (const member of pumps) member.pump(this);
    }
    if (this.#out.length === 0) return;
    const frames = this.#out;
    const transfer = this.#transfer;
    this.#out = [];
    this.#transfer = [];
    try {
      this.#link!.post(frames, transfer);
    } catch (error) {
      // A local guest clones nothing: it ran the frames it could, and posting them again would
      // run them twice. What it threw is a bug in Troupe, reported as such.
      if (this.trusted) throw error;
      // Whatever the post threw (a value structured clone refuses, one too deep for its stack):
      // frame by frame, so that only the bad messages fail. Nothing escapes into the microtask.
      this.#postEach(frames);
    }
  };

  /** After a failed post: posts frame by frame so that only the bad messages fail. */
  #postEach(frames: ToGuest[]): void {
    const postOne = (frame: ToGuest) => this.#link?.post([frame], []);
    for (const frame of frames) {
      if (this.#closed) return;
      try {
        postOne(frame);
      } catch (cause) {
        this.#unsent(frame, cause, postOne);
      }
    }
  }

  /** One frame could not be posted: fail what it carried, and keep the guest in step. */
  #unsent(frame: ToGuest, cause: unknown, postOne: (frame: ToGuest) => void): void {
    try {
      switch (frame.t) {
        case "deliver":
          this.#members.get(frame.id)?.undeliverable(frame, postOne);
          return;
        case "spawn": {
          const error = withinDepth(frame.args)
            ? new TypeError(`Cannot start ${frame.path}: its args could not be cloned`, { cause })
            : depthError(`Cannot start ${frame.path}`, "args");
          this.#members.get(frame.id)?.receive({
            t: "spawn_failed",
            id: frame.id,
            error: serializeError(error),
          });
          return;
        }
        case "result": {
          // The answer to a guest's call to ctx.self: the call fails instead.
          const error = new TypeError("Cannot send the result of a call: it could not be cloned", {
            cause,
          });
          postOne({ t: "result", call: frame.call, ok: false, value: serializeError(error) });
          return;
        }
        default:
          // A control frame (restart, stop, ping, warm) that cannot be posted: the link is broken.
          this.die(
            new Error(`Cannot send a "${frame.t}" frame to the ${this.kind} guest`, { cause }),
          );
      }
    } catch (error) {
      this.die(
        new Error(`Cannot send a "${frame.t}" frame to the ${this.kind} guest`, { cause: error }),
      );
    }
  }
}
