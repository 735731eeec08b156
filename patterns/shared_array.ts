/**
 * Typed arrays over shared memory, for data that many workers read without copying it: seed 002's
 * `SharedArray.create("shm://…")`, without the name.
 *
 * ```
 *   main thread                                    worker
 *   ───────────                                    ──────
 *   data = sharedArray(Float64Array, n)
 *   memory = wasmMemoryOf(data)
 *   worker.postMessage({ data, memory })  ───────▶ onmessage = ({ data: { data, memory } }) => {
 *                                                    adoptWasmMemory(memory);
 *                                                    reduceRange("max", data, start, end);
 *                                                  };
 *          the same bytes on both sides: nothing is copied
 * ```
 *
 * An array of 64 KiB or more is a view of its own shared `WebAssembly.Memory`, whose `buffer` is a
 * `SharedArrayBuffer`: the reduction kernels of {@linkcode reduceRange} then run as WebAssembly SIMD
 * over the array in place. A smaller array, or one too large for a 32-bit memory (4 GiB), sits on a
 * plain `SharedArrayBuffer` and is reduced in JavaScript. Either way the array is shared: posting it
 * to a worker shares its memory, it does not copy it.
 *
 * Post the array and its memory to a worker once, and then only the ranges to reduce: every message
 * arrives as new objects, and a thread instantiates the kernels once per memory object it sees
 * (about 30 µs each).
 *
 * @module
 */

import { describe } from "../_util.ts";

/** The typed array constructors {@linkcode sharedArray} accepts. */
export type SharedArrayConstructor =
  | Float64ArrayConstructor
  | Float32ArrayConstructor
  | Int32ArrayConstructor
  | Uint32ArrayConstructor
  | Int16ArrayConstructor
  | Uint16ArrayConstructor
  | Int8ArrayConstructor
  | Uint8ArrayConstructor;

/**
 * A typed array of one of the element types {@linkcode sharedArray} and
 * {@linkcode reduceRange} support, over any kind of buffer.
 *
 * @typeParam B The kind of buffer.
 */
export type NumericArray<B extends ArrayBufferLike = ArrayBufferLike> =
  | Float64Array<B>
  | Float32Array<B>
  | Int32Array<B>
  | Uint32Array<B>
  | Int16Array<B>
  | Uint16Array<B>
  | Int8Array<B>
  | Uint8Array<B>;

/**
 * The array {@linkcode sharedArray} returns for the constructor `C`.
 *
 * @typeParam C The typed array constructor.
 */
export type SharedArray<C extends SharedArrayConstructor> = C extends Float64ArrayConstructor
  ? Float64Array<SharedArrayBuffer>
  : C extends Float32ArrayConstructor ? Float32Array<SharedArrayBuffer>
  : C extends Int32ArrayConstructor ? Int32Array<SharedArrayBuffer>
  : C extends Uint32ArrayConstructor ? Uint32Array<SharedArrayBuffer>
  : C extends Int16ArrayConstructor ? Int16Array<SharedArrayBuffer>
  : C extends Uint16ArrayConstructor ? Uint16Array<SharedArrayBuffer>
  : C extends Int8ArrayConstructor ? Int8Array<SharedArrayBuffer>
  : C extends Uint8ArrayConstructor ? Uint8Array<SharedArrayBuffer>
  : never;

/** The typed arrays `sharedArray` allocates, in the order the SIMD kernels are laid out. */
export const TYPES: readonly SharedArrayConstructor[] = [
  Float64Array,
  Float32Array,
  Int32Array,
  Uint32Array,
  Int16Array,
  Uint16Array,
  Int8Array,
  Uint8Array,
];

const PAGE_BYTES = 65_536;
/** Below one page, a WebAssembly memory would waste more than it saves. */
const MIN_WASM_BYTES = PAGE_BYTES;
/**
 * One page short of 4 GiB, so that a kernel's end address `byteOffset + length * bytes` still fits
 * in an unsigned 32-bit integer.
 */
