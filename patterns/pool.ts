/**
 * `Pool`: a supervised group of worker actors that run the exported functions of a module — the
 * `multiprocessing.Pool` and `ProcessPoolExecutor` of Troupe, typed by the module.
 *
 * ```
 *  submit/map ─▶ pool queue ─▶ worker 1 (1 task, or ≤ maxInFlight when short) ─▶ Future settles
 *                          └─▶ worker 2 …
 * ```
 *
 * While tasks are long, each worker holds one and takes the next when free (Python's order); once
 * tasks prove short, each holds up to `maxInFlight` so that they ride together in few messages. A
 * task counts as running when the tasks before it on its worker have finished, and its
 * `taskTimeoutMs` counts from then. A worker that dies is restarted by its supervisor; its tasks are retried
 * (`retries`) or fail with `ActorCrashedError`.
 *
 * @module
 */

import { ActorCrashedError, ActorStoppedError, TimeoutError } from "../errors.ts";
import { Deque } from "../_util.ts";
import { deserializeError } from "../mailbox/wire.ts";
import { refuseWhileLoading } from "../actors/_loading.ts";
import type { ActorRef } from "../actors/ref.ts";
import { supervisor } from "../supervisors/spec.ts";
import { ActorSystem } from "../supervisors/system.ts";
import { CANCEL_SLOTS, PoolWorker, type TaskOutcome } from "./_pool_worker.ts";
import { Future, type FutureController } from "./future.ts";
import { chunkRanges } from "./kernels.ts";
import { wasmMemoryOf } from "./shared_array.ts";

/** A module of task functions, as `typeof import("./tasks.ts")`. */
// deno-lint-ignore no-explicit-any
export type TaskModule = Record<string, any>;

/** The names of the functions a task module exports. */
export type TaskName<M> =
  & {
    // deno-lint-ignore no-explicit-any
    [K in keyof M]: M[K] extends (...args: any[]) => unknown ? K : never;
  }[keyof M]
  & string;

/** The arguments of task `K`. */
// deno-lint-ignore no-explicit-any
export type TaskArgs<M, K extends keyof M> = M[K] extends (...args: infer A) => any ? A : never;

/** What task `K` resolves to. */
// deno-lint-ignore no-explicit-any
export type TaskResult<M, K extends keyof M> = M[K] extends (...args: any[]) => infer R ? Awaited<R>
  : never;

/** The built-in reducers of {@linkcode Pool.reduce}. */
export type Reducer = "max" | "min" | "sum";

/** Options of {@linkcode Pool.start}. */
export interface PoolOptions {
  /**
   * How many workers.
   *
   * @default {navigator.hardwareConcurrency}
   */
  size?: number;
  /**
   * How many times a task whose worker died is run again before it fails with
   * `ActorCrashedError`.
   *
   * @default {0}
   */
  retries?: number;
  /**
   * A task running longer fails with `TimeoutError`; its signal aborts and, if it ignores that for
   * `cancelGraceMs`, its worker is replaced. Counted from when the task starts, not from when it
   * was queued.
   *
   * @default {Infinity}
   */
  taskTimeoutMs?: number;
  /**
   * How long a cancelled or timed-out task may take to notice its aborted `taskSignal()` before
   * its worker is replaced (then only that task fails; the worker's other tasks run again).
   *
   * @default {1000}
   */
  cancelGraceMs?: number;
  /**
   * How many tasks each worker may hold at once. The pool adapts within it: while tasks take
   * milliseconds or more, each worker holds one (a free worker takes the next task, as in Python's
   * pools, so a short task never waits behind a long one); once tasks prove short (under 1 ms on
   * average), workers hold up to this many, so that small tasks ride together in few messages.
   *
   * @default {64}
   */
  maxInFlight?: number;
  /** Deno permissions of the workers; they must be able to read the task module. */
  permissions?: Deno.PermissionOptions;
  /** Run the workers in this system (under its root); by default the pool has a system of its own. */
  system?: ActorSystem;
  /**
   * The name of the pool: its workers are `/<name>-1`, `/<name>-2` …
   *
   * @default {"pool"}
   */
  name?: string;
}

