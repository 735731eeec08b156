/**
 * What a handler knows of the actor it runs in.
 *
 * @module
 */

import type { ActorDefinition, Protocol, TellKeys } from "./define.ts";
import type { In } from "./define.ts";
import type { ActorRef } from "./ref.ts";
import type { Placement } from "./placement.ts";

/**
 * Options of `ctx.spawn`: those of `system.spawn` (placement, mailbox, delivery, timeouts,
 * permissions…), validated on the host the same way.
 */
export interface ChildSpawnOptions<A = unknown> {
  /** The child's name: its path is `${ctx.path}/${name}`. Defaults to the definition's name. */
  name?: string;
  /** What the child's `init` receives; refs in it arrive working. */
  args?: A;
  /**
   * `"transient"` (default: restarted after a crash, not after a normal stop), `"permanent"` or
   * `"temporary"`.
   */
  restart?: "permanent" | "transient" | "temporary";
  /** Where the child runs: `"worker"` (default), `"local"` (the host's thread), `"shared"`, `"process"`. */
  placement?: Placement;
  /** Any other option `system.spawn` takes (`mailbox`, `delivery`, `askTimeoutMs`, …). */
  [option: string]: unknown;
}

/**
 * Timers that send this actor a message of its own protocol later (Akka's `TimerScheduler`). They
 * live on the host, next to the mailbox, so fake time in tests drives them; their messages join
 * the mailbox and are validated like any other. A key names one timer: starting a timer under a
 * key cancels the earlier one. Every timer is cancelled when the incarnation that started it
 * stops or crashes.
 *
 * @typeParam P The actor's protocol.
 */
export interface ActorTimers<P extends Protocol = Protocol> {
  /**
   * Sends `kind` with `msg` once, after `ms` milliseconds.
   *
   * @throws {TypeError} When `kind` is not a tell of the protocol, or `ms` is not a finite number
   * of at least 0.
   * @throws {InvalidMessageError} When `msg` does not match the kind's schema.
   */
  once<K extends TellKeys<P>>(key: string, kind: K, msg: In<P[K]>, ms: number): void;
  /** Sends `kind` with `msg` every `ms` milliseconds (at least 1), first after `ms`. */
  every<K extends TellKeys<P>>(key: string, kind: K, msg: In<P[K]>, ms: number): void;
  /** Cancels the timer under `key`, if any. */
  cancel(key: string): void;
}

/** A logger that prefixes each line with the actor's path. */
export interface ActorLogger {
  /** Logs at debug level. */
  debug(...data: unknown[]): void;
  /** Logs at info level. */
  info(...data: unknown[]): void;
  /** Logs at warn level. */
  warn(...data: unknown[]): void;
  /** Logs at error level. */
  error(...data: unknown[]): void;
}

/**
 * Which delivery of the current message a handler is running: `ctx.delivery`.
 *
 * @example Noticing a redelivery
 * ```ts
 * import { defineActor } from "@troupe/troupe";
 * import { z } from "zod";
 *
 * export const Jobs = defineActor({
 *   name: "jobs",
 *   url: import.meta.url,
 *   protocol: { run: z.object({ id: z.number() }) },
 *   init: () => ({}),
 *   handlers: {
 *     run(_state, msg, ctx) {
 *       const { attempt, maxDeliveries } = ctx.delivery;
 *       if (attempt > 1) ctx.log.warn(`job ${msg.id}: attempt ${attempt} of ${maxDeliveries}`);
 *     },
 *   },
 * });
 * ```
 */
export interface DeliveryInfo {
  /**
   * 1 for the first delivery; one more for each earlier delivery that was charged (a crash while
   * it ran, with `delivery: "at_least_once"`). A redelivery after a crash that struck while the
   * message was only prefetched, not started, is not counted.
   */
  readonly attempt: number;
  /**
   * The actor's `maxDeliveries` with `delivery: "at_least_once"` (after that many charged
   * deliveries the message is quarantined), and 1 with `"at_most_once"`.
   */
  readonly maxDeliveries: number;
}

/**
 * The context every `init`, handler, `onStop` and `onRestart` receives.
 *
 * @typeParam P The actor's protocol.
 */