const MAX_WASM_PAGES = 65_535;

/**
 * The shared WebAssembly memory under each buffer this thread knows of. A per-thread cache, not
 * state: a buffer is registered when it is allocated here or adopted from a message, and dropped
 * with the buffer.
 */
const memories = new WeakMap<ArrayBufferLike, WebAssembly.Memory>();

/**
 * Allocates a zero-filled typed array over new shared memory. Posting it to a worker shares it (the
 * worker sees every write) rather than copying it.
 *
 * From 64 KiB up to 4 GiB the array is a view of its own shared `WebAssembly.Memory` (see
 * {@linkcode wasmMemoryOf}), starting at byte 0; its `buffer` may be longer than the array, up to the
 * next 64 KiB. Otherwise it sits on a `SharedArrayBuffer` of exactly its size.
 *
 * 64-bit integer arrays are not supported: the reductions return a `number`, which cannot hold their
 * sums exactly.
 *
 * @typeParam C The typed array constructor.
 * @param Type One of `Float64Array`, `Float32Array`, `Int32Array`, `Uint32Array`, `Int16Array`,
 * `Uint16Array`, `Int8Array`, `Uint8Array`.
 * @param length The number of elements, a non-negative integer.
 * @returns The array, every element 0.
 * @throws {TypeError} If `Type` is not one of the supported constructors.
 * @throws {RangeError} If `length` is not a non-negative integer, or the memory cannot be allocated.
 *
 * @example One array, shared
 * ```ts
 * import { isShared, sharedArray } from "@troupe/troupe/patterns";
 * import { equal, ok } from "node:assert/strict";
 *
 * const data = sharedArray(Float64Array, 1_000_000);
 * data.fill(0.5);
 * equal(data.length, 1_000_000);
 * ok(isShared(data));
 * ```
 */
export function sharedArray<C extends SharedArrayConstructor>(
  Type: C,
  length: number,
): SharedArray<C> {
  const where = "Cannot allocate shared array";
  if (!TYPES.includes(Type)) {
    throw new TypeError(
      `${where}: Type must be one of ${TYPES.map((T) => T.name).join(", ")}, received ${
        describe(Type)
      }`,
    );
  }
  if (typeof length !== "number") {
    throw new TypeError(`${where}: length must be a number, received ${describe(length)}`);
  }
  if (!Number.isSafeInteger(length) || length < 0) {
    throw new RangeError(`${where}: length must be a non-negative integer, received ${length}`);
  }
  const bytes = length * Type.BYTES_PER_ELEMENT;
  const pages = Math.ceil(bytes / PAGE_BYTES);
  if (bytes >= MIN_WASM_BYTES && pages <= MAX_WASM_PAGES) {
    let memory: WebAssembly.Memory | undefined;
    try {
      memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
    } catch (error) {
      // Out of address space for WebAssembly memories: a plain buffer may still fit.
      if (!(error instanceof RangeError)) throw error;
    }
    if (memory !== undefined) {
      memories.set(memory.buffer, memory);
      return view(Type, memory.buffer as SharedArrayBuffer, length);
    }
  }
  let buffer: SharedArrayBuffer;
  try {
    buffer = new SharedArrayBuffer(bytes);
  } catch (error) {
    throw new RangeError(
      `${where}: ${length} elements of ${Type.name} (${bytes} bytes) could not be allocated`,
      { cause: error },
    );
  }
  return view(Type, buffer, length);
}

function view<C extends SharedArrayConstructor>(
  Type: C,
  buffer: SharedArrayBuffer,
  length: number,
): SharedArray<C> {
  const Constructor = Type as unknown as new (
    buffer: SharedArrayBuffer,
    byteOffset: number,
    length: number,
  ) => NumericArray<SharedArrayBuffer>;
  return new Constructor(buffer, 0, length) as SharedArray<C>;
}

