/**
 * Reduction kernels over typed arrays: `max`, `min` and `sum` of a range, and the split of an array
 * into ranges for workers to reduce side by side (seed 002's max over 300M floats).
 *
 * ```
 *   reduceRange(kind, array, start, end)
 *     ├─ a view of a shared WebAssembly.Memory, ≥ 64 elements ─▶ SIMD kernel in place (f64x2, …)
 *     └─ any other buffer, or a shorter range ─────────────────▶ JavaScript loop
 * ```
 *
 * The WebAssembly module's bytes are embedded in `_kernels_wasm.ts`, which `deno task kernels`
 * writes from the table of instructions in `_assemble_kernels.ts` (no `wat2wasm`; a test checks that
 * the two agree). This module and the pool's workers load only the bytes, never the assembler. A
 * thread compiles them the first time it needs them (about 1 ms) and instantiates them once per
 * memory. The kernels only run where
 * {@linkcode sharedArray} (or {@linkcode adoptWasmMemory}) put the array in a WebAssembly memory: a
 * WebAssembly module cannot see an arbitrary `SharedArrayBuffer`.
 *
 * Nothing here touches main-thread-only APIs: workers import this module and call
 * {@linkcode reduceRange} as often as they like.
 *
 * @module
 */

import { describe } from "../_util.ts";
import type { NumericArray } from "./shared_array.ts";
import { TYPES as SHARED_TYPES, wasmMemoryOf } from "./shared_array.ts";
import { KERNEL_NAMES, KERNELS_WASM } from "./_kernels_wasm.ts";

/** What {@linkcode reduceRange} computes. */
export type ReduceKind = "max" | "min" | "sum";

/**
 * Reduces the elements `[start, end)` of a typed array to their maximum, minimum or sum.
 *
 * - `"max"` and `"min"` follow `Math.max` and `Math.min` exactly: a `NaN` anywhere in the range makes
 *   the result `NaN`, and `+0` is greater than `-0`. An empty range gives `-Infinity` (max) or
 *   `Infinity` (min).
 * - `"sum"` adds in double precision, from `+0` (so it never returns `-0`; an empty range gives 0).
 *   The order of the additions differs between the WebAssembly and the JavaScript paths, so two sums
 *   of the same floats may differ in the last bits: each is within `length × 2⁻⁵² × Σ|xᵢ|` of the
 *   exact sum (`Float32Array` elements are added as doubles too). A `NaN`, or both infinities, give
 *   `NaN`. If partial sums overflow to infinity, the paths may disagree about it. Integer sums are
 *   exact while their partial sums stay within ±2⁵³.
 *
 * An array that is a view of a shared `WebAssembly.Memory` ({@linkcode sharedArray} allocates one
 * from 64 KiB; see {@linkcode wasmMemoryOf}) is reduced by a WebAssembly SIMD kernel, others by a
 * JavaScript loop. The kernels are compiled once per thread, on first use.
 *
 * @param kind `"max"`, `"min"` or `"sum"`.
 * @param array A `Float64Array`, `Float32Array`, `Int32Array`, `Uint32Array`, `Int16Array`,
 * `Uint16Array`, `Int8Array` or `Uint8Array`, over any buffer.
 * @param start The first index, an integer from 0 to `end`.
 * @default {0} start
 * @param end The index after the last, an integer from `start` to `array.length`.
 * @default {array.length} end
 * @returns The maximum, minimum or sum.
 * @throws {TypeError} If `kind` or the array's type is not supported.
 * @throws {RangeError} If `start` or `end` is not an integer with `0 ≤ start ≤ end ≤ length`.
 *
 * @example The maximum of half an array
 * ```ts
 * import { reduceRange, sharedArray } from "@troupe/troupe/patterns";
 * import { equal } from "node:assert/strict";
 *
 * const data = sharedArray(Float64Array, 1_000_000);
 * for (let i = 0; i < data.length; i++) data[i] = Math.sin(i);
 * const half = data.length / 2;
 * const max = Math.max(reduceRange("max", data, 0, half), reduceRange("max", data, half));
 * equal(max, reduceRange("max", data));
 * equal(reduceRange("min", data, 10, 10), Infinity);
 * equal(reduceRange("max", new Float64Array([1, NaN, 3])), NaN);
 * ```
 */