/** Options of {@linkcode Pool.map} and {@linkcode Pool.mapUnordered}. */
export interface MapOptions {
  /** Items per task; by default `map` makes about four chunks per worker, `mapUnordered` one item. */
  chunkSize?: number;
  /** Stops submitting; what is running finishes, the result rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** Options of {@linkcode Pool.reduce}. */
export interface ReduceOptions<R> {
  /**
   * How many chunks the data is split into, each a task with a zero-copy view of its range.
   *
   * @default {the pool's size}
   */
  chunks?: number;
  /** Combines two partial results; defaults to the reducer's own for `"max"`, `"min"`, `"sum"`. */
  combine?: (a: R, b: R) => R;
  /** The starting value; defaults to the reducer's identity (`-Infinity`, `Infinity`, `0`). */
  initial?: R;
}

/** A snapshot of a pool's figures. */
export interface PoolStats {
  /** Workers. */
  readonly size: number;
  /** Tasks waiting for a worker. */
  readonly queued: number;
  /** Tasks held by workers. */
  readonly inFlight: number;
  /** Tasks finished (done, failed or cancelled). */
  readonly completed: number;
  /** Workers replaced because a task ignored its cancellation. */
  readonly replaced: number;
}

type Kind = "run" | "chunk" | "reduce";

interface Task {
  readonly id: number;
  readonly kind: Kind;
  readonly payload: Record<string, unknown>;
  readonly controller: FutureController<unknown>;
  readonly label: string;
  attempts: number;
  started: boolean;
  startedAt: number;
  slot: Slot | undefined;
  timer: ReturnType<typeof setTimeout> | undefined;
  grace: ReturnType<typeof setTimeout> | undefined;
  /** Failed or cancelled by the pool already; whatever the worker says later is ignored. */
  settled: boolean;
}

interface Slot {
  readonly index: number;
  ref: ActorRef<typeof PoolWorker.protocol>;
  readonly cancels: Int32Array<SharedArrayBuffer>;
  readonly inFlight: Deque<Task>;
  replacing: boolean;
}

/** Tasks shorter than this on average are pipelined; longer ones go one per worker. */
const SHORT_TASK_MS = 1;

const IDENTITY: Record<Reducer, number> = { max: -Infinity, min: Infinity, sum: 0 };
const COMBINE: Record<Reducer, (a: number, b: number) => number> = {
  max: Math.max,
  min: Math.min,
  sum: (a, b) => a + b,
};

/**
 * A pool of worker actors running the exported functions of one module. Typed by the module:
 * `Pool.start<typeof import("./tasks.ts")>(url)`.
 *
 * @typeParam M The task module's type.
 *
 * @example Squares in input order
 * ```ts
 * import { Pool } from "@troupe/troupe/patterns";
 * import { deepEqual } from "node:assert/strict";
 *
 * // Usually a file of its own: new URL("./tasks.ts", import.meta.url).
 * const tasks = "data:application/javascript,export function square(x) { return x * x; }";
 *
 * await using pool = await Pool.start<{ square: (x: number) => number }>(tasks, { size: 2 });
 * deepEqual(await pool.map("square", [0, 1, 2, 3]), [0, 1, 4, 9]);
 * ```
 */
export class Pool<M extends TaskModule> implements AsyncDisposable {
  readonly #system: ActorSystem;
  readonly #ownSystem: boolean;
  readonly #slots: Slot[];
  readonly #queue = new Deque<Task>();
  readonly #retry = new Deque<Task>();
  readonly #moduleUrl: string;
  readonly #name: string;
  readonly #retries: number;
  readonly #taskTimeoutMs: number;
  readonly #cancelGraceMs: number;
  readonly #maxInFlight: number;
  readonly #permissions: Deno.PermissionOptions | undefined;
  readonly #idle: Array<() => void> = [];
  #nextTask = 1;
  #pumpScheduled = false;
  #completed = 0;
  /** How long tasks run, on average (milliseconds); unknown until one has finished. */
  #runMs: number | undefined;
  #replaced = 0;
  #closing = false;
  #closed: Promise<void> | undefined;

  private constructor(
    system: ActorSystem,
    ownSystem: boolean,
    moduleUrl: string,
    options: Required<Omit<PoolOptions, "system" | "permissions">> & PoolOptions,
    slots: Slot[],
  ) {
    this.#system = system;
    this.#ownSystem = ownSystem;
    this.#moduleUrl = moduleUrl;
    this.#name = options.name;
    this.#retries = options.retries;
    this.#taskTimeoutMs = options.taskTimeoutMs;
    this.#cancelGraceMs = options.cancelGraceMs;
    this.#maxInFlight = options.maxInFlight;
    this.#permissions = options.permissions;
    this.#slots = slots;
  }

