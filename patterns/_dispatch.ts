/**
 * The pool's scheduler: its queue of tasks, the tasks each worker holds, the pump that hands tasks
 * out, the adaptive depth, task timeouts, cancellation, retries and the replacement of a worker
 * whose task ignores its cancellation. It knows workers only as {@linkcode WorkerLink}s, so it is
 * unit-tested with fake ones; `pool.ts` gives it links to `PoolWorker` actors.
 *
 * ```
 *  submit ─▶ queue ─┐                      ┌─▶ link 1: ask "run" / "chunk" / "reduce", or "batch"
 *  (retries ─▶ retry, first) ─▶ pump ──────┼─▶ link 2 …           (≤ depth tasks per worker)
 *                     ▲                    │
 *                     └── finish / lost ◀──┘  outcome settles the task's future; pump again
 * ```
 *
 * @module
 */

import { ActorCrashedError, ActorStoppedError, TimeoutError } from "../errors.ts";
import { Deque, longTimeout } from "../_util.ts";
import { deserializeError } from "../mailbox/wire.ts";
import { CANCEL_SLOTS, type TaskOutcome } from "./_pool_worker.ts";
import type { Future, FutureController } from "./future.ts";
import "./future.ts"; // its class fills `hooks` in
import { hooks } from "./_future_internal.ts";

/** What a task asks its worker to do. */
export type Kind = "run" | "chunk" | "reduce";

/** A batch of `run` tasks, as the worker's `batch` ask takes it. */
export interface BatchPayload {
  tasks: number[];
  fns: string[];
  args: unknown[][];
  memories: WebAssembly.Memory[] | undefined;
}

/** The dispatcher's end of one worker. */
export interface WorkerLink {
  /** Runs one task; rejects when the worker dies or is stopped. */
  ask(kind: Kind, payload: Record<string, unknown>): Promise<TaskOutcome>;
  /** Runs `run` tasks in order; one outcome per task. */
  batch(payload: BatchPayload): Promise<TaskOutcome[]>;
  /** Stops the worker, waiting at most `timeoutMs` for it. */
  stop(timeoutMs: number): Promise<void>;
}

/** Starts worker `index`, whose tasks are cancelled through `cancels`. */
export type SpawnWorker = (
  index: number,
  cancels: Int32Array<SharedArrayBuffer>,
) => Promise<WorkerLink>;

/** The scheduler's settings: the pool's options, resolved. */
export interface DispatchOptions {
  readonly retries: number;
  readonly taskTimeoutMs: number;
  readonly cancelGraceMs: number;
  readonly maxInFlight: number;
  /** Names the pool in `ActorStoppedError`: `/<name>`. */
  readonly name: string;
}

/** A snapshot of the scheduler's figures (the pool's `stats()`). */
export interface DispatchStats {
  readonly size: number;
  readonly queued: number;
  readonly inFlight: number;
  readonly completed: number;
  readonly replaced: number;
}

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
  /** Stops the task's timeout. */
  timer: (() => void) | undefined;
  /** Stops the grace period of its cancellation. */
  grace: (() => void) | undefined;
  /** Failed or cancelled by the pool already; whatever the worker says later is ignored. */
  settled: boolean;
}

interface Slot {
  readonly index: number;
  readonly link: WorkerLink;
  readonly cancels: Int32Array<SharedArrayBuffer>;
  readonly inFlight: Deque<Task>;
  replacing: boolean;
}

/** Tasks shorter than this on average are pipelined; longer ones go one per worker. */
export const SHORT_TASK_MS = 1;

/**
 * Hands tasks to workers. While tasks take milliseconds, each worker holds one (a free worker takes
 * the next, as in Python's pools); once they prove short, up to `maxInFlight`, and consecutive `run`
 * tasks for one worker travel as one batch. A task runs once the tasks before it on its worker have
 * finished; its timeout counts from then.
 */
export class Dispatcher {
  readonly #options: DispatchOptions;
  readonly #spawnWorker: SpawnWorker;
  readonly #slots: Slot[] = [];
  readonly #queue = new Deque<Task>();
  readonly #retry = new Deque<Task>();
  readonly #idle: Array<() => void> = [];
  #nextTask = 1;
  #pumpScheduled = false;
  #completed = 0;
  /** How long tasks run, on average (milliseconds); unknown until one has finished. */
  #runMs: number | undefined;
  #replaced = 0;
  #closing = false;

