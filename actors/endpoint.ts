/**
 * The host's end of the wire to one guest: a Web Worker, or the host's own thread.
 *
 * Frames queued in one tick leave in one `postMessage`: system frames as they are queued, then one
 * delivery frame per actor that has messages and room for them. Incoming frames are routed to the
 * actor they name.
 *
 * @module
 */

import { depthError, withinDepth } from "../mailbox/codec.ts";
import { checkFromGuest, serializeError, type ToGuest, type ToHost } from "../mailbox/wire.ts";
import { Guest, type GuestPort } from "./guest.ts";

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

/** Where the members of an endpoint run. */
export type EndpointKind = "local" | "worker" | "shared" | "process";

/** The host's end of the wire to one guest. */
export class Endpoint {
  readonly kind: EndpointKind;
  /**
   * Whether the guest is Troupe's own code on this thread (`"local"`): its frames are used as they
   * come. Frames from any other guest are checked first, and its replies validated again here.
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

  constructor(kind: EndpointKind, label: string, connect: (endpoint: Endpoint) => Link) {
    this.kind = kind;
    this.trusted = kind === "local";
    this.label = label;
    this.#link = connect(this);
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

  /** Removes an actor; a dedicated worker ends with its last actor. */
  detach(member: EndpointMember): void {
    this.#members.delete(member.id);
    if (this.#members.size === 0 && (this.kind === "worker" || this.kind === "process")) {
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

  /** When the guest last sent anything (`performance.now()`), for heartbeats. */
  lastHeard: number = performance.now();
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
    this.lastHeard = performance.now();
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
        this.die(new Error(`The ${this.kind} guest exited with code ${frame.code}`), 100);
        return;
      }
      if (frame.t === "pong") continue;
      const member = this.#members.get(frame.id);
      if (member === undefined) continue;
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

/** A link to a guest in a Deno Web Worker. */
export function workerLink(
  endpoint: Endpoint,
  url: string,
  options: { name: string; permissions?: Deno.PermissionOptions },
): Link {
  const workerOptions: WorkerOptions & { deno?: { permissions: Deno.PermissionOptions } } = {
    type: "module",
    name: options.name,
  };
  if (options.permissions !== undefined) {
    workerOptions.deno = { permissions: options.permissions };
  }
  const worker = new Worker(url, workerOptions);
  worker.onmessage = (event: MessageEvent<unknown>) => endpoint.receive(event.data);
  worker.onerror = (event: ErrorEvent) => {
    event.preventDefault();
    const error = event.error instanceof Error ? event.error : new Error(event.message);
    endpoint.die(error);
  };
  worker.onmessageerror = () => {
    endpoint.die(new Error("A message from the worker could not be deserialized"));
  };
  return {
    post: (frames, transfer) => worker.postMessage(frames, transfer),
    terminate: () => worker.terminate(),
  };
}

/** A link to a guest on the host's own thread: frames are handed over without cloning. */
export function localLink(endpoint: Endpoint, load: GuestPort["load"]): Link {
  let open = true;
  const guest = new Guest({
    post: (frames) => {
      if (open) endpoint.receive(frames);
    },
    load,
  });
  return {
    post: (frames) => guest.receive(frames),
    terminate: () => {
      open = false;
    },
  };
}
