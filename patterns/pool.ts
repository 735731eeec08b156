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
 * `taskTimeoutMs` counts from then. A worker that dies is restarted by its supervisor; its tasks
 * are retried (`retries`) or fail with `ActorCrashedError`.
 *
 * This file is the public class; the scheduling is `_dispatch.ts`'s, the option schemas are in
 * `_pool_options.ts`, and the worker's side is `_pool_worker.ts`.
 *
 * @module
 */

import { Deque, parseOptions } from "../_util.ts";
import { refuseWhileLoading } from "../actors/_loading.ts";
import { supervisor } from "../supervisors/spec.ts";
import { ActorSystem } from "../supervisors/system.ts";
import { PoolWorker, type TaskOutcome } from "./_pool_worker.ts";
import { type BatchPayload, Dispatcher, type Kind, type WorkerLink } from "./_dispatch.ts";
import {
  mapOptionsSchema,
  POOL_DEFAULTS,
  poolOptionsSchema,
  reduceOptionsSchema,
} from "./_pool_options.ts";
import type { Future } from "./future.ts";
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
  /**
   * Stops the map at once: `map`'s promise rejects, or `mapUnordered`'s iteration throws, with the
   * signal's reason. Tasks no worker has taken yet are cancelled; those already running finish
   * (their results are dropped), as Python's `Executor.map` leaves them. A task error, or leaving a
   * `mapUnordered` loop early, does the same.
   *
   * @default {undefined}
   */
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
  readonly #dispatcher: Dispatcher;
  readonly #maxInFlight: number;
  #closing = false;
  #closed: Promise<void> | undefined;

  private constructor(
    system: ActorSystem,
    ownSystem: boolean,
    moduleUrl: string,
    options: Required<Omit<PoolOptions, "system" | "permissions">> & PoolOptions,
  ) {
    this.#system = system;
    this.#ownSystem = ownSystem;
    this.#maxInFlight = options.maxInFlight;
    this.#dispatcher = new Dispatcher(options, async (index, cancels) => {
      const ref = await system.spawn(PoolWorker, {
        name: `${options.name}-${index + 1}`,
        args: { moduleUrl, cancels },
        restart: "transient",
        prefetch: options.maxInFlight,
        askTimeoutMs: Infinity,
        permissions: options.permissions,
      });
      const asks = ref as unknown as {
        ask(kind: Kind, msg: unknown): Promise<TaskOutcome>;
        ask(kind: "batch", msg: BatchPayload): Promise<TaskOutcome[]>;
      };
      return {
        ask: (kind, payload) => asks.ask(kind, payload),
        batch: (payload) => asks.ask("batch", payload),
        stop: (timeoutMs) => ref.stop({ timeoutMs }),
      } satisfies WorkerLink;
    });
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
    const parsed = parseOptions(poolOptionsSchema, options ?? {}, where);
    // Explicit undefined in `options` must not undo a default.
    const resolved = {
      ...parsed,
      size: parsed.size ?? navigator.hardwareConcurrency,
      retries: parsed.retries ?? POOL_DEFAULTS.retries,
      taskTimeoutMs: parsed.taskTimeoutMs ?? POOL_DEFAULTS.taskTimeoutMs,
      cancelGraceMs: parsed.cancelGraceMs ?? POOL_DEFAULTS.cancelGraceMs,
      maxInFlight: parsed.maxInFlight ?? POOL_DEFAULTS.maxInFlight,
      name: parsed.name ?? POOL_DEFAULTS.name,
    };
    const ownSystem = resolved.system === undefined;
    const system = resolved.system ?? await ActorSystem.start({
      name: resolved.name,
      // Tasks are often long and synchronous: liveness is the task timeout's job, not heartbeats'.
      heartbeat: false,
      root: supervisor({
        intensity: { maxRestarts: 100 * resolved.size, periodMs: 1_000 },
        backoff: { initialMs: 0, jitter: 0 },
      }),
    });
    const pool = new Pool<M>(system, ownSystem, url, resolved);
    try {
      await Promise.all(Array.from({ length: resolved.size }, (_, i) => pool.#dispatcher.spawn(i)));
    } catch (error) {
      await pool.terminate();
      throw error;
    }
    return pool;
  }

  /** How many workers the pool has. */
  get size(): number {
    return this.#dispatcher.size;
  }

  /** Current figures. */
  stats(): PoolStats {
    return this.#dispatcher.stats();
  }

  /**
   * Submits one call of `fn`: a future of its result (`apply_async`, `executor.submit`).
   *
   * @typeParam K The function's name.
   * @param fn The exported function to call.
   * @param args Its arguments (cloned to the worker; `SharedEvent`, `SharedQueue` and shared arrays
   * arrive usable).
   * @returns A future: await it, or use `result`, `cancel`, `addDoneCallback`.
   * @throws {TypeError} When the pool is closing.
   */
  submit<K extends TaskName<M>>(fn: K, ...args: TaskArgs<M, K>): Future<TaskResult<M, K>> {
    this.#open(`submit "${fn}"`);
    const payload = { fn, args, memories: memoriesIn(args) };
    const label = `task ${this.#dispatcher.nextTaskId} (${fn})`;
    return this.#dispatcher.submit("run", payload, label) as Future<TaskResult<M, K>>;
  }

  #open(what: string): void {
    if (this.#closing) throw new TypeError(`Cannot ${what}: the pool is closing`);
  }

  #submit(kind: Kind, payload: Record<string, unknown>, label: string): Future<unknown> {
    return this.#dispatcher.submit(kind, payload, label);
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
   * @throws The first task error, as it was thrown in the worker; the signal's reason once it aborts.
   */
  async map<K extends TaskName<M>>(
    fn: K,
    items: Iterable<TaskArgs<M, K>[0]>,
    options: MapOptions = {},
  ): Promise<TaskResult<M, K>[]> {
    this.#open(`map "${fn}"`);
    const parsed = parseOptions(mapOptionsSchema, options ?? {}, `Cannot map "${fn}"`);
    const all = Array.isArray(items) ? items : [...items];
    if (all.length === 0) return [];
    const chunkSize = parsed.chunkSize ??
      Math.max(1, Math.ceil(all.length / (this.size * 4)));
    const signal = parsed.signal;
    signal?.throwIfAborted();
    const futures: Future<unknown>[] = [];
    for (let start = 0; start < all.length; start += chunkSize) {
      const chunk = all.slice(start, start + chunkSize);
      const payload = { fn, items: chunk, memories: memoriesIn(chunk) };
      futures.push(this.#submit("chunk", payload, `chunk ${start} of map (${fn})`));
    }
    const results = Promise.all(futures) as Promise<unknown[][]>;
    results.catch(() => {}); // an abort or a first error may leave it unawaited
    let onAbort: (() => void) | undefined;
    const aborted = signal === undefined ? undefined : new Promise<never>((_, reject) => {
      onAbort = () => reject(signal.reason);
      signal.addEventListener("abort", onAbort, { once: true });
    });
    try {
      const chunks = await (aborted === undefined ? results : Promise.race([results, aborted]));
      return chunks.flat() as TaskResult<M, K>[];
    } catch (error) {
      cancelQueued(futures);
      throw signal?.aborted ? signal.reason : error;
    } finally {
      if (onAbort !== undefined) signal!.removeEventListener("abort", onAbort);
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
   * @throws The first task error, when the consumer reaches it; the signal's reason, at once, when
   * it aborts.
   */
  async *mapUnordered<K extends TaskName<M>>(
    fn: K,
    items: Iterable<TaskArgs<M, K>[0]> | AsyncIterable<TaskArgs<M, K>[0]>,
    options: MapOptions = {},
  ): AsyncGenerator<TaskResult<M, K>, void, undefined> {
    this.#open(`map "${fn}"`);
    const parsed = parseOptions(mapOptionsSchema, options ?? {}, `Cannot map "${fn}"`);
    const chunkSize = parsed.chunkSize ?? 1;
    const limit = this.size * this.#maxInFlight;
    const iterator = Symbol.asyncIterator in items
      ? (items as AsyncIterable<unknown>)[Symbol.asyncIterator]()
      : (items as Iterable<unknown>)[Symbol.iterator]();
    const running = new Set<Future<unknown>>();
    const finished = new Deque<Future<unknown>>();
    let wake: (() => void) | undefined;
    let exhausted = false;
    let stopped = false;
    const fill = async () => {
      while (!exhausted && running.size < limit) {
        const chunk: unknown[] = [];
        while (chunk.length < chunkSize) {
          const next = await iterator.next();
          if (stopped) return;
          if (next.done) {
            exhausted = true;
            break;
          }
          chunk.push(next.value);
        }
        if (chunk.length === 0) break;
        const payload = { fn, items: chunk, memories: memoriesIn(chunk) };
        const future = this.#submit("chunk", payload, `map item (${fn})`);
        running.add(future);
        future.addDoneCallback(() => {
          running.delete(future);
          finished.push(future);
          wake?.();
        });
      }
    };
    // The items are pulled beside the results, not before them: a slow source delays neither the
    // results of the items it gave nor an abort.
    let filling = false;
    let failure: { error: unknown } | undefined;
    const pull = () => {
      if (filling || exhausted) return;
      filling = true;
      fill().catch((error) => failure = { error }).finally(() => {
        filling = false;
        wake?.();
      });
    };
    const signal = parsed.signal;
    const onAbort = () => wake?.();
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      signal?.throwIfAborted();
      pull();
      while (running.size > 0 || finished.length > 0 || filling) {
        signal?.throwIfAborted();
        if (failure !== undefined) throw failure.error;
        const future = finished.shift();
        if (future === undefined) {
          await new Promise<void>((resolve) => wake = resolve);
          wake = undefined;
          continue;
        }
        for (const value of await future as unknown[]) yield value as TaskResult<M, K>;
        pull();
      }
      if (failure !== undefined) throw failure.error;
    } finally {
      stopped = true;
      signal?.removeEventListener("abort", onAbort);
      cancelQueued(running);
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
    const parsed = parseOptions(reduceOptionsSchema, options ?? {}, where) as ReduceOptions<R>;
    if (!ArrayBuffer.isView(data) || !(data.buffer instanceof SharedArrayBuffer)) {
      throw new TypeError(`${where}: data must be a typed array over a SharedArrayBuffer`);
    }
    const builtin = fn === "max" || fn === "min" || fn === "sum";
    const combine = parsed.combine ??
      (builtin ? COMBINE[fn as Reducer] as unknown as (a: R, b: R) => R : undefined);
    if (combine === undefined) throw new TypeError(`${where}: combine is required for "${fn}"`);
    const initial = parsed.initial ?? (builtin ? IDENTITY[fn as Reducer] as R : undefined);
    const length = (data as unknown as { length: number }).length;
    const chunks = parsed.chunks ?? this.size;
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

  /**
   * Stops taking tasks, lets queued and running ones finish (for at most `timeoutMs`), then stops
   * the workers.
   *
   * @param options How long to wait for the tasks.
   */
  close(options: { timeoutMs?: number } = {}): Promise<void> {
    this.#closed ??= (async () => {
      this.#closing = true;
      this.#dispatcher.close();
      const timeoutMs = options.timeoutMs ?? Infinity;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timedOut = new Promise<void>((resolve) => {
        if (timeoutMs !== Infinity) timer = setTimeout(resolve, timeoutMs);
      });
      await Promise.race([this.#dispatcher.drained(), timedOut]);
      clearTimeout(timer);
      await this.#stopWorkers();
    })();
    return this.#closed;
  }

  /** Stops at once: queued tasks are cancelled, running ones fail with `ActorStoppedError`. */
  terminate(): Promise<void> {
    this.#closing = true;
    this.#dispatcher.close();
    this.#dispatcher.cancelQueued();
    this.#closed ??= this.#stopWorkers();
    return this.#closed;
  }

  async #stopWorkers(): Promise<void> {
    await this.#dispatcher.stopWorkers(1_000, !this.#ownSystem);
    if (this.#ownSystem) await this.#system.shutdown({ timeoutMs: 1_000 });
  }

  /** Closes the pool, waiting for its tasks; for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * Cancels the futures whose tasks no worker has taken yet; those running finish (as Python's
 * `Executor.map` leaves them when its iterator is closed).
 */
function cancelQueued(futures: Iterable<Future<unknown>>): void {
  for (const future of futures) if (future.status === "pending") future.cancel();
}

/**
 * The WebAssembly memories of the shared arrays among `values` (not nested deeper), so that the
 * worker can adopt them and run the SIMD kernels on the arrays; `undefined` when there are none.
 */
function memoriesIn(values: readonly unknown[]): WebAssembly.Memory[] | undefined {
  let found: WebAssembly.Memory[] | undefined;
  for (const value of values) {
    if (typeof value !== "object" || value === null || !ArrayBuffer.isView(value)) continue;
    const memory = wasmMemoryOf(value);
    if (memory !== undefined && !found?.includes(memory)) (found ??= []).push(memory);
  }
  return found;
}