export function reduceRange(
  kind: ReduceKind,
  array: NumericArray,
  start = 0,
  end: number = array?.length,
): number {
  const k = kind === "max" ? 0 : kind === "min" ? 1 : kind === "sum" ? 2 : -1;
  if (k < 0) {
    throw new TypeError(
      `Cannot reduce: kind must be "max", "min" or "sum", received ${describe(kind)}`,
    );
  }
  const t = typeIndex(array);
  if (t < 0) {
    throw new TypeError(
      `Cannot reduce: array must be one of ${TYPES.map((T) => T.name).join(", ")}, received ${
        describe(array)
      }`,
    );
  }
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end < start) {
    throw new RangeError(
      `Cannot reduce range [${start}, ${end}): start and end must be integers with 0 ≤ start ≤ end`,
    );
  }
  if (end > array.length) {
    throw new RangeError(
      `Cannot reduce range [${start}, ${end}): end exceeds the array's length ${array.length}`,
    );
  }
  if (start === end) return IDENTITY[k];
  const memory = end - start >= WASM_MIN_COUNT ? wasmMemoryOf(array) : undefined;
  if (memory !== undefined) {
    const shift = SHIFTS[t];
    const address = array.byteOffset + start * 2 ** shift;
    // The kernels compare 32-bit addresses; an end at 4 GiB would wrap to 0.
    if (address + (end - start) * 2 ** shift < 2 ** 32) {
      return kernelsOf(memory)[t * 3 + k](address, end - start);
    }
  }
  if (k === 0) return maxJs(array, start, end);
  if (k === 1) return minJs(array, start, end);
  return sumJs(array, start, end);
}

/**
 * Splits `[0, length)` into contiguous ranges of near-equal size, in order: as many as `chunks`, but
 * never an empty one. With `n = min(chunks, length)` ranges, the first `length % n` hold one element
 * more than the others.
 *
 * @param length The number of elements, a non-negative integer.
 * @param chunks How many ranges at most, a positive integer.
 * @returns `min(chunks, length)` pairs `[start, end)` that cover `[0, length)` exactly; none for a
 * length of 0.
 * @throws {RangeError} If `length` or `chunks` is not an integer in its range.
 *
 * @example
 * ```ts
 * import { chunkRanges } from "@troupe/troupe/patterns";
 * import { deepEqual } from "node:assert/strict";
 *
 * deepEqual(chunkRanges(10, 3), [[0, 4], [4, 7], [7, 10]]);
 * deepEqual(chunkRanges(2, 4), [[0, 1], [1, 2]]);
 * deepEqual(chunkRanges(0, 4), []);
 * ```
 */
export function chunkRanges(length: number, chunks: number): [start: number, end: number][] {
  if (!Number.isSafeInteger(length) || length < 0) {
    throw new RangeError(
      `Cannot split into chunks: length must be a non-negative integer, received ${
        describe(length)
      }`,
    );
  }
  if (!Number.isSafeInteger(chunks) || chunks < 1) {
    throw new RangeError(
      `Cannot split into chunks: chunks must be a positive integer, received ${describe(chunks)}`,
    );
  }
  const n = Math.min(chunks, length);
  const size = Math.floor(length / n);
  const longer = length % n;
  const ranges: [number, number][] = [];
  let start = 0;
  for (let i = 0; i < n; i++) {
    const end = start + size + (i < longer ? 1 : 0);
    ranges.push([start, end]);
    start = end;
  }
  return ranges;
}

// ---------------------------------------------------------------------------------------------
// Element types

type ArrayType = {
  readonly name: string;
  readonly BYTES_PER_ELEMENT: number;
  readonly prototype: object;
};

