/**
 * The actor system: the root of the tree, the registry of paths, dead letters, events, and
 * shutdown.
 *
 * @module
 */

import {
  ActorCore,
  type ActorHost,
  type ActorStats,
  type DeadLetter,
  type Delivery,
  GoneRef,
  type Placement,
} from "../actors/actor.ts";
import type { ActorDefinition, Protocol } from "../actors/define.ts";
import { definitionKey, knownDefinition } from "../actors/define.ts";
import type { ActorExit } from "../actors/ref.ts";
import { PLACEMENTS, Placements } from "../actors/placement.ts";
import type { ActorRef } from "../actors/ref.ts";
import { Deque } from "../_util.ts";
import type { OverflowPolicy } from "../mailbox/mailbox.ts";
import { Deadlines } from "../_util.ts";
import { refuseWhileLoading } from "../actors/_loading.ts";
import { type ParsedActorOptions, resolveActorOptions } from "./_options.ts";
import { EventStream, type SystemEvents } from "./events.ts";
import { observe, type ObserveOptions, type Observer, type SystemSnapshot } from "./observe.ts";
import type { RestartType } from "./policy.ts";
import {
  type ChildOptions,
  type ChildSpec,
  makeChild,
  supervisor,
  type SupervisorSpec,
} from "./spec.ts";
import { Supervisor } from "./supervisor.ts";

/** How many ended actors the system remembers, for refs to them that arrive later. */
const ENDS_KEPT = 10_000;

/** Where and how one actor runs: the options `system.spawn` and child specs share. */
export interface ActorSettings {
  /**
   * Where the actor runs: the caller's thread, its own Web Worker, one of the shared workers, or a
   * `deno` subprocess of its own.
   *
   * @default {"worker"}
   */
  placement?: Placement;
  /** The bound of its mailbox and what happens when the mailbox is full. */
  mailbox?: {
    /**
     * How many messages may wait.
     *
     * @default {1000}
     */
    capacity?: number;
    /**
     * What a full mailbox does with a new message: `send` waits (`"backpressure"`), is refused
     * with `MailboxFullError` (`"drop_newest"`, `"reject"`), or is queued while the oldest message
     * becomes a dead letter (`"drop_oldest"`); see {@linkcode OverflowPolicy}.
     *
     * @default {"backpressure"}
     */
    overflow?: OverflowPolicy;
  };
  /**
   * How many messages the guest may hold taken but not yet acknowledged. A larger window batches
   * more messages per transfer. When the guest dies, the prefetched messages that had not started
   * go back to the front of the mailbox uncharged, under either `delivery`, for `"worker"`,
   * `"shared"` and `"local"` actors; a `"process"` actor shares no memory with the host, so there
   * every unacknowledged message counts as in flight and is charged (keep its `prefetch` small
   * when deaths are expected, or use at least once with a `maxDeliveries` above 1).
   *
   * @default {1024}
   */
  prefetch?: number;
  /**
   * What a crash does to the message that was running (only that one: prefetched messages that
   * had not started are redelivered uncharged, and a message whose handler finished is never
   * reported dead). `"at_most_once"`: it becomes a dead letter `"crashed"` (an ask rejects), so
   * a message never runs twice, but one that was running when the guest died is not retried.
   * `"at_least_once"`: it is charged one delivery and redelivered first, so it may run twice (a
   * handler that had done its work but not returned when its guest died); after `maxDeliveries`
   * charged deliveries it is quarantined. Handlers see the attempt in `ctx.delivery`.
   *
   * @default {"at_most_once"}
   */
  delivery?: Delivery;
  /**
   * With `"at_least_once"`: after this many charged deliveries (crashes, deaths of its guest, or
   * timeouts while it ran) a message is quarantined to dead letters with every error it caused.
   * Deliveries that never started are not charged.
   *
   * @default {3}
   */
  maxDeliveries?: number;
  /**
   * A handler running longer than this, in milliseconds, counts as a crash with a
   * `HandlerTimeoutError` (and a `crashed` event); its message is charged per `delivery`. The
   * limit counts from the message's start or the handler's last `ctx.working()`, and is checked
   * on every heartbeat tick (once a second by default, even with heartbeats off), then the guest
   * gets a grace period (4 ticks, at least 1 s) to show whether its thread still turns, so the
   * crash comes up to a tick plus that grace after the limit. An async handler past it is abandoned (its `ctx.signal` aborts and its
   * later answers are ignored) and the actor restarts in the same guest; a synchronous one
   * blocks its thread, so the guest is replaced: a subprocess is SIGKILLed, a worker terminated
   * and its thread counted as abandoned (a `hung` event). On a shared worker that replaces the
   * whole worker, so its other actors restart too; a `"local"` actor's synchronous handler
   * blocks the host itself and cannot be noticed. In a `"process"` actor the limit counts from
   * the message's delivery or the previous message's acknowledgement, whichever is later, and
   * `ctx.working()` does not extend it. Off by default.
   */
  handlerTimeoutMs?: number;
  /**
   * The default timeout of an ask to this actor, in milliseconds.
   *
   * @default {5000}
   */
  askTimeoutMs?: number;
  /**
   * Deno permissions of a `"worker"` actor's worker or a `"process"` actor's subprocess; a worker
   * inherits the caller's by default, a subprocess gets none (it can still load its modules).
   */
  permissions?: Deno.PermissionOptions;
  /** For `"process"`: the subprocess's V8 heap limit in MiB; past it the process dies, a crash. */
  maxHeapMb?: number;
  /**
   * On a final stop (a shutdown, `ref.stop()`), handle the messages already queued first, within
   * the stop's timeout, instead of dead-lettering them. New messages are refused meanwhile.
   *
   * @default {false}
   */
  drainOnStop?: boolean;
  /**
   * How many messages `ctx.stash()` may set aside at once; a stash past it makes that message a
   * dead letter `"overflow"` (an ask rejects with `MailboxFullError`) and `stash()` returns `false`.
   *
   * @default {1000}
   */
  stashCapacity?: number;
}