export interface ActorContext<P extends Protocol = Protocol> {
  /** A reference to this actor; messages sent through it join the back of its mailbox. */
  readonly self: ActorRef<P>;
  /** The actor's path from the root. */
  readonly path: string;
  /** Aborted when this incarnation of the actor stops or crashes. */
  readonly signal: AbortSignal;
  /**
   * Whether the actor has been asked to stop: a read of a shared-memory flag, cheap enough to call
   * in every iteration of a long synchronous loop, which cannot see `signal` abort.
   */
  shouldStop(): boolean;
  /**
   * Tells the host that the running handler is making progress: its `handlerTimeoutMs` counts
   * from now again. A cheap write to shared memory for the `"worker"`, `"shared"` and `"local"`
   * placements; it has no effect in a `"process"` actor, whose limit counts from the message's
   * delivery (or the previous message's acknowledgement, whichever is later).
   */
  working(): void;
  /**
   * Which delivery of the current message this is, `{ attempt, maxDeliveries }`: a handler can
   * tell a retry from a first run, or give up gracefully on the last attempt. It travels with
   * the delivery; in `init`, `onStop` and `onRestart` it describes the last message handled (or
   * `{ attempt: 1 }` before any).
   */
  readonly delivery: DeliveryInfo;
  /** Logs with the actor's path as prefix. */
  readonly log: ActorLogger;
  /**
   * The actor that spawned this one with `ctx.spawn`; `undefined` under a supervisor. Typed by no
   * protocol (a definition cannot know who will spawn it): narrow it where the parent is known,
   * `ctx.parent as ActorRef<typeof Parent.protocol>`, or pass the parent's ref in `args` with a
   * `refOf` schema.
   */
  readonly parent: ActorRef | undefined;
  /**
   * Finds the actor at `path`, as `system.lookup` does, from any placement (a round trip to the
   * host, hence a promise).
   *
   * @throws {TypeError} When no actor runs at `path`, or it is of another definition.
   */
  lookup<Q extends Protocol, A, S>(
    def: ActorDefinition<Q, A, S>,
    path: string,
  ): Promise<ActorRef<Q>>;
  /**
   * Spawns a child supervised by this actor, at `${ctx.path}/${name}`, in any placement. The
   * child is restarted per its `restart` type; it is stopped before this actor stops, and when
   * this actor restarts (as Akka's `preRestart` does). Children that crash more often than the
   * default restart intensity allows (10 in 5 s) make this actor crash. The child's module must be
   * imported on the host (a guest cannot make the host load code): importing it from this
   * actor's module is enough. An actor spawned with `permissions` passes them on: its children
   * run with the same, and never in the `"local"` or `"shared"` placement (the host's rights).
   *
   * @throws {TypeError} When an option is invalid, the name is taken, or the definition is not
   * known on the host.
   * @throws {SpawnError} When the child's `init` fails.
   */
  spawn<Q extends Protocol, A, S>(
    def: ActorDefinition<Q, A, S>,
    ...options: undefined extends A ? [options?: ChildSpawnOptions<A>]
      : [options: ChildSpawnOptions<A> & { args: A }]
  ): Promise<ActorRef<Q>>;
  /**
   * Watches another actor (Erlang's `monitor`, Akka's `watch`): when it is gone for good, this
   * actor's `onDown` runs with `{ path, reason, error? }`, once. Watching an actor that is gone
   * already reports at once. Restarts of either side keep the watch.
   */
  watch(ref: ActorRef): void;
  /** Stops watching; an `onDown` already queued still runs. */
  unwatch(ref: ActorRef): void;
  /** Timers that send this actor messages later; see {@linkcode ActorTimers}. */
  readonly timers: ActorTimers<P>;
  /**
   * Sets the message being handled aside (Akka's `StashBuffer`): once the handler ends, the
   * message counts as not handled yet. A stashed ask gets no reply now, whatever the handler
   * returns: it is answered by the handler that runs it again after {@linkcode unstashAll} (and
   * its `askTimeoutMs` still runs meanwhile). Calling it again for the same message changes
   * nothing.
   *
   * The stash lives on the host, next to the mailbox: a restart (a crash, or a sibling's restart)
   * puts it back at the head of the mailbox, ahead of the messages redelivered; a final stop
   * dead-letters its tells (`"stopped"`) and rejects its asks with `ActorStoppedError`. It holds
   * at most `stashCapacity` messages (a spawn option, 1,000 by default): past that, `stash()`
   * returns `false` and the message becomes a dead letter `"overflow"` (an ask rejects with a
   * `MailboxFullError` whose owner is `"<path> (stash)"`). A stashed message is not charged a
   * delivery: `ctx.delivery.attempt` is the same when it runs again. A handler that stashes and
   * then throws crashes as any handler does: the crash wins, the message is not stashed, and it
   * is a dead letter `"crashed"` (or, with `delivery: "at_least_once"`, redelivered).
   *
   * @returns `true` when the message is in the stash, `false` when the stash was full. The guest
   * counts what it stashed; a stashed ask whose timeout fired before the host received it is not
   * kept, so near `stashCapacity` a `false` may be early (never late) until the next unstash.
   * @throws {TypeError} Outside a handler (in `init`, `onRestart`, `onStop`), or from the context
   * of an incarnation that is gone.
   *
   * @example Waiting for a connection before serving queries
   * ```ts
   * import { ActorSystem, ask, defineActor } from "@troupe/troupe";
   * import { equal } from "node:assert/strict";
   * import { z } from "zod";
   *
   * const Db = defineActor({
   *   name: "db",
   *   url: import.meta.url,
   *   protocol: {
   *     connected: z.object({}),
   *     query: ask(z.object({ sql: z.string() }), z.string()),
   *   },
   *   init: () => ({ online: false }),
   *   handlers: {
   *     connected(state, _msg, ctx) {
   *       state.online = true;
   *       ctx.unstashAll(); // the stashed queries run next, in the order they came
   *     },
   *     query(state, msg, ctx) {
   *       if (!state.online) {
   *         ctx.stash();
   *         return ""; // not sent: the ask is answered when the query runs again
   *       }
   *       return `rows of ${msg.sql}`;
   *     },
   *   },
   * });
   *
   * const system = await ActorSystem.start({ name: "app", heartbeat: false });
   * const db = await system.spawn(Db, { placement: "local" });
   * const answer = db.ask("query", { sql: "select 1" });
   * db.tell("connected", {});
   * equal(await answer, "rows of select 1");
   * await system.shutdown();
   * ```
   */
  stash(): boolean;
  /**
   * Puts every stashed message back at the head of the mailbox, in the order they were stashed,
   * ahead of everything queued (messages already prefetched by this actor's guest included). It
   * takes effect when the current handler ends, with the stash as it is then: a message that
   * stashed itself in the same handler comes back too. Nothing happens when the stash is empty.
   *
   * @throws {TypeError} Outside a handler, as {@linkcode stash}.
   */
  unstashAll(): void;
}