  /**
   * Starts a pool whose workers import `module` and run its exported functions.
   *
   * @typeParam M The module's type: `typeof import("./tasks.ts")`.
   * @param module The task module's URL.
   * @param options Size, retries, timeouts, permissions.
   * @returns The pool, once every worker has imported the module.
   * @throws {TypeError} When the module URL or an option is of the wrong type.
   * @throws {RangeError} When a number is out of range.
   * @throws {SpawnError} When a worker could not import the module.
   */
  static async start<M extends TaskModule>(
    module: string | URL,
    options: PoolOptions = {},
  ): Promise<Pool<M>> {
    refuseWhileLoading("a pool");
    const where = "Cannot start pool";
    const url = module instanceof URL ? module.href : module;
    if (typeof url !== "string" || !URL.canParse(url)) {
      throw new TypeError(`${where}: module must be a URL, received ${String(module)}`);
    }
    const size = options.size ?? navigator.hardwareConcurrency;
    positiveInteger(size, `${where}: size`);
    const retries = options.retries ?? 0;
    if (!(Number.isInteger(retries) && retries >= 0)) {
      throw new RangeError(`${where}: retries must be a non-negative integer, received ${retries}`);
    }
    const taskTimeoutMs = options.taskTimeoutMs ?? Infinity;
    const cancelGraceMs = options.cancelGraceMs ?? 1_000;
    for (
      const [field, value] of [["taskTimeoutMs", taskTimeoutMs], [
        "cancelGraceMs",
        cancelGraceMs,
      ]] as const
    ) {
      if (!(value > 0)) {
        throw new RangeError(`${where}: ${field} must be positive, received ${value}`);
      }
    }
    const maxInFlight = options.maxInFlight ?? 64;
    positiveInteger(maxInFlight, `${where}: maxInFlight`);
    if (maxInFlight * 2 > CANCEL_SLOTS) {
      throw new RangeError(
        `${where}: maxInFlight must be at most ${CANCEL_SLOTS / 2}, received ${maxInFlight}`,
      );
    }
    const name = options.name ?? "pool";
    if (typeof name !== "string" || !/^[A-Za-z0-9_.:-]+$/.test(name)) {
      throw new TypeError(
        `${where}: name must use letters, digits, _ . : - only, received ${name}`,
      );
    }
    const ownSystem = options.system === undefined;
    const system = options.system ?? await ActorSystem.start({
      name,
      // Tasks are often long and synchronous: liveness is the task timeout's job, not heartbeats'.
      heartbeat: false,
      root: supervisor({
        intensity: { maxRestarts: 100 * size, periodMs: 1_000 },
        backoff: { initialMs: 0, jitter: 0 },
      }),
    });
    // Explicit undefined in `options` must not undo a default.
    const resolved = { ...options, size, retries, taskTimeoutMs, cancelGraceMs, maxInFlight, name };
    const pool = new Pool<M>(system, ownSystem, url, resolved, []);
    try {
      await Promise.all(Array.from({ length: size }, (_, i) => pool.#spawn(i)));
    } catch (error) {
      await pool.terminate();
      throw error;
    }
    return pool;
  }

  async #spawn(index: number): Promise<Slot> {
    const cancels = new Int32Array(new SharedArrayBuffer(CANCEL_SLOTS * 4));
    const ref = await this.#system.spawn(PoolWorker, {
      name: `${this.#name}-${index + 1}`,
      args: { moduleUrl: this.#moduleUrl, cancels },
      restart: "transient",
      prefetch: this.#maxInFlight,
      askTimeoutMs: Infinity,
      permissions: this.#permissions,
    });
    const slot: Slot = { index, ref, cancels, inFlight: new Deque(), replacing: false };
    this.#slots[index] = slot;
    this.#pump();
    return slot;
  }

  /** How many workers the pool has. */
  get size(): number {
    return this.#slots.length;
  }