/** In kernel order: the kernel for type `t` and kind `k` is function `t * 3 + k`. */
const TYPES: readonly ArrayType[] = SHARED_TYPES;
const SHIFTS = [3, 2, 2, 2, 1, 1, 0, 0];
/**
 * Shorter ranges stay in JavaScript: a call into WebAssembly costs about as much as a JavaScript
 * loop over 16 to 128 elements (measured: max of 32 doubles 112 ns in WebAssembly, 170 ns in
 * JavaScript; sum of 64 doubles 110 ns and 90 ns).
 */
const WASM_MIN_COUNT = 64;
const IDENTITY = [-Infinity, Infinity, 0];

function typeIndex(array: unknown): number {
  if (typeof array !== "object" || array === null) return -1;
  const prototype = Object.getPrototypeOf(array);
  for (let t = 0; t < TYPES.length; t++) if (TYPES[t].prototype === prototype) return t;
  // A subclass of a supported type.
  for (let t = 0; t < TYPES.length; t++) {
    if (Object.prototype.isPrototypeOf.call(TYPES[t].prototype, array)) return t;
  }
  return -1;
}

// ---------------------------------------------------------------------------------------------
// The JavaScript path: independent accumulators, so that consecutive iterations do not wait on
// each other. Math.max and Math.min are associative and commutative (NaN absorbs, +0 beats -0), so
// the split does not change their result. Measured over 100M doubles on one thread: max with one
// accumulator 93 ms, two 89 ms, four 99 ms; sum with one 98 ms, four 72 ms. A thread whose JS path
// sees several element types makes these loops polymorphic, about 1.6 times slower.

function maxJs(a: NumericArray, start: number, end: number): number {
  let m0 = -Infinity, m1 = -Infinity;
  let i = start;
  for (; i + 1 < end; i += 2) {
    m0 = Math.max(m0, a[i]);
    m1 = Math.max(m1, a[i + 1]);
  }
  if (i < end) m0 = Math.max(m0, a[i]);
  return Math.max(m0, m1);
}

function minJs(a: NumericArray, start: number, end: number): number {
  let m0 = Infinity, m1 = Infinity;
  let i = start;
  for (; i + 1 < end; i += 2) {
    m0 = Math.min(m0, a[i]);
    m1 = Math.min(m1, a[i + 1]);
  }
  if (i < end) m0 = Math.min(m0, a[i]);
  return Math.min(m0, m1);
}

function sumJs(a: NumericArray, start: number, end: number): number {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  let i = start;
  for (; i + 3 < end; i += 4) {
    s0 += a[i];
    s1 += a[i + 1];
    s2 += a[i + 2];
    s3 += a[i + 3];
  }
  for (; i < end; i++) s0 += a[i];
  return (s0 + s1) + (s2 + s3);
}

// ---------------------------------------------------------------------------------------------
// The WebAssembly path: one module with 24 functions `(address: i32, count: i32) -> f64`, one per
// element type and kind, over the array's shared memory (how they work: `_assemble_kernels.ts`).

type Kernel = (address: number, count: number) => number;

let compiled: WebAssembly.Module | undefined;
const instances = new WeakMap<WebAssembly.Memory, Kernel[]>();

function kernelsOf(memory: WebAssembly.Memory): Kernel[] {
  let kernels = instances.get(memory);
  if (kernels === undefined) {
    compiled ??= new WebAssembly.Module(decodeBase64(KERNELS_WASM));
    const { exports } = new WebAssembly.Instance(compiled, { env: { memory } });
    kernels = KERNEL_NAMES.map((name) => exports[name] as Kernel);
    instances.set(memory, kernels);
  }
  return kernels;
}

function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  const compact = text.replace(/\s/g, "");
  // Uint8Array.fromBase64 takes 0.1 ms here; the atob loop, for runtimes without it, a few ms.
  if (typeof Uint8Array.fromBase64 === "function") return Uint8Array.fromBase64(compact);
  const binary = atob(compact);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
