/**
 * A double-ended queue on a growable ring buffer: O(1) push and shift at both ends and O(1) indexed
 * reads, with no per-item allocation. `Array.prototype.shift` is O(n) on large arrays, which the
 * message path cannot afford.
 *
 * @module
 */

const MIN_CAPACITY = 16;

/** A double-ended queue on a growable ring buffer. */
export class Deque<T> {
  #items: (T | undefined)[] = new Array(MIN_CAPACITY);
  #head = 0;
  #length = 0;
  #mask = MIN_CAPACITY - 1;

  /** How many items are queued. */
  get length(): number {
    return this.#length;
  }

  /** Appends an item at the back. */
  push(item: T): void {
    if (this.#length === this.#items.length) this.#grow();
    this.#items[(this.#head + this.#length) & this.#mask] = item;
    this.#length++;
  }

  /** Prepends an item at the front. */
  unshift(item: T): void {
    if (this.#length === this.#items.length) this.#grow();
    this.#head = (this.#head - 1) & this.#mask;
    this.#items[this.#head] = item;
    this.#length++;
  }

  /** Removes and returns the front item, or `undefined` when empty. */
  shift(): T | undefined {
    if (this.#length === 0) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head] = undefined;
    this.#head = (this.#head + 1) & this.#mask;
    this.#length--;
    return item;
  }

  /** Removes and returns the back item, or `undefined` when empty. */
  pop(): T | undefined {
    if (this.#length === 0) return undefined;
    this.#length--;
    const index = (this.#head + this.#length) & this.#mask;
    const item = this.#items[index];
    this.#items[index] = undefined;
    return item;
  }

  /** The front item, or `undefined` when empty. */
  peek(): T | undefined {
    return this.#length === 0 ? undefined : this.#items[this.#head];
  }

  /** The item at `index` from the front (0-based), or `undefined` when out of range. */
  at(index: number): T | undefined {
    if (index < 0 || index >= this.#length) return undefined;
    return this.#items[(this.#head + index) & this.#mask];
  }

  /** Removes every item. */
  clear(): void {
    this.#items = new Array(MIN_CAPACITY);
    this.#head = 0;
    this.#length = 0;
    this.#mask = MIN_CAPACITY - 1;
  }

  /** Removes every item and returns them front to back. */
  drain(): T[] {
    const out = [...this];
    this.clear();
    return out;
  }

  /** Iterates front to back without removing. */
  *[Symbol.iterator](): IterableIterator<T> {
    for (let i = 0; i < this.#length; i++) {
      yield this.#items[(this.#head + i) & this.#mask] as T;
    }
  }

  #grow(): void {
    const old = this.#items;
    const size = old.length * 2;
    const next: (T | undefined)[] = new Array(size);
    for (let i = 0; i < this.#length; i++) next[i] = old[(this.#head + i) & this.#mask];
    this.#items = next;
    this.#head = 0;
    this.#mask = size - 1;
  }
}
