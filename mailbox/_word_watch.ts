/**
 * The watcher behind `SharedEvent.wait` and `SharedQueue`'s async `put`/`get`: it waits, without
 * blocking the thread, for one word of shared memory to change.
 *
 * `Atomics.waitAsync` alone is not enough in Deno: a pending one neither keeps the event loop alive
 * nor is sure to wake a sleeping one. So beside it a poll looks at the word on a timer that backs
 * off from 1 ms to 16 ms (the worst-case wake-up latency), and keeps the loop alive while anyone
 * waits.
 *
 * @module
 */

/** The poll's first delay, doubled after each look without a change up to {@linkcode POLL_MAX_MS}. */
export const POLL_FIRST_MS = 1;
/** The poll's longest delay: the worst-case wake-up latency should `waitAsync` not wake us. */
export const POLL_MAX_MS = 16;
/**
 * How long one `Atomics.waitAsync` listens before it is renewed. V8 cannot cancel it, so after the
 * watcher stops it lingers for at most this long (it keeps nothing alive), and a watch of the same
 * value meanwhile reuses it.
 */
export const WAIT_ASYNC_SLICE_MS = 1000;

/**
 * Watches one word for a change from a value: `Atomics.waitAsync` on it, and a poll that backs off
 * from 1 ms to 16 ms and keeps the event loop alive while the watch is on.
 */
export class WordWatch {
  readonly #word: Int32Array<SharedArrayBuffer>;
  readonly #index: number;
  readonly #onChange: () => void;
  #watched = 0;
  #active = false;
  #poll: ReturnType<typeof setTimeout> | undefined = undefined;
  #delay = POLL_FIRST_MS;
  /** Whether an `Atomics.waitAsync` on `#armedValue` is pending, and which one (`#armId`). */
  #armed = false;
  #armedValue = 0;
  #armId = 0;

  /** Watches `word[index]`; `onChange` is called, while the watch is on, when it has moved. */
  constructor(word: Int32Array<SharedArrayBuffer>, index: number, onChange: () => void) {
    this.#word = word;
    this.#index = index;
    this.#onChange = onChange;
  }

  /** Calls `onChange` once the word differs from `value` (it may call it more than once). */
  watch(value: number): void {
    this.#watched = value;
    if (!this.#active) {
      this.#active = true;
      this.#delay = POLL_FIRST_MS;
      this.#poll = setTimeout(this.#tick, this.#delay);
    }
    this.#arm();
  }

  /** Calls `onChange` now, whether or not the word moved (a last look before a timeout). */
  look(): void {
    this.#onChange();
  }

  /** Stops watching: clears the poll; a pending `waitAsync` is left to lapse (or to be reused). */
  stop(): void {
    if (!this.#active) return;
    this.#active = false;
    if (this.#poll !== undefined) clearTimeout(this.#poll);
    this.#poll = undefined;
  }

  #tick = (): void => {
    this.#poll = undefined;
    const changed = Atomics.load(this.#word, this.#index) !== this.#watched;
    if (changed) this.#onChange();
    if (!this.#active || this.#poll !== undefined) return;
    this.#delay = changed ? POLL_FIRST_MS : Math.min(this.#delay * 2, POLL_MAX_MS);
    this.#poll = setTimeout(this.#tick, this.#delay);
  };

  /** Listens for a notify on the word with `Atomics.waitAsync`, unless it already does. */
  #arm(): void {
    if (this.#armed && this.#armedValue === this.#watched) return;
    if (typeof Atomics.waitAsync !== "function") return;
    const id = ++this.#armId;
    const result = Atomics.waitAsync(this.#word, this.#index, this.#watched, WAIT_ASYNC_SLICE_MS);
    // "not-equal": the word has moved already; the poll's next look serves it, so that a word that
    // keeps moving cannot starve the event loop with microtasks.
    if (!result.async) {
      this.#armed = false;
      return;
    }
    this.#armed = true;
    this.#armedValue = this.#watched;
    result.value.then(() => {
      if (id !== this.#armId) return;
      this.#armed = false;
      if (!this.#active) return;
      if (Atomics.load(this.#word, this.#index) !== this.#watched) this.#onChange();
      // Timed out, or a notify without a change: keep listening while the watch is on.
      if (this.#active) this.#arm();
    });
  }
}