/**
 * Options of {@linkcode ActorSystem.spawn}.
 *
 * @typeParam A The arguments the actor's `init` takes.
 */
export interface SpawnOptions<A = unknown> extends ActorSettings {
  /** The child's id under its supervisor; defaults to the definition's name, numbered if taken. */
  name?: string;
  /** What `init` receives; must be cloneable for worker and process placements. */
  args?: A;
  /**
   * When the actor is restarted: a spawned actor is restarted after a crash, not after it stops
   * itself.
   *
   * @default {"transient"}
   */
  restart?: RestartType;
  /**
   * How long the actor may take to stop before it is killed, in milliseconds.
   *
   * @default {5000}
   */
  shutdownMs?: number;
  /**
   * Keep a pre-spawned worker ready, for a fast restart after the worker dies.
   *
   * @default {false}
   */
  spare?: boolean;
}

/** Heartbeats: how a silent guest (a hung or vanished worker or subprocess) is noticed. */
export interface HeartbeatOptions {
  /**
   * How often each guest is pinged, in milliseconds.
   *
   * @default {1000}
   */
  intervalMs?: number;
  /**
   * A guest silent for longer is declared hung: its actors crash with `HungError` and restart in a
   * new guest. A synchronous handler longer than this is taken for a hang. A new guest gets at
   * least 30 s to load its modules and answer for the first time.
   *
   * @default {10000}
   */
  timeoutMs?: number;
}

/** Options of {@linkcode ActorSystem.start}. */
export interface SystemOptions {
  /** The system's name, used in logs and worker names. */
  name: string;
  /**
   * The supervision tree to start; its children start in order before `start` resolves.
   *
   * @default {supervisor()}
   */
  root?: SupervisorSpec;
  /**
   * OS signals that shut the system down gracefully; a second one, later, forces an immediate
   * kill and exits the process with code 130. Signals a few milliseconds apart count as one (a
   * child under `deno task` receives SIGINT twice).
   *
   * @default {[]}
   */
  signals?: Deno.Signal[];
  /**
   * Heartbeats to notice hung guests, or `false` to turn them off.
   *
   * @default {{ intervalMs: 1000, timeoutMs: 10000 }}
   */
  heartbeat?: HeartbeatOptions | false;
  /**
   * How many shared workers carry `"shared"` actors.
   *
   * @default {navigator.hardwareConcurrency}
   */
  sharedWorkers?: number;
  /**
   * How many dead letters `deadLetters()` keeps (the count covers all of them).
   *
   * @default {1000}
   */
  deadLetterBuffer?: number;
}