/**
 * Tells whether a typed array (or `DataView`) is a view of shared memory, so that posting it to a
 * worker shares it instead of copying it.
 *
 * @typeParam T The view's type.
 * @param array Any value; only views of a `SharedArrayBuffer` pass.
 * @returns `true` if `array` is a view of a `SharedArrayBuffer`.
 *
 * @example
 * ```ts
 * import { isShared, sharedArray } from "@troupe/troupe/patterns";
 * import { equal } from "node:assert/strict";
 *
 * equal(isShared(sharedArray(Int32Array, 4)), true);
 * equal(isShared(new Int32Array(4)), false);
 * ```
 */
export function isShared<T extends ArrayBufferView>(
  array: T,
): array is T & { readonly buffer: SharedArrayBuffer } {
  return ArrayBuffer.isView(array) && array.buffer instanceof SharedArrayBuffer;
}

/**
 * The shared `WebAssembly.Memory` a typed array is a view of, if this thread knows it: the arrays
 * {@linkcode sharedArray} allocates from 64 KiB, and the views of memories passed to
 * {@linkcode adoptWasmMemory}. Post it to a worker in the same message as the array, so that the
 * worker can adopt it and reduce the array with the WebAssembly kernels.
 *
 * @param array A typed array (or `DataView`).
 * @returns The memory, or `undefined` if the array's buffer is not a known WebAssembly memory.
 *
 * @example Handing the memory to a worker with the array
 * ```ts
 * import { sharedArray, wasmMemoryOf } from "@troupe/troupe/patterns";
 * import { equal, ok } from "node:assert/strict";
 *
 * const data = sharedArray(Float64Array, 100_000);
 * const memory = wasmMemoryOf(data);
 * ok(memory instanceof WebAssembly.Memory);
 * equal(memory.buffer, data.buffer);
 * // worker.postMessage({ data, memory });
 * equal(wasmMemoryOf(sharedArray(Float64Array, 10)), undefined); // under 64 KiB
 * ```
 */
export function wasmMemoryOf(array: ArrayBufferView): WebAssembly.Memory | undefined {
  return memories.get(array.buffer);
}

/**
 * Makes a shared `WebAssembly.Memory` received from another thread known to this one, so that
 * {@linkcode reduceRange} runs its WebAssembly kernels over views of it. Adopting the same memory
 * twice does nothing.
 *
 * Structured cloning keeps identity within one message: a typed array posted together with its
 * memory (`postMessage({ data, memory })`) arrives as a view of `memory.buffer`, as does any view the
 * worker makes of `memory.buffer` itself. Posted in separate messages, the array's buffer is a
 * different object, and the array is reduced in JavaScript. Adopt a memory once and keep the views:
 * each adopted memory object gets its own instance of the kernels (about 30 µs to make).
 *
 * @param memory A shared memory, as {@linkcode wasmMemoryOf} returns.
 * @throws {TypeError} If `memory` is not a shared `WebAssembly.Memory`.
 *
 * @example In a worker
 * ```ts
 * import { adoptWasmMemory, reduceRange, wasmMemoryOf } from "@troupe/troupe/patterns";
 * import { equal } from "node:assert/strict";
 *
 * // self.onmessage = ({ data: { data, memory } }) => { adoptWasmMemory(memory); … }
 * const memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
 * adoptWasmMemory(memory);
 * const data = new Float64Array(memory.buffer, 0, 4).fill(2);
 * equal(wasmMemoryOf(data), memory);
 * equal(reduceRange("sum", data), 8);
 * ```
 */
export function adoptWasmMemory(memory: WebAssembly.Memory): void {
  if (!(memory instanceof WebAssembly.Memory) || !(memory.buffer instanceof SharedArrayBuffer)) {
    throw new TypeError(
      `Cannot adopt WebAssembly memory: memory must be a shared WebAssembly.Memory, received ${
        describe(memory)
      }`,
    );
  }
  memories.set(memory.buffer, memory);
}
