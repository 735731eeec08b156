/**
 * Tiny private helpers shared across layers.
 *
 * @module
 */

import { Deque } from "./mailbox/_deque.ts";

/** A scheduled callback that can be cancelled. */
export interface Deadline {
  readonly at: number;
  fire: (() => void) | undefined;
}

/**
 * Many timeouts on one timer. A `setTimeout`/`clearTimeout` pair costs microseconds in Deno, as much
 * as an ask round trip to a worker, so asks share this queue instead: deadlines with the same delay
 * expire in the order they were added, one FIFO per delay, and one timer is armed for the earliest.
 * Cancelling is O(1) (the entry is skipped when its time comes). The timer is unref'd: it never
 * keeps the process alive on its own.
 */
export class Deadlines {
  readonly #queues = new Map<number, Deque<Deadline>>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #armedAt = Infinity;
  #live = 0;

  /** Calls `fire` after `ms` milliseconds unless cancelled first. */
  add(ms: number, fire: () => void): Deadline {
    const deadline: Deadline = { at: performance.now() + ms, fire };
    let queue = this.#queues.get(ms);
    if (queue === undefined) this.#queues.set(ms, queue = new Deque());
    queue.push(deadline);
    this.#live++;
    if (deadline.at < this.#armedAt) this.#arm(deadline.at);
    return deadline;
  }

  /** Cancels a deadline; cancelling twice or after it fired does nothing. */
  cancel(deadline: Deadline): void {
    if (deadline.fire === undefined) return;
    deadline.fire = undefined;
    this.#live--;
  }

  /** Cancels every deadline and the timer. */
  clear(): void {
    for (const queue of this.#queues.values()) for (const d of queue) d.fire = undefined;
    this.#queues.clear();
    this.#live = 0;
    this.#disarm();
  }

  #arm(at: number): void {
    this.#disarm();
    this.#armedAt = at;
    this.#timer = setTimeout(this.#expire, Math.max(0, at - performance.now()));
    try {
      Deno.unrefTimer(this.#timer as unknown as number);
    } catch {
      // Not a Deno timer (fake timers in tests): nothing to unref.
    }
  }

  #disarm(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#armedAt = Infinity;
  }

  #expire = (): void => {
    this.#timer = undefined;
    this.#armedAt = Infinity;
    const now = performance.now();
    let next = Infinity;
    for (const [ms, queue] of this.#queues) {
      let front = queue.peek();
      while (front !== undefined && (front.fire === undefined || front.at <= now)) {
        queue.shift();
        const fire = front.fire;
        if (fire !== undefined) {
          front.fire = undefined;
          this.#live--;
          fire();
        }
        front = queue.peek();
      }
      if (front === undefined) this.#queues.delete(ms);
      else if (front.at < next) next = front.at;
    }
    if (this.#live > 0 && next < Infinity) this.#arm(next);
    else if (this.#live === 0) this.#queues.clear();
  };
}