/** Options of {@linkcode ActorSystem.shutdown}. */
export interface ShutdownOptions {
  /**
   * How long each actor's `onStop` may take before it is killed, in milliseconds; each child's own
   * `shutdownMs` applies when this is not given.
   */
  timeoutMs?: number;
}

/** A snapshot of the system's figures. */
export interface SystemStats {
  /** The system's name. */
  readonly name: string;
  /** One entry per live actor, in tree order. */
  readonly actors: readonly ActorStats[];
  /** Dead letters since the system started. */
  readonly deadLetters: number;
  /** Live guests (workers, subprocesses, the in-thread guest) carrying actors. */
  readonly endpoints: number;
  /** Worker threads given up as hung; Deno cannot stop a thread spinning in a synchronous loop. */
  readonly abandonedThreads: number;
}

/** A handle on a supervisor of the tree, to spawn dynamic children under it. */
export interface SupervisorRef {
  /** The supervisor's path. */
  readonly path: string;
  /** Its children's ids, in start order. */
  children(): readonly string[];
  /**
   * Spawns an actor under this supervisor.
   *
   * @throws {TypeError} When an option has the wrong type or the id is taken.
   * @throws {RangeError} When an option is out of range.
   * @throws {SpawnError} When the module did not load or `init` threw.
   */
  spawn<P extends Protocol, A, S>(
    def: ActorDefinition<P, A, S>,
    ...options: undefined extends A ? [options?: SpawnOptions<A>]
      : [options: SpawnOptions<A> & { args: A }]
  ): Promise<ActorRef<P>>;
}

/**
 * An actor system: the root of the supervision tree. It starts the tree, spawns dynamic actors,
 * finds them by path, reports events and dead letters, notices hung guests, and shuts everything
 * down leaves first in reverse start order. Use `await using` so that it always closes.
 *
 * @example A counter on the caller's thread
 * ```ts
 * import { ActorSystem, ask, defineActor } from "@troupe/troupe";
 * import { z } from "zod";
 * import { equal } from "node:assert/strict";
 *
 * export const Counter = defineActor({
 *   name: "counter",
 *   url: import.meta.url,
 *   protocol: { add: z.object({ n: z.number().int() }), get: ask(z.object({}), z.number()) },
 *   init: (args: { start: number }) => ({ count: args.start }),
 *   handlers: {
 *     add(state, msg) {
 *       state.count += msg.n;
 *     },
 *     get: (state) => state.count,
 *   },
 * });
 *
 * await using system = await ActorSystem.start({ name: "doc" });
 * const counter = await system.spawn(Counter, { args: { start: 1 }, placement: "local" });
 * counter.tell("add", { n: 2 });
 * equal(await counter.ask("get", {}), 3);
 * ```
 */
export class ActorSystem implements AsyncDisposable {
  /** The system's name. */
  readonly name: string;
  readonly #events: EventStream = new EventStream();

