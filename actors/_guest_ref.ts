/**
 * The refs a guest holds: every call goes to the host as a `call` frame, where the target's own
 * mailbox takes it (same bounds, delivery and dead letters as a call made on the host).
 *
 * Their own fields are exactly those of a ref's cloned form (`"~troupe"`, `path`, `uid`, `def`), so
 * a guest ref sent on in a message, a reply or a child's args arrives as a ref again.
 *
 * @module
 */

import { ActorStoppedError } from "../errors.ts";
import type { RefData } from "../mailbox/codec.ts";
import { deserializeError, type SerializedError } from "../mailbox/wire.ts";
import type { CallOp } from "../mailbox/wire.ts";
import type {
  ActorExit,
  ActorRef,
  AskOptions,
  RefStatus,
  SendOptions,
  TellOptions,
} from "./ref.ts";

const STATUSES: ReadonlySet<string> = new Set<RefStatus>([
  "starting",
  "running",
  "restarting",
  "stopping",
  "stopped",
]);

/** How a guest ref reaches the host. */
export interface RefCaller {
  /**
   * Sends a `call` frame for the actor `from` (the one whose handler holds the ref) and resolves
   * with the host's answer. Rejects at once when that actor is gone from this guest.
   */
  call(
    from: number,
    op: CallOp,
    kind: string,
    payload: unknown,
    options: AskOptions | undefined,
    to: RefData | undefined,
  ): Promise<unknown>;
}

/** What `RefCaller.call` returns for a tell that left: the host answers tells with nothing. */
export const TOLD: Promise<unknown> = Promise.resolve(undefined);

/** The cloned form of an `ActorExit`: its error travels serialized. */
export interface ExitData {
  reason: "stopped" | "crashed";
  error?: SerializedError;
  exitCode?: number;
}

/**
 * A ref held in a guest, to any actor of the system. `ctx.self` is one too, whose messages and
 * stop go the way of the actor's own (`ctx.self.stop()` is the actor stopping itself, which its
 * supervisor may answer with a restart).
 */
export class GuestRef {
  readonly "~troupe" = "ref" as const;
  readonly path: string;
  readonly uid: string;
  readonly def: string;
  readonly #caller: RefCaller;
  readonly #from: number;
  readonly #self: boolean;
  /** This ref's cloned form, the `to` of every call it makes: made once, not per message. */
  readonly #to: RefData;
  #status: RefStatus = "running";
  #exit: Promise<ActorExit> | undefined;

  constructor(caller: RefCaller, from: number, data: RefData, self = false) {
    this.path = data.path;
    this.uid = data.uid;
    this.def = data.def;
    this.#to = refData(data);
    // The status the sender knew when the ref was cloned: a hint, the host stays the authority.
    const status = (data as { status?: unknown }).status;
    if (typeof status === "string" && STATUSES.has(status)) this.#status = status as RefStatus;
    this.#caller = caller;
    this.#from = from;
    this.#self = self;
  }

  /** The last status known here: `"stopped"` once a call found the actor gone. */
  get status(): RefStatus {
    return this.#status;
  }

  #call(op: CallOp, kind: string, msg: unknown, options?: AskOptions): Promise<unknown> {
    const to = this.#self && op !== "stopped" ? undefined : this.#to;
    return this.#caller.call(this.#from, op, kind, msg, options, to).catch((error) => {
      if (error instanceof ActorStoppedError && error.path === this.path) this.#status = "stopped";
      throw error;
    });
  }

  tell(kind: string, msg: unknown, options?: TellOptions): void {
    // The host dead-letters what cannot be delivered; nothing to report here. A tell that left
    // resolves at once (`TOLD`): no promise to chain.
    const to = this.#self ? undefined : this.#to;
    const told = this.#caller.call(this.#from, "tell", kind, msg, options, to);
    if (told === TOLD) return;
    told.catch((error) => {
      if (error instanceof ActorStoppedError && error.path === this.path) this.#status = "stopped";
    });
  }

  send(kind: string, msg: unknown, options?: SendOptions): Promise<void> {
    return this.#call("send", kind, msg, options) as Promise<void>;
  }

  ask(kind: string, msg: unknown, options?: AskOptions): Promise<unknown> {
    return this.#call("ask", kind, msg, options);
  }

  async stop(options?: { timeoutMs?: number }): Promise<void> {
    await this.#call("stop", "", null, options);
    if (!this.#self) this.#status = "stopped";
  }

  stopped(): Promise<ActorExit> {
    this.#exit ??= this.#call("stopped", "", null, { timeoutMs: Infinity }).then(
      (data) => {
        this.#status = "stopped";
        return exitOf(data as ExitData);
      },
    );
    return this.#exit;
  }
}

/** Rebuilds an `ActorExit` from its cloned form. */
export function exitOf(data: ExitData): ActorExit {
  const exit: { reason: ActorExit["reason"]; error?: Error; exitCode?: number } = {
    reason: data.reason,
  };
  if (data.error !== undefined) exit.error = deserializeError(data.error);
  if (data.exitCode !== undefined) exit.exitCode = data.exitCode;
  return exit;
}

/** The cloned form of a ref, live or cloned. */
export function refData(ref: ActorRef | RefData): RefData {
  return { "~troupe": "ref", path: ref.path, uid: ref.uid, def: ref.def };
}

/** Typed as what it stands for. */
export function asRef(ref: GuestRef): ActorRef {
  return ref as unknown as ActorRef;
}