  constructor(options: DispatchOptions, spawnWorker: SpawnWorker) {
    this.#options = options;
    this.#spawnWorker = spawnWorker;
  }

  /** Starts worker `index` (again, after a replacement) and hands it tasks. */
  async spawn(index: number): Promise<void> {
    const cancels = new Int32Array(new SharedArrayBuffer(CANCEL_SLOTS * 4));
    const link = await this.#spawnWorker(index, cancels);
    this.#slots[index] = { index, link, cancels, inFlight: new Deque(), replacing: false };
    this.#pump();
  }

  /** How many workers there are. */
  get size(): number {
    return this.#slots.length;
  }

  /** The id the next task will get. */
  get nextTaskId(): number {
    return this.#nextTask;
  }

  /** Current figures. */
  stats(): DispatchStats {
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

  /** Queues a task: its future starts running when a worker takes it. */
  submit(kind: Kind, payload: Record<string, unknown>, label: string): Future<unknown> {
    const id = this.#nextTask++;
    const controller = hooks.create<unknown>(label, (status) => {
      if (status === "running") this.#cancelRunning(task);
      else task.settled = true; // a queued task is skipped when its turn comes
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

  /** Resolves once no task is queued or held by a worker. */
  drained(): Promise<void> {
    if (this.#queue.length + this.#retry.length === 0 && this.stats().inFlight === 0) {
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** No more replacements: the pool is closing. */
  close(): void {
    this.#closing = true;
  }

  /** Cancels every queued task. */
  cancelQueued(): void {
    for (const task of [...this.#retry.drain(), ...this.#queue.drain()]) {
      task.controller.future.cancel();
    }
  }

  /** Fails every queued task with `ActorStoppedError`, then stops every worker. */
  async stopWorkers(timeoutMs: number, stopLinks: boolean): Promise<void> {
    for (const task of [...this.#retry.drain(), ...this.#queue.drain()]) {
      task.settled = true;
      task.controller.reject(new ActorStoppedError(`/${this.#options.name}`));
    }
    if (stopLinks) await Promise.all(this.#slots.map((slot) => slot.link.stop(timeoutMs)));
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
   * Hands queued tasks to the least busy workers. Consecutive `run` tasks for one worker go in
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
    slot.link.ask(task.kind, task.payload).then(
      (outcome) => this.#finish(slot, task, outcome),
      (error) => this.#lost(slot, task, error),
    );
  }

  #dispatchBatch(slot: Slot, tasks: Task[]): void {
    let memories: WebAssembly.Memory[] | undefined;
    for (const task of tasks) {
      this.#hold(slot, task);
      const more = task.payload.memories as WebAssembly.Memory[] | undefined;
      if (more !== undefined) (memories ??= []).push(...more);
    }
    slot.link.batch({
      tasks: tasks.map((task) => task.id),
      fns: tasks.map((task) => task.payload.fn as string),
      args: tasks.map((task) => task.payload.args as unknown[]),
      memories,
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
    return this.#runMs !== undefined && this.#runMs < SHORT_TASK_MS ? this.#options.maxInFlight : 1;
  }

  /** The task is now the oldest on its worker: it runs, and its timeout starts. */
  #started(task: Task): void {
    task.startedAt = performance.now();
    const timeoutMs = this.#options.taskTimeoutMs;
    if (timeoutMs === Infinity || task.settled) return;
    task.timer = longTimeout(timeoutMs, () => {
      task.timer = undefined;
      if (task.settled) return;
      task.settled = true;
      task.controller.reject(new TimeoutError(task.label, timeoutMs));
      this.#abort(task);
    });
  }

  /** Removes a finished task from its worker and starts the clock of the next one. */
  #release(slot: Slot, task: Task): void {
    task.timer?.();
    task.grace?.();
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
    } else if (error instanceof ActorCrashedError && task.attempts <= this.#options.retries) {
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
    if (this.#options.cancelGraceMs === Infinity) return;
    task.grace = longTimeout(this.#options.cancelGraceMs, () => {
      task.grace = undefined;
      if (slot.inFlight.peek() === task) void this.#replace(slot);
    });
  }

  /** Ends a worker whose task ignores its cancellation and starts a new one in its place. */
  async #replace(slot: Slot): Promise<void> {
    if (slot.replacing || this.#closing) return;
    slot.replacing = true;
    this.#replaced++;
    await slot.link.stop(0.001);
    if (this.#closing) return;
    try {
      await this.spawn(slot.index);
    } catch {
      // The pool shrinks by one: the others carry on.
    }
  }
}
