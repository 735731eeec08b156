/**
 * The per-incarnation slot: a small `SharedArrayBuffer` the host makes for each cell it spawns and
 * the guest writes while it runs messages, so that the host knows, without a round trip, what the
 * guest was doing when it died or stalled.
 *
 * ```
 *  byte  0  Int32    stop      set by the host: ctx.shouldStop(), and no new message starts
 *  byte  4  Int32    running   low 32 bits of the seq of the message that started last
 *  byte  8  Int32    finished  low 32 bits of the seq of the message that finished last
 *  byte 12  Int32    (spare)
 *  byte 16  Float64  started   when `running` started, or its last ctx.working()
 *                              (performance.timeOrigin + performance.now(), in ms)
 * ```
 *
 * Messages of one cell run one at a time in seq order, so a message is running exactly when
 * `running !== finished`. Seqs are stored modulo 2³²; the host widens them against the oldest
 * unacknowledged seq, which is never more than the prefetch window away.
 *
 * The cost per message is what shapes the writes: `running` is an `Atomics.store` (which also
 * publishes the plain store of the previous `finished` before it), `finished` a plain store, and
 * `started` is written only when the actor has a `handlerTimeoutMs` (`performance.now()` costs
 * ~100 ns here). The host reads `running` first; a `finished` it reads stale can only make a
 * finished message look running (charged), never a running one look finished. When the host reads
 * after a message from the guest (an exit notice, a fault), every write before it is visible.
 *
 * @module
 */

/** Size of a slot in bytes. */
import { liveClock } from "./_clock.ts";

export const SLOT_BYTES = 24;
/** Int32 index of the stop flag. */
export const STOP = 0;
/** Int32 index of the seq that started last. */
export const RUNNING = 1;
/** Int32 index of the seq that finished last. */
export const FINISHED = 2;
/** Float64 index of the start time of the running message. */
export const STARTED = 2;

/** The current time on a clock that every thread of this process shares, in ms. */
export function wallNow(): number {
  return performance.timeOrigin + liveClock.now();
}

/** A new slot whose `running` and `finished` both say `lastSeq`: nothing is running. */
export function newSlot(lastSeq: number): Int32Array<SharedArrayBuffer> {
  const slot = new Int32Array(new SharedArrayBuffer(SLOT_BYTES));
  resetSlot(slot, lastSeq);
  return slot;
}

/** Marks the slot idle, with every seq up to `lastSeq` finished. */
export function resetSlot(slot: Int32Array, lastSeq: number): void {
  Atomics.store(slot, FINISHED, lastSeq | 0);
  Atomics.store(slot, RUNNING, lastSeq | 0);
}

/** What the host reads from a slot: full seqs, widened around a seq the host knows. */
export interface SlotReading {
  /** The seq of the running message, or `undefined` when none is running. */
  readonly running: number | undefined;
  /** Every seq up to this one has finished. */
  readonly finished: number;
  /** When the running message started (or last called `ctx.working()`), on {@linkcode wallNow}'s clock. */
  readonly started: number;
}

/**
 * Reads a slot.
 *
 * @param near A seq within 2³¹ of the slot's: the oldest unacknowledged seq minus one.
 */
export function readSlot(slot: Int32Array, near: number): SlotReading {
  const running = Atomics.load(slot, RUNNING);
  const finished = Atomics.load(slot, FINISHED);
  const started = new Float64Array(slot.buffer, 0, 3)[STARTED];
  const floor = near - 2 ** 31;
  return {
    running: running === finished ? undefined : widen(running, floor),
    finished: widen(finished, floor),
    started,
  };
}

/** The full seq whose low 32 bits are `low`, the first at or after `floor`. */
function widen(low: number, floor: number): number {
  return floor + ((low - floor) >>> 0);
}

/** The guest's side of a slot: one per cell. */
export class SlotWriter {
  readonly #stop: Int32Array;
  readonly #flags: Int32Array;
  readonly #times: Float64Array;

  /** Whether starts are timed (the actor has a `handlerTimeoutMs`). */
  readonly #timed: boolean;

  /**
   * @param buffer The slot the host made for this cell. A buffer that only holds a stop flag (4
   * bytes) is accepted: the rest is then recorded where nobody reads it.
   * @param timed Record each message's start time (for `handlerTimeoutMs`).
   */
  constructor(buffer: SharedArrayBuffer, timed = false) {
    this.#timed = timed;
    this.#stop = new Int32Array(buffer, 0, 1);
    const record = buffer.byteLength >= SLOT_BYTES ? buffer : new SharedArrayBuffer(SLOT_BYTES);
    this.#flags = new Int32Array(record, 0, SLOT_BYTES >> 2);
    this.#times = new Float64Array(record, 0, 3);
  }

  /** Whether the host asked this cell to stop. */
  get stopping(): boolean {
    return Atomics.load(this.#stop, STOP) !== 0;
  }

  /** Message `seq` starts now. */
  begin(seq: number): void {
    if (this.#timed) this.#times[STARTED] = wallNow();
    Atomics.store(this.#flags, RUNNING, seq | 0);
  }

  /** Message `seq` has finished (its handler returned or settled). */
  end(seq: number): void {
    this.#flags[FINISHED] = seq | 0; // published by the next begin(), or by the next postMessage
  }

  /** The running handler is making progress: its timeout counts from now. */
  working(): void {
    this.#times[STARTED] = wallNow();
  }
}