  readonly #placements: Placements;
  readonly #actors = new Map<string, ActorCore>();
  /** The live actors by their spawn's uid: what a ref from a guest names. */
  readonly #byUid = new Map<string, ActorCore>();
  /** How the most recent actors that are gone ended, by uid (at most `ENDS_KEPT`). */
  readonly #ends = new Map<string, ActorExit>();
  readonly #host: ActorHost = {
    resolve: (data) => {
      const core = this.#byUid.get(data.uid);
      if (core !== undefined) return core.ref;
      const exit = this.#ends.get(data.uid) ?? { reason: "stopped" };
      return new GoneRef(data, exit, (letter) => this.#deadLetter(letter)) as unknown as ActorRef;
    },
    core: (uid) => this.#byUid.get(uid),
    ended: (uid) => this.#ends.get(uid),
    lookup: (path, def) => {
      const core = this.#actors.get(path);
      if (core === undefined) throw new TypeError(`Cannot find actor ${path}`);
      if (definitionKey(core.def) !== def) {
        const name = def.slice(def.lastIndexOf("#") + 1);
        throw new TypeError(`Actor ${path} is a "${core.def.name}", not a "${name}"`);
      }
      return core.ref;
    },
    spawn: (parent, def, options) => this.#spawnChild(parent, def, options),
    deadLetter: (letter) => this.#deadLetter(letter),
  };
  readonly #deadLetters: Deque<DeadLetter> = new Deque();
  readonly #deadLetterBuffer: number;
  readonly #controller = new AbortController();
  readonly #closed = Promise.withResolvers<Error | undefined>();
  readonly #deadlines = new Deadlines();
  readonly #root: Supervisor;
  readonly #signals: Deno.Signal[];
  readonly #onSignal = () => this.#signal();
  #stopHeartbeat: (() => void) | undefined;
  #deadLetterCount = 0;
  #abandoned = 0;
  #firstSignal = -Infinity;
  #shutdown: Promise<void> | undefined;
  readonly #observers = new Set<Observer>();

