/**
 * The actor system: the root of the tree, the registry of paths, dead letters, events, and
 * shutdown.
 *
 * @module
 */

import {
  ActorCore,
  type ActorStats,
  type DeadLetter,
  type Delivery,
  type Placement,
} from "../actors/actor.ts";
import type { ActorDefinition, Protocol } from "../actors/define.ts";
import { Placements } from "../actors/placement.ts";
import type { ActorRef } from "../actors/ref.ts";
import { Deque } from "../mailbox/_deque.ts";
import { Deadlines } from "../_util.ts";
import { actorOptionsSchema, parseOptions, resolveActorOptions } from "./_options.ts";
import type { OverflowPolicy } from "../mailbox/mailbox.ts";
import { EventStream } from "./events.ts";

/** Where and how one actor runs: the options `system.spawn` and child specs share. */
export interface ActorSettings {
  /**
   * Where the actor runs: the caller's thread, its own Web Worker, or one of the shared workers.
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
     * What a full mailbox does with a new message.
     *
     * @default {"backpressure"}
     */
    overflow?: OverflowPolicy;
  };
  /**
   * How many messages the guest may hold taken but not yet acknowledged.
   *
   * @default {1024}
   */
  prefetch?: number;
  /**
   * What happens to messages taken but not acknowledged when the actor crashes.
   *
   * @default {"at_most_once"}
   */
  delivery?: Delivery;
  /**
   * With `"at_least_once"`: after this many crashes a message is quarantined to dead letters.
   *
   * @default {3}
   */
  maxDeliveries?: number;
  /**
   * The default timeout of an ask to this actor, in milliseconds.
   *
   * @default {5000}
   */
  askTimeoutMs?: number;
  /**
   * Deno permissions of a `"worker"` actor's worker or a `"process"` actor's subprocess; a worker
   * inherits the caller's by default, a subprocess gets none but read access to its modules.
   */
  permissions?: Deno.PermissionOptions;
  /** For `"process"`: the subprocess's V8 heap limit in MiB; past it the process dies, a crash. */
  maxHeapMb?: number;
}

/**
 * Options of {@linkcode ActorSystem.spawn}.
 *
 * @typeParam A The arguments the actor's `init` takes.
 */
export interface SpawnOptions<A = unknown> extends ActorSettings {
  /** The path segment under the root; defaults to the definition's name (numbered if taken). */
  name?: string;
  /** What `init` receives; must be cloneable for worker placements. */
  args?: A;
}

/** Options of {@linkcode ActorSystem.start}. */
export interface SystemOptions {
  /** The system's name, used in logs and worker names. */
  name: string;
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
   * How long each actor's `onStop` may take before it is killed, in milliseconds.
   *
   * @default {5000}
   */
  timeoutMs?: number;
}

/** A snapshot of the system's figures. */
export interface SystemStats {
  /** The system's name. */
  readonly name: string;
  /** One entry per live actor, in start order. */
  readonly actors: readonly ActorStats[];
  /** Dead letters since the system started. */
  readonly deadLetters: number;
  /** Live guests (workers, and the in-thread guest) carrying actors. */
  readonly endpoints: number;
}

