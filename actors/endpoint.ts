/**
 * The host's end of the wire to one guest: a Web Worker, or the host's own thread.
 *
 * Frames queued in one tick leave in one `postMessage`: system frames as they are queued, then one
 * delivery frame per actor that has messages and room for them. Incoming frames are routed to the
 * actor they name.
 *
 * @module
 */

import { serializeError, type ToGuest, type ToHost } from "../mailbox/wire.ts";
import { Guest, type GuestPort } from "./guest.ts";

/** What an endpoint needs from each actor it serves. */
export interface EndpointMember {
  readonly id: number;
  /** Appends this actor's delivery frame for the tick, if it has messages and room. */
  pump(endpoint: Endpoint): void;
  /** Handles a frame the guest sent for this actor. */
  receive(frame: ToHost): void;
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

  /** Handles frames from the guest. */
  receive(frames: ToHost[]): void {
    this.lastHeard = performance.now();
    this.heard = true;
    for (const frame of frames) {
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
      this.#members.get(frame.id)?.receive(frame);
    }
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
      if (!(error instanceof DOMException && error.name === "DataCloneError")) throw error;
      this.#postEach(frames);
    }
  };

  /** After a clone failure: posts frame by frame so that only the bad messages fail. */
  #postEach(frames: ToGuest[]): void {
    const postOne = (frame: ToGuest) => this.#link?.post([frame], []);
    for (const frame of frames) {
      try {
        postOne(frame);
      } catch (cause) {
        if (frame.t === "deliver") this.#members.get(frame.id)?.undeliverable(frame, postOne);
        if (frame.t === "spawn") {
          const error = new TypeError(`Cannot start ${frame.path}: its args could not be cloned`, {
            cause,
          });
          this.#members.get(frame.id)?.receive({
            t: "spawn_failed",
            id: frame.id,
            error: serializeError(error),
          });
        }
      }
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
  worker.onmessage = (event: MessageEvent<ToHost[]>) => endpoint.receive(event.data);
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