  /** Current figures. */
  stats(): PoolStats {
    let inFlight = 0;
    for (const slot of this.#slots) inFlight += slot?.inFlight.length ?? 0;
    return {
      size: this.#slots.length,
      queued: this.#queue.length + this.#retry.length,
      inFlight,
      completed: this.#completed,
      replaced: this.#replaced,
    };
  }

  /**
   * Submits one call of `fn`: a future of its result (`apply_async`, `executor.submit`).
   *
   * @typeParam K The function's name.
   * @param fn The exported function to call.
   * @param args Its arguments (cloned to the worker).
   * @returns A future: await it, or use `result`, `cancel`, `addDoneCallback`.
   * @throws {TypeError} When the pool is closing.
   */
  submit<K extends TaskName<M>>(fn: K, ...args: TaskArgs<M, K>): Future<TaskResult<M, K>> {
    this.#open(`submit "${fn}"`);
    return this.#submit("run", { fn, args }, `task ${this.#nextTask} (${fn})`) as Future<
      TaskResult<M, K>
    >;
  }

  #open(what: string): void {
    if (this.#closing) throw new TypeError(`Cannot ${what}: the pool is closing`);
  }

  #submit(kind: Kind, payload: Record<string, unknown>, label: string): Future<unknown> {
    const id = this.#nextTask++;
    const controller = Future.create<unknown>({
      label,
      onCancel: (status) => {
        if (status === "running") this.#cancelRunning(task);
        else task.settled = true; // a queued task is skipped when its turn comes
      },
    });
    const task: Task = {
      id,
      kind,
      payload: { ...payload, task: id },
      controller,
      label,
      attempts: 0,
      started: false,
      startedAt: 0,
      slot: undefined,
      timer: undefined,
      grace: undefined,
      settled: false,
    };
    this.#queue.push(task);
    this.#schedulePump();
    return controller.future;
  }

  /** Pumps once at the end of this tick, so that tasks submitted together leave together. */
  #schedulePump(): void {
    if (this.#pumpScheduled) return;
    this.#pumpScheduled = true;
    queueMicrotask(() => {
      this.#pumpScheduled = false;
      this.#pump();
    });
  }

  /** The next task to hand out: retries first, skipping cancelled ones; starts its future. */
  #take(): Task | undefined {
    for (;;) {
      const task = this.#retry.shift() ?? this.#queue.shift();
      if (task === undefined || !task.settled && (task.started || task.controller.start())) {
        if (task !== undefined) task.started = true;
        return task;
      }
    }
  }

  /**
   * Hands queued tasks to the least busy workers. Consecutive `submit` tasks for one worker go in
   * one message (a batch the worker runs in order): a message per task would cost the host a
   * worker wake-up each.
   */
  #pump(): void {
    while (this.#queue.length + this.#retry.length > 0) {
      const depth = this.#depth();
      let best: Slot | undefined;
      for (const slot of this.#slots) {
        if (slot === undefined || slot.replacing) continue;
        if (slot.inFlight.length >= depth) continue;
        if (best === undefined || slot.inFlight.length < best.inFlight.length) best = slot;
      }
      if (best === undefined) break;
      const first = this.#take();
      if (first === undefined) break;
      const room = Math.min(depth - best.inFlight.length, Math.ceil(depth / 2));
      const batch = [first];
      while (first.kind === "run" && batch.length < room) {
        const next = this.#take();
        if (next === undefined) break;
        if (next.kind !== "run") {
          this.#retry.unshift(next); // goes out next, on its own
          break;
        }
        batch.push(next);
      }
      if (batch.length === 1) this.#dispatch(best, first);
      else this.#dispatchBatch(best, batch);
    }
    if (this.stats().inFlight === 0) { for (const wake of this.#idle.splice(0)) wake(); }
  }

  #hold(slot: Slot, task: Task): void {
    task.slot = slot;
    task.attempts++;
    slot.inFlight.push(task);
    if (slot.inFlight.length === 1) this.#started(task);
  }

