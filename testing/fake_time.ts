/**
 * Fake time for tests: `setTimeout`, `setInterval`, `Date` and `performance.now()` stop following
 * the wall clock and move only when the test says so, over `@sinonjs/fake-timers`. Ask timeouts,
 * supervisor backoffs and every other timer a system arms on the host then run deterministically.
 *
 * @module
 */

import FakeTimers from "npm:@sinonjs/fake-timers@15.5.0";

/** The timers that fake time replaces; microtasks are left alone (Troupe delivers by them). */
const FAKED = [
  "setTimeout",
  "clearTimeout",
  "setInterval",
  "clearInterval",
  "Date",
  "performance",
] as const;

/** Options of {@linkcode FakeTime}. */
export interface FakeTimeOptions {
  /**
   * The fake clock's start, as milliseconds since the epoch or a `Date` (what `Date.now()` returns
   * at first; `performance.now()` starts at 0).
   *
   * @default {Date.now()}
   */
  now?: number | Date;
}

/** The one clock installed at a time. */
let installed: FakeTime | undefined;

/**
 * Replaces the global timers with a fake clock, from construction until {@linkcode FakeTime.restore}
 * (or the end of a `using` block). Install it **before** starting the `ActorSystem` whose time it
 * drives: a timer armed earlier keeps the real clock. It then drives what lives on the host
 * thread: ask timeouts (`askTimeoutMs`), supervisor backoff and the restart-intensity window,
 * not the checks that watch live threads (heartbeats, handler timeouts: they keep the real clock,
 * so a guest answering in real time never looks silent); not a worker's own timers (a worker has its own
 * globals). Promise reactions and Troupe's message delivery do not wait on timers, so they run as
 * usual: {@linkcode FakeTime.tickAsync} lets them run between the timers it fires.
 *
 * The waits of a {@linkcode TestProbe} use the real clock, so they work with or without fake time.
 *
 * @example An ask timeout, without waiting for it
 * ```ts
 * import { ActorSystem, ask, AskTimeoutError, defineActor } from "@troupe/troupe";
 * import { FakeTime } from "@troupe/troupe/testing";
 * import { z } from "zod";
 * import { rejects } from "node:assert/strict";
 *
 * const Silent = defineActor({
 *   name: "silent",
 *   url: import.meta.url,
 *   protocol: { wait: ask(z.object({}), z.number()) },
 *   init: () => ({}),
 *   handlers: {
 *     // Answers nothing until the actor stops.
 *     wait: (_state, _msg, ctx) =>
 *       new Promise<number>((_resolve, reject) => ctx.signal.onabort = () => reject(ctx.signal.reason)),
 *   },
 * });
 *
 * using time = new FakeTime();
 * await using system = await ActorSystem.start({ name: "fake-time", heartbeat: false });
 * const silent = await system.spawn(Silent, { placement: "local" });
 * const timedOut = rejects(silent.ask("wait", {}, { timeoutMs: 60_000 }), AskTimeoutError);
 * await time.tickAsync(60_000);
 * await timedOut;
 * ```
 */
export class FakeTime implements Disposable {
  readonly #clock: ReturnType<typeof FakeTimers.install>;
  #restored = false;

  /**
   * Installs the fake clock on `globalThis`.
   *
   * @param options Where the fake clock starts.
   * @throws {TypeError} When another `FakeTime` is installed and not yet restored.
   */
  constructor(options: FakeTimeOptions = {}) {
    if (installed !== undefined) {
      throw new TypeError("Cannot install FakeTime: another one is installed, restore it first");
    }
    const now = options.now ?? Date.now();
    if (!(now instanceof Date) && !Number.isFinite(now)) {
      throw new TypeError(`Cannot install FakeTime: now must be a finite number, received ${now}`);
    }
    this.#clock = FakeTimers.install({
      now,
      toFake: [...FAKED],
      // A real timer armed before the install can still be cleared.
      shouldClearNativeTimers: true,
    });
    installed = this;
  }

  /** The fake `Date.now()`, in milliseconds since the epoch. */
  get now(): number {
    return this.#clock.now;
  }

  /**
   * Moves the clock `ms` forward at once, firing every timer due on the way, synchronously (no
   * promise reaction runs between two timers: prefer {@linkcode FakeTime.tickAsync} with actors).
   *
   * @param ms How far, in milliseconds.
   */
  tick(ms: number): void {
    this.#clock.tick(checkMs(ms));
  }

  /**
   * Moves the clock `ms` forward, firing the timers due on the way in order and letting promise
   * reactions (a handler's reply, a supervisor's next step) run after each.
   *
   * @param ms How far, in milliseconds.
   * @returns Once the clock got there.
   */
  async tickAsync(ms: number): Promise<void> {
    await this.#clock.tickAsync(checkMs(ms));
  }

  /**
   * Fires every pending timer, and those they arm, until none is left.
   *
   * @throws {Error} When timers keep arming others (an interval such as the system's heartbeat:
   *   start the system with `heartbeat: false`, or use {@linkcode FakeTime.tick}).
   */
  runAll(): void {
    this.#clock.runAll();
  }

  /**
   * {@linkcode FakeTime.runAll}, letting promise reactions run after each timer.
   *
   * @throws {Error} When timers keep arming others.
   */
  async runAllAsync(): Promise<void> {
    await this.#clock.runAllAsync();
  }

  /** Puts the real timers back; the fake ones still pending never fire. Safe to call twice. */
  restore(): void {
    if (this.#restored) return;
    this.#restored = true;
    this.#clock.uninstall();
    if (installed === this) installed = undefined;
  }

  /** {@linkcode FakeTime.restore}, for `using`. */
  [Symbol.dispose](): void {
    this.restore();
  }
}

function checkMs(ms: number): number {
  if (typeof ms !== "number" || !Number.isFinite(ms) || ms < 0) {
    throw new RangeError(`Cannot move fake time: ms must be a finite number ≥ 0, received ${ms}`);
  }
  return ms;
}