/**
 * An actor system: spawns actors, finds them by path, reports events and dead letters, and shuts
 * everything down in reverse start order. Use `await using` so that it always closes.
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
  /** Lifecycle events: `for await` them or subscribe with `on`. */
  readonly events: EventStream = new EventStream();

  readonly #placements: Placements;
  readonly #actors = new Map<string, ActorCore>();
  readonly #deadLetters: Deque<DeadLetter> = new Deque();
  readonly #deadLetterBuffer: number;
  readonly #controller = new AbortController();
  readonly #deadlines = new Deadlines();
  readonly #closed = Promise.withResolvers<Error | undefined>();
  #deadLetterCount = 0;
  #shutdown: Promise<void> | undefined;
  #restarts = new Map<string, number[]>();

  private constructor(options: SystemOptions) {
    this.name = options.name;
    this.#placements = new Placements(options.sharedWorkers ?? navigator.hardwareConcurrency);
    this.#deadLetterBuffer = options.deadLetterBuffer ?? 1_000;
  }

  /**
   * Starts an actor system.
   *
   * @param options The system's name and settings.
   * @returns The running system.
   * @throws {TypeError} When the name is missing.
   * @throws {RangeError} When `sharedWorkers` or `deadLetterBuffer` is not a positive integer.
   */
  static start(options: SystemOptions): Promise<ActorSystem> {
    if (typeof options?.name !== "string" || options.name === "") {
      return Promise.reject(
        new TypeError("Cannot start actor system: name must be a non-empty string"),
      );
    }
    for (const field of ["sharedWorkers", "deadLetterBuffer"] as const) {
      const value = options[field];
      if (value !== undefined && !(Number.isInteger(value) && value > 0)) {
        return Promise.reject(
          new RangeError(
            `Cannot start actor system "${options.name}": ${field} must be a positive integer, received ${value}`,
          ),
        );
      }
    }
    return Promise.resolve(new ActorSystem(options));
  }

  /** Aborted when shutdown begins. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /**
   * Spawns an actor under the root.
   *
   * @typeParam P The actor's protocol.
   * @typeParam A The arguments its `init` takes.
   * @param def The actor's definition.
   * @param options Its name, arguments, placement, mailbox and delivery settings.
   * @returns A typed reference, once `init` has returned.
   * @throws {TypeError} When an option has the wrong type or the name is taken.
   * @throws {RangeError} When an option is out of range.
   * @throws {SpawnError} When the module did not load or `init` threw.
   */
  async spawn<P extends Protocol, A, S>(
    def: ActorDefinition<P, A, S>,
    options?: SpawnOptions<A>,
  ): Promise<ActorRef<P>> {
    const where = `Cannot spawn "${options?.name ?? def?.name}"`;
    const parsed = parseOptions(actorOptionsSchema, options, where);
    if (this.#shutdown) throw new TypeError(`${where}: the system is shutting down`);
    const path = this.#path(parsed.name ?? def.name, parsed.name !== undefined, where);
    const core = new ActorCore(
      def as ActorDefinition,
      path,
      parsed.args,
      resolveActorOptions(parsed),
      this.#owner,
      this.#placements.acquire,
      this.#deadlines,
    );
    this.#actors.set(path, core);
    core.stopped().then(() => {
      if (this.#actors.get(path) === core) this.#actors.delete(path);
      if (core.status === "stopped") this.events.emit({ type: "stopped", path });
    });
    await core.start();
    this.events.emit({ type: "started", path, placement: core.options.placement });
    return core.ref as ActorRef<P>;
  }

  #path(name: string, explicit: boolean, where: string): string {
    let path = `/${name}`;
    if (!this.#actors.has(path)) return path;
    if (explicit) throw new TypeError(`${where}: the path ${path} is taken`);
    for (let n = 2;; n++) {
      path = `/${name}-${n}`;
      if (!this.#actors.has(path)) return path;
    }
  }

  /**
   * Finds a live actor by path, typed by its definition.
   *
   * @throws {TypeError} When no actor lives at `path`, or it runs another definition.
   */
  lookup<P extends Protocol, A, S>(def: ActorDefinition<P, A, S>, path: string): ActorRef<P> {
    const core = this.#actors.get(path);
    if (core === undefined) throw new TypeError(`Cannot find actor ${path}`);
    if (core.def !== (def as unknown)) {
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
      actors: [...this.#actors.values()].map((core) => core.stats()),
      deadLetters: this.#deadLetterCount,
      endpoints: this.#placements.endpoints.size,
    };
  }

  readonly #owner = {
    crashed: (actor: ActorCore, error: Error): void => {
      this.events.emit({ type: "crashed", path: actor.path, error });
      if (this.#shutdown) return;
      // Interim policy until supervisors take over: restart at once, give up past 10 restarts a
      // second.
      const now = performance.now();
      const times = (this.#restarts.get(actor.path) ?? []).filter((t) => now - t < 1_000);
      times.push(now);
      this.#restarts.set(actor.path, times);
      if (times.length > 10) {
        this.events.emit({ type: "escalated", path: actor.path, error });
        void actor.stop();
        return;
      }
      actor.restart();
      this.events.emit({ type: "restarted", path: actor.path, restarts: actor.stats().restarts });
    },
    deadLetter: (letter: DeadLetter): void => {
      this.#deadLetterCount++;
      this.#deadLetters.push(letter);
      if (this.#deadLetters.length > this.#deadLetterBuffer) this.#deadLetters.shift();
      this.events.emit({ type: "dead_letter", path: letter.path, letter });
    },
  };

  /**
   * Stops every actor, newest first, then ends every worker. Idempotent.
   *
   * @param options How long each actor may take to stop.
   */
  shutdown(options?: ShutdownOptions): Promise<void> {
    this.#shutdown ??= this.#stopAll(options?.timeoutMs ?? 5_000, undefined);
    return this.#shutdown;
  }

  async #stopAll(timeoutMs: number, error: Error | undefined): Promise<void> {
    this.#controller.abort(
      error ?? new DOMException("The actor system is shutting down", "AbortError"),
    );
    this.events.emit({ type: "shutdown", path: "/", error });
    for (const core of [...this.#actors.values()].reverse()) {
      await core.stop({ timeoutMs });
    }
    this.#placements.close();
    this.#deadlines.clear();
    this.events.close();
    this.#closed.resolve(error);
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