  #dispatch(slot: Slot, task: Task): void {
    this.#hold(slot, task);
    const ref = slot.ref as unknown as {
      ask(kind: Kind, msg: unknown): Promise<TaskOutcome>;
    };
    ref.ask(task.kind, task.payload).then(
      (outcome) => this.#finish(slot, task, outcome),
      (error) => this.#lost(slot, task, error),
    );
  }

  #dispatchBatch(slot: Slot, tasks: Task[]): void {
    for (const task of tasks) this.#hold(slot, task);
    slot.ref.ask("batch", {
      tasks: tasks.map((task) => task.id),
      fns: tasks.map((task) => task.payload.fn as string),
      args: tasks.map((task) => task.payload.args as unknown[]),
    }).then(
      (outcomes) => {
        for (let i = 0; i < tasks.length; i++) this.#finish(slot, tasks[i], outcomes[i], false);
        this.#pump();
      },
      (error) => {
        for (const task of tasks) this.#lost(slot, task, error, false);
        this.#pump();
      },
    );
  }

  /** How many tasks a worker holds now: one while tasks are long, `maxInFlight` once short. */
  #depth(): number {
    return this.#runMs !== undefined && this.#runMs < SHORT_TASK_MS ? this.#maxInFlight : 1;
  }

  /** The task is now the oldest on its worker: it runs, and its timeout starts. */
  #started(task: Task): void {
    task.startedAt = performance.now();
    if (this.#taskTimeoutMs === Infinity || task.settled) return;
    task.timer = setTimeout(() => {
      task.timer = undefined;
      if (task.settled) return;
      task.settled = true;
      task.controller.reject(new TimeoutError(task.label, this.#taskTimeoutMs));
      this.#abort(task);
    }, this.#taskTimeoutMs);
  }

  /** Removes a finished task from its worker and starts the clock of the next one. */
  #release(slot: Slot, task: Task): void {
    if (task.timer !== undefined) clearTimeout(task.timer);
    if (task.grace !== undefined) clearTimeout(task.grace);
    task.timer = task.grace = undefined;
    const wasHead = slot.inFlight.peek() === task;
    if (wasHead) {
      slot.inFlight.shift();
      // A moving average of how long tasks run, for the dispatch depth.
      const ran = performance.now() - task.startedAt;
      this.#runMs = this.#runMs === undefined ? ran : this.#runMs * 0.8 + ran * 0.2;
    } else {
      const rest = slot.inFlight.drain().filter((t) => t !== task);
      for (const t of rest) slot.inFlight.push(t);
    }
    const next = slot.inFlight.peek();
    if (wasHead && next !== undefined) this.#started(next);
  }

  #finish(slot: Slot, task: Task, outcome: TaskOutcome, pump = true): void {
    this.#release(slot, task);
    this.#completed++;
    if (task.settled) {
      task.controller.cancelled(); // a cancel was confirmed (ignored if it timed out instead)
    } else {
      task.settled = true;
      if (outcome.ok) task.controller.resolve(outcome.value);
      else if ("cancelled" in outcome) task.controller.cancelled();
      else task.controller.reject(deserializeError(outcome.error));
    }
    if (pump) this.#pump();
  }

  /** The ask failed: the worker died (or was replaced), or the pool is stopping. */
  #lost(slot: Slot, task: Task, error: unknown, pump = true): void {
    this.#release(slot, task);
    if (task.settled) {
      this.#completed++;
      task.controller.cancelled();
    } else if (slot.replacing) {
      task.attempts--; // its worker was replaced for another task's sake: no retry is used
      this.#retry.push(task);
    } else if (error instanceof ActorCrashedError && task.attempts <= this.#retries) {
      this.#retry.push(task); // run again, ahead of new work
    } else {
      task.settled = true;
      this.#completed++;
      task.controller.reject(error);
    }
    if (pump) this.#pump();
  }

  /** Cancels a task a worker holds: skipped if not started, its signal aborted if running. */
  #cancelRunning(task: Task): void {
    if (task.settled) return;
    task.settled = true; // what the worker answers for it is ignored (and counted then)
    this.#abort(task);
  }

  /** Tells the worker to skip or abort `task`; past the grace period, replaces the worker. */
  #abort(task: Task): void {
    const slot = task.slot;
    if (slot === undefined) return;
    Atomics.store(slot.cancels, task.id % CANCEL_SLOTS, task.id);
    Atomics.notify(slot.cancels, task.id % CANCEL_SLOTS);
    task.grace = setTimeout(() => {
      task.grace = undefined;
      if (slot.inFlight.peek() === task) void this.#replace(slot);
    }, this.#cancelGraceMs);
  }

  /** Ends a worker whose task ignores its cancellation and starts a new one in its place. */
  async #replace(slot: Slot): Promise<void> {
    if (slot.replacing || this.#closing) return;
    slot.replacing = true;
    this.#replaced++;
    await slot.ref.stop({ timeoutMs: 0.001 });
    if (this.#closing) return;
    try {
      await this.#spawn(slot.index);
    } catch {
      // The pool shrinks by one: the others carry on.
    }
  }

  /**
   * Runs `fn` on every item and resolves with the results in input order (`Pool.map`). Items are
   * sent in chunks, so that many small tasks cost few messages.
   *
   * @typeParam K The function's name; it takes one argument.
   * @param fn The exported function to call on each item.
   * @param items The items.
   * @param options Chunk size and an abort signal.
   * @returns The results, in the items' order.
   * @throws The first task error, as it was thrown in the worker.
   */
  async map<K extends TaskName<M>>(
    fn: K,
    items: Iterable<TaskArgs<M, K>[0]>,
    options: MapOptions = {},
  ): Promise<TaskResult<M, K>[]> {
    this.#open(`map "${fn}"`);
    const all = Array.isArray(items) ? items : [...items];
    if (all.length === 0) return [];
    const chunkSize = options.chunkSize ??
      Math.max(1, Math.ceil(all.length / (this.#slots.length * 4)));
    positiveInteger(chunkSize, `Cannot map "${fn}": chunkSize`);
    const futures: Future<unknown>[] = [];
    for (let start = 0; start < all.length; start += chunkSize) {
      const chunk = all.slice(start, start + chunkSize);
      futures.push(this.#submit("chunk", { fn, items: chunk }, `chunk ${start} of map (${fn})`));
    }
    const onAbort = () => futures.forEach((future) => future.cancel());
    options.signal?.addEventListener("abort", onAbort, { once: true });
    try {
      const chunks = await Promise.all(futures) as unknown[][];
      options.signal?.throwIfAborted();
      return chunks.flat() as TaskResult<M, K>[];
    } catch (error) {
      futures.forEach((future) => future.cancel());
      throw options.signal?.aborted ? options.signal.reason : error;
    } finally {
      options.signal?.removeEventListener("abort", onAbort);
    }
  }

  /**
   * Runs `fn` on every item and yields the results as they complete (`imap_unordered`). At most a
   * few tasks per worker are submitted ahead of the consumer: the iterator applies backpressure.
   *
   * @typeParam K The function's name; it takes one argument.
   * @param fn The exported function to call on each item.
   * @param items The items, pulled lazily.
   * @param options Chunk size (default 1) and an abort signal.
   * @returns An async iterator of results, in completion order.
   * @throws The first task error, when the consumer reaches it.
   */
  async *mapUnordered<K extends TaskName<M>>(
    fn: K,
    items: Iterable<TaskArgs<M, K>[0]> | AsyncIterable<TaskArgs<M, K>[0]>,
    options: MapOptions = {},
  ): AsyncGenerator<TaskResult<M, K>, void, undefined> {
    this.#open(`map "${fn}"`);
    const chunkSize = options.chunkSize ?? 1;
    positiveInteger(chunkSize, `Cannot map "${fn}": chunkSize`);
    const limit = this.#slots.length * this.#maxInFlight;
    const iterator = Symbol.asyncIterator in items
      ? (items as AsyncIterable<unknown>)[Symbol.asyncIterator]()
      : (items as Iterable<unknown>)[Symbol.iterator]();
    const running = new Set<Future<unknown>>();
    const finished = new Deque<Future<unknown>>();
    let wake: (() => void) | undefined;
    let exhausted = false;
    const fill = async () => {
      while (!exhausted && running.size < limit) {
        const chunk: unknown[] = [];
        while (chunk.length < chunkSize) {
          const next = await iterator.next();
          if (next.done) {
            exhausted = true;
            break;
          }
          chunk.push(next.value);
        }
        if (chunk.length === 0) break;
        const future = this.#submit("chunk", { fn, items: chunk }, `map item (${fn})`);
        running.add(future);
        future.addDoneCallback(() => {
          running.delete(future);
          finished.push(future);
          wake?.();
        });
      }
    };
    try {
      await fill();
      while (running.size > 0 || finished.length > 0) {
        options.signal?.throwIfAborted();
        const future = finished.shift();
        if (future === undefined) {
          await new Promise<void>((resolve) => wake = resolve);
          wake = undefined;
          continue;
        }
        for (const value of await future as unknown[]) yield value as TaskResult<M, K>;
        await fill();
      }
    } finally {
      for (const future of running) future.cancel();
    }
  }

  /**
   * Reduces a shared typed array in parallel: each chunk is a task that reads a zero-copy view of
   * its range; the partial results are combined on this thread (seed 002's max of 300M floats).
   *
   * @typeParam R The partial and final result's type.
   * @param fn A built-in reducer (`"max"`, `"min"`, `"sum"`, run by SIMD kernels) or an exported
   * function that takes the chunk's view.
   * @param data A typed array over a `SharedArrayBuffer` (see `sharedArray`).
   * @param options How many chunks, how to combine, the starting value.
   * @returns The combined result.
   * @throws {TypeError} When `data` is not over shared memory, or `combine` is missing for a
   * function of the module.
   */
  async reduce<R = number>(
    fn: Reducer | TaskName<M>,
    data: ArrayBufferView,
    options: ReduceOptions<R> = {},
  ): Promise<R> {
    this.#open(`reduce "${fn}"`);
    const where = `Cannot reduce "${fn}"`;
    if (!ArrayBuffer.isView(data) || !(data.buffer instanceof SharedArrayBuffer)) {
      throw new TypeError(`${where}: data must be a typed array over a SharedArrayBuffer`);
    }
    const builtin = fn === "max" || fn === "min" || fn === "sum";
    const combine = options.combine ??
      (builtin ? COMBINE[fn as Reducer] as unknown as (a: R, b: R) => R : undefined);
    if (combine === undefined) throw new TypeError(`${where}: combine is required for "${fn}"`);
    const initial = options.initial ?? (builtin ? IDENTITY[fn as Reducer] as R : undefined);
    const length = (data as unknown as { length: number }).length;
    const chunks = options.chunks ?? this.#slots.length;
    positiveInteger(chunks, `${where}: chunks`);
    // With the array's WebAssembly memory in the same message, the worker runs SIMD kernels on it.
    const memory = builtin ? wasmMemoryOf(data) : undefined;
    const futures = chunkRanges(length, chunks).map(([start, end]) =>
      this.#submit("reduce", { fn, data, memory, start, end }, `reduce ${start}..${end} (${fn})`)
    );
    const parts = await Promise.all(futures) as R[];
    let result = initial;
    for (const part of parts) result = result === undefined ? part : combine(result, part);
    return result as R;
  }

  /** Resolves once no task is queued or held by a worker. */
  #drained(): Promise<void> {
    if (this.#queue.length + this.#retry.length === 0 && this.stats().inFlight === 0) {
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /**
   * Stops taking tasks, lets queued and running ones finish (for at most `timeoutMs`), then stops
   * the workers.
   *
   * @param options How long to wait for the tasks.
   */
  close(options: { timeoutMs?: number } = {}): Promise<void> {
    this.#closed ??= (async () => {
      this.#closing = true;
      const timeoutMs = options.timeoutMs ?? Infinity;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timedOut = new Promise<void>((resolve) => {
        if (timeoutMs !== Infinity) timer = setTimeout(resolve, timeoutMs);
      });
      await Promise.race([this.#drained(), timedOut]);
      clearTimeout(timer);
      await this.#stopWorkers();
    })();
    return this.#closed;
  }

  /** Stops at once: queued tasks are cancelled, running ones fail with `ActorStoppedError`. */
  terminate(): Promise<void> {
    this.#closing = true;
    for (const task of [...this.#retry.drain(), ...this.#queue.drain()]) {
      task.controller.future.cancel();
    }
    this.#closed ??= this.#stopWorkers();
    return this.#closed;
  }

  async #stopWorkers(): Promise<void> {
    for (const task of [...this.#retry.drain(), ...this.#queue.drain()]) {
      task.settled = true;
      task.controller.reject(new ActorStoppedError(`/${this.#name}`));
    }
    if (this.#ownSystem) {
      await this.#system.shutdown({ timeoutMs: 1_000 });
    } else {
      await Promise.all(this.#slots.map((slot) => slot.ref.stop({ timeoutMs: 1_000 })));
    }
  }

  /** Closes the pool, waiting for its tasks; for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

function positiveInteger(value: number, what: string): void {
  if (!(Number.isInteger(value) && value > 0)) {
    throw new RangeError(`${what} must be a positive integer, received ${value}`);
  }
}