  private constructor(options: SystemOptions, root: SupervisorSpec) {
    this.name = options.name;
    this.#placements = new Placements(options.sharedWorkers ?? navigator.hardwareConcurrency);
    this.#deadLetterBuffer = options.deadLetterBuffer ?? 1_000;
    this.#signals = options.signals ?? [];
    this.#root = new Supervisor("/", root, {
      events: this.#events,
      createActor: (spec, path, owner) => this.#createActor(spec, path, owner),
      release: (path, core) => {
        if (this.#actors.get(path) === core) this.#actors.delete(path);
        if (this.#byUid.get(core.uid) === core) this.#byUid.delete(core.uid);
        this.#ends.set(core.uid, core.end ?? { reason: "stopped" });
        if (this.#ends.size > ENDS_KEPT) this.#ends.delete(this.#ends.keys().next().value!);
      },
      deadLetter: (letter) => this.#deadLetter(letter),
      now: () => performance.now(),
    }, (error) => void this.#stopAll(undefined, error));
  }

  /**
   * Starts an actor system and its supervision tree.
   *
   * @param options The system's name, its tree and settings.
   * @returns The running system, once every child of the tree has started.
   * @throws {TypeError} When the name is missing or `root` is not a supervisor spec.
   * @throws {RangeError} When a number is out of range.
   * @throws {SpawnError} When a child of the tree failed to start (the others are stopped).
   */
  static async start(options: SystemOptions): Promise<ActorSystem> {
    refuseWhileLoading("an actor system");
    if (typeof options?.name !== "string" || options.name === "") {
      throw new TypeError("Cannot start actor system: name must be a non-empty string");
    }
    const where = `Cannot start actor system "${options.name}"`;
    for (const field of ["sharedWorkers", "deadLetterBuffer"] as const) {
      const value = options[field];
      if (value !== undefined && !(Number.isInteger(value) && value > 0)) {
        throw new RangeError(`${where}: ${field} must be a positive integer, received ${value}`);
      }
    }
    const heartbeat = options.heartbeat ?? {};
    if (heartbeat !== false) {
      for (const field of ["intervalMs", "timeoutMs"] as const) {
        const value = heartbeat[field];
        if (value !== undefined && !(value > 0)) {
          throw new RangeError(`${where}: heartbeat.${field} must be positive, received ${value}`);
        }
      }
      const intervalMs = heartbeat.intervalMs ?? 1_000;
      const timeoutMs = heartbeat.timeoutMs ?? 10_000;
      if (timeoutMs <= intervalMs) {
        throw new RangeError(
          `${where}: heartbeat.timeoutMs must be greater than heartbeat.intervalMs (${intervalMs}), received ${timeoutMs}`,
        );
      }
    }
    const root = options.root ?? supervisor();
    if ((root as { "~troupe"?: unknown })["~troupe"] !== "supervisor") {
      throw new TypeError(`${where}: root must be made by supervisor()`);
    }
    const system = new ActorSystem(options, root);
    try {
      // Listeners first: a signal Deno refuses fails the start before any worker exists.
      for (const signal of system.#signals) Deno.addSignalListener(signal, system.#onSignal);
      await system.#root.start();
    } catch (error) {
      await system.#stopAll(undefined, error instanceof Error ? error : new Error(String(error)));
      throw error;
    }
    if (heartbeat !== false) {
      system.#startHeartbeat(heartbeat.intervalMs ?? 1_000, heartbeat.timeoutMs ?? 10_000);
    } else {
      system.#startHeartbeat(1_000, undefined); // handler timeouts only
    }
    return system;
  }

  /** Lifecycle events: `for await` them or subscribe with `on`. */
  get events(): SystemEvents {
    return this.#events;
  }

  /** Aborted when shutdown begins. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  #createActor(spec: ChildSpec, path: string, owner: ConstructorParameters<typeof ActorCore>[4]) {
    const options = resolveActorOptions(
      spec.options as ParsedActorOptions,
      spec.spare,
      spec.shutdownMs,
    );
    const core = new ActorCore(
      spec.target as ActorDefinition,
      path,
      spec.options.args,
      options,
      owner,
      this.#placements.acquire,
      this.#deadlines,
      this.#host,
    );
    this.#actors.set(path, core);
    this.#byUid.set(core.uid, core);
    return core;
  }

  /** `ctx.spawn` from a guest: the definition must be one this thread has made. */
  #spawnChild(
    parent: ActorCore,
    key: string,
    options: Record<string, unknown>,
  ): Promise<ActorRef> {
    const name = key.slice(key.lastIndexOf("#") + 1);
    if (this.#shutdown) {
      throw new TypeError(
        `Cannot spawn "${name}" from ${parent.path}: the system is shutting down`,
      );
    }
    const def = knownDefinition(key);
    if (def === undefined) {
      throw new TypeError(
        `Cannot spawn "${name}" from ${parent.path}: its definition (${key}) is not loaded where the system runs; import its module there (from the parent's module, say)`,
      );
    }
    const { name: id, restart = "transient", ...rest } = options;
    // A sandboxed actor cannot start a child with more rights than its own.
    const sandbox = parent.options.permissions;
    if (sandbox !== undefined) {
      const where = `Cannot spawn "${def.name}" from ${parent.path}`;
      // A placement that takes no `permissions` runs with the host's (the local and shared ones).
      const placement = rest.placement as Placement | undefined;
      if (
        placement !== undefined && Object.hasOwn(PLACEMENTS, placement) &&
        !PLACEMENTS[placement].options.includes("permissions")
      ) {
        throw new TypeError(
          `${where}: it runs with restricted permissions, and a "${rest.placement}" child would run with the host's`,
        );
      }
      if (
        rest.permissions !== undefined &&
        JSON.stringify(rest.permissions) !== JSON.stringify(sandbox)
      ) {
        throw new TypeError(`${where}: its children run with its own permissions`);
      }
      rest.permissions = sandbox;
    }
    if (id !== undefined && typeof id !== "string") {
      throw new TypeError(
        `Cannot spawn "${def.name}": name must be a string, received ${typeof id}`,
      );
    }
    const spec = makeChild(
      id ?? def.name,
      def,
      { ...rest, restart } as ChildOptions,
      "Cannot spawn",
    );
    // Unnamed: the definition's name, or the first of name-2, name-3… that is free.
    return parent.spawnChild({ spec, named: id !== undefined });
  }

  /**
   * Spawns an actor under the root supervisor.
   *
   * @typeParam P The actor's protocol.
   * @typeParam A The arguments its `init` takes.
   * @param def The actor's definition.
   * @param options Its name, arguments, placement, mailbox, delivery and restart settings; required,
   *   with `args`, when the definition's `init` needs arguments (a compile error otherwise).
   * @returns A typed reference, once `init` has returned.
   * @throws {TypeError} When an option has the wrong type or the name is taken.
   * @throws {RangeError} When an option is out of range.
   * @throws {SpawnError} When the module did not load or `init` threw.
   */
  spawn<P extends Protocol, A, S>(
    def: ActorDefinition<P, A, S>,
    ...[options]: undefined extends A ? [options?: SpawnOptions<A>]
      : [options: SpawnOptions<A> & { args: A }]
  ): Promise<ActorRef<P>> {
    return this.#spawnUnder(this.#root, def, options);
  }

  async #spawnUnder<P extends Protocol, A, S>(
    parent: Supervisor,
    def: ActorDefinition<P, A, S>,
    options: SpawnOptions<A> = {},
  ): Promise<ActorRef<P>> {
    if (this.#shutdown) {
      throw new TypeError(
        `Cannot spawn "${options.name ?? def?.name}": the system is shutting down`,
      );
    }
    const { name, restart = "transient", ...rest } = options ?? {};
    if (name !== undefined && typeof name !== "string") {
      throw new TypeError(
        `Cannot spawn "${def?.name}": name must be a string, received ${typeof name}`,
      );
    }
    const id = name ?? parent.freeId(def?.name);
    const spec = makeChild(id, def, { ...rest, restart } as ChildOptions<A>, "Cannot spawn");
    return await parent.add(spec) as ActorRef<P>;
  }

  /**
   * A handle on the supervisor at `path` (`"/"` is the root), to spawn children under it.
   *
   * @throws {TypeError} When no supervisor lives at `path`.
   */
  supervisor(path: string): SupervisorRef {
    const found = this.#root.find(path);
    if (!(found instanceof Supervisor)) throw new TypeError(`Cannot find supervisor ${path}`);
    return {
      path,
      children: () => [...found.children],
      spawn: (def, ...[options]) => this.#spawnUnder(found, def, options),
    };
  }

  /**
   * Finds a live actor by path, typed by its definition.
   *
   * @throws {TypeError} When no actor lives at `path`, or it runs another definition.
   */
  lookup<P extends Protocol, A, S>(def: ActorDefinition<P, A, S>, path: string): ActorRef<P> {
    const core = this.#actors.get(path);
    if (core === undefined) throw new TypeError(`Cannot find actor ${path}`);
    if (definitionKey(core.def) !== definitionKey(def)) {
      throw new TypeError(`Actor ${path} is a "${core.def.name}", not a "${def.name}"`);
    }
    return core.ref as ActorRef<P>;
  }

  /** The most recent dead letters, oldest first. */
  deadLetters(): DeadLetter[] {
    return [...this.#deadLetters];
  }

  /** A snapshot of per-actor figures. */
  stats(): SystemStats {
    return {
      name: this.name,
      actors: this.#root.actors().map((core) => core.stats()),
      deadLetters: this.#deadLetterCount,
      endpoints: this.#placements.endpoints.size,
      abandonedThreads: this.#abandoned,
    };
  }

  /**
   * Serves the live view of this system on 127.0.0.1 only: a JSON snapshot of the tree and its
   * figures at `/stats`, the lifecycle events as server-sent events at `/events`, and a small web
   * page at `/` that draws the supervision tree and marks actors as they crash and restart.
   * Shutting the system down closes it.
   *
   * @param options The port; `0`, the default, picks a free one.
   * @returns The observer, once it listens; its `url` is the page's address.
   * @throws {TypeError} When the system is shutting down.
   * @throws {RangeError} When the port is not an integer from 0 to 65535.
   * @throws {Error} When the port is in use.
   *
   * @example Reading the snapshot
   * ```ts
   * import { ActorSystem } from "@troupe/troupe";
   * import { equal } from "node:assert/strict";
   *
   * const system = await ActorSystem.start({ name: "watched" });
   * const observer = await system.observe({ port: 0 });
   * const response = await fetch(new URL("/stats", observer.url));
   * const snapshot = await response.json();
   * equal(snapshot.name, "watched");
   * equal(snapshot.tree.path, "/");
   * await system.shutdown();
   * ```
   */
  observe(options?: ObserveOptions): Promise<Observer> {
    if (this.#shutdown) {
      return Promise.reject(
        new TypeError(`Cannot observe system "${this.name}": it is shutting down`),
      );
    }
    try {
      const observer = observe({
        name: this.name,
        events: this.#events,
        snapshot: () => this.#snapshot(),
        onClose: (closed) => this.#observers.delete(closed),
      }, options);
      this.#observers.add(observer);
      return Promise.resolve(observer);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #snapshot(): SystemSnapshot {
    return {
      name: this.name,
      time: Date.now(),
      deadLetters: this.#deadLetterCount,
      endpoints: this.#placements.endpoints.size,
      abandonedThreads: this.#abandoned,
      tree: this.#root.snapshot(),
    };
  }

  #deadLetter(letter: DeadLetter): void {
    this.#deadLetterCount++;
    this.#deadLetters.push(letter);
    if (this.#deadLetters.length > this.#deadLetterBuffer) this.#deadLetters.shift();
    this.#events.emit({ type: "dead_letter", path: letter.path, letter });
  }

  /**
   * Starts the placement layer's heartbeat: every tick it pings each guest and declares silent ones
   * hung (unless `timeoutMs` is undefined, heartbeats off); on the same tick this system checks the
   * running handlers of actors with a `handlerTimeoutMs`, and counts the threads either leaves.
   */
  #startHeartbeat(intervalMs: number, timeoutMs: number | undefined): void {
    // How long a guest gets to answer a ping before an overdue handler counts as synchronous:
    // generous, since taking an async handler for a blocked thread would abandon a live one.
    const graceMs = Math.max(4 * intervalMs, 1_000);
    const abandon = (core: ActorCore, error: Error) => {
      this.#abandoned++;
      this.#events.emit({ type: "hung", path: core.path, error });
    };
    this.#stopHeartbeat = this.#placements.heartbeat({
      intervalMs,
      timeoutMs,
      tick: () => {
        for (const core of this.#actors.values()) {
          if (core.options.handlerTimeoutMs !== undefined) core.checkHandler(graceMs, abandon);
        }
      },
      hung: (_endpoint, _error, leftThread) => {
        if (leftThread) this.#abandoned++;
      },
    });
  }

  #signal(): void {
    const now = performance.now();
    if (this.#shutdown === undefined) {
      this.#firstSignal = now;
      void this.shutdown();
      return;
    }
    if (now - this.#firstSignal < 50) return; // the same signal, delivered twice
    this.#placements.close();
    Deno.exit(130);
  }

  /**
   * Stops every actor, leaves first in reverse start order, then ends every worker. Idempotent.
   *
   * @param options How long each actor may take to stop.
   */
  shutdown(options?: ShutdownOptions): Promise<void> {
    return this.#stopAll(options?.timeoutMs, undefined);
  }

  #stopAll(timeoutMs: number | undefined, error: Error | undefined): Promise<void> {
    this.#shutdown ??= (async () => {
      this.#controller.abort(
        error ?? new DOMException("The actor system is shutting down", "AbortError"),
      );
      this.#events.emit({ type: "shutdown", path: "/", error });
      await this.#root.stop(timeoutMs);
      this.#stopHeartbeat?.();
      for (const signal of this.#signals) {
        try {
          Deno.removeSignalListener(signal, this.#onSignal);
        } catch {
          // It was never added (Deno refused it at start).
        }
      }
      this.#placements.close();
      this.#deadlines.clear();
      await Promise.all([...this.#observers].map((observer) => observer.close()));
      this.#events.close();
      this.#closed.resolve(error);
    })();
    return this.#shutdown;
  }

  /** Resolves once everything has stopped, with the error that stopped the system, if any. */
  closed(): Promise<Error | undefined> {
    return this.#closed.promise;
  }

  /** Shuts the system down; for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown();
  }
}
