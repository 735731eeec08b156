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
 * The WebAssembly module's bytes are embedded here (written by `assembleKernels`, at the end of this
 * file, from a table of instructions: no `wat2wasm`, no build step). A thread compiles them the first
 * time it needs them (about 1 ms) and instantiates them once per memory. The kernels only run where
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
// The WebAssembly path.
//
// One module with 24 functions `(address: i32, count: i32) -> f64`, one per element type and kind,
// that import the array's shared memory. Each main loop reads 64 bytes (four v128) per iteration
// into four accumulators, then a scalar loop takes the tail.
//
// Floats, max and min: `f64x2.max` (NaN-propagating, -0 < +0) costs about eight x64 instructions,
// enough to make the loop compute-bound; `f64x2.pmax` (`a < b ? b : a`) is one `maxpd` but skips
// NaN and keeps whichever zero came first. So the loop uses pmax, ORs `v != v` into a NaN mask
// (two more cheap instructions, still memory-bound), and fixes the two differences after the loop:
// a NaN seen anywhere returns NaN, and a result of ±0 is settled by searching the range for a +0
// (max) or a -0 (min), which stops at the first one found (a second pass only when the extreme is
// a zero of the other sign or far in). Measured over 100M doubles on one thread of this 2-core
// machine: a loop of `f64x2.max` 71 ms, pmax with the NaN mask 55 ms, a bare loop of loads 58 ms.
//
// Integers, max and min: `i32x4.max_s` and friends, exact. Sums: widened to i64 lanes (pairwise for
// 8 and 16 bits), exact, converted to a double at the end. Float sums: f64x2 lanes; f32 elements
// are promoted to doubles first.

/** The output of {@linkcode assembleKernels}, in base64. */
const KERNELS_WASM = `
AGFzbQEAAAABBwFgAn9/AXwCEgEDZW52Bm1lbW9yeQIDAICABAMZGAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAfrARgHbWF4X2Y2
NAAAB21pbl9mNjQAAQdzdW1fZjY0AAIHbWF4X2YzMgADB21pbl9mMzIABAdzdW1fZjMyAAUHbWF4X2kzMgAGB21pbl9pMzIABwdz
dW1faTMyAAgHbWF4X3UzMgAJB21pbl91MzIACgdzdW1fdTMyAAsHbWF4X2kxNgAMB21pbl9pMTYADQdzdW1faTE2AA4HbWF4X3Ux
NgAPB21pbl91MTYAEAdzdW1fdTE2ABEGbWF4X2k4ABIGbWluX2k4ABMGc3VtX2k4ABQGbWF4X3U4ABUGbWluX3U4ABYGc3VtX3U4
ABcKqEcY1gMFBX8BfgF8AX0HeyAAIQQgACABQQN0aiECIAAgAUF4cUEDdGohA0QAAAAAAADw//0UIQpEAAAAAAAA8P/9FCELRAAA
AAAAAPD//RQhDEQAAAAAAADw//0UIQ39DAAAAAAAAAAAAAAAAAAAAAAhDgJAA0AgACADTw0BIAD9AAQAIQ8gCiAP/fcBIQogDiAP
IA/9SP1QIQ4gAP0ABBAhDyALIA/99wEhCyAOIA8gD/1I/VAhDiAA/QAEICEPIAwgD/33ASEMIA4gDyAP/Uj9UCEOIAD9AAQwIQ8g
DSAP/fcBIQ0gDiAPIA/9SP1QIQ4gAEHAAGohAAwACwsgCiAL/fcBIQogDCAN/fcBIQwgCiAM/fcBIQogCv0hACEIIAggCv0hAaUh
CAJAA0AgACACTw0BIAggACsDAKUhCCAAQQhqIQAMAAsLIA79UwRARAAAAAAAAPh/DwsgCEQAAAAAAAAAAGEEQCAEIQACQANAIABB
EGogAksNASAA/QAEAEIA/RL91gH9UwRARAAAAAAAAAAADwsgAEEQaiEADAALCwJAA0AgACACTw0BIAApAwBCAFEEQEQAAAAAAAAA
AA8LIABBCGohAAwACwtEAAAAAAAAAIAPCyAIC+gDBQV/AX4BfAF9B3sgACEEIAAgAUEDdGohAiAAIAFBeHFBA3RqIQNEAAAAAAAA
8H/9FCEKRAAAAAAAAPB//RQhC0QAAAAAAADwf/0UIQxEAAAAAAAA8H/9FCEN/QwAAAAAAAAAAAAAAAAAAAAAIQ4CQANAIAAgA08N
ASAA/QAEACEPIAogD/32ASEKIA4gDyAP/Uj9UCEOIAD9AAQQIQ8gCyAP/fYBIQsgDiAPIA/9SP1QIQ4gAP0ABCAhDyAMIA/99gEh
DCAOIA8gD/1I/VAhDiAA/QAEMCEPIA0gD/32ASENIA4gDyAP/Uj9UCEOIABBwABqIQAMAAsLIAogC/32ASEKIAwgDf32ASEMIAog
DP32ASEKIAr9IQAhCCAIIAr9IQGkIQgCQANAIAAgAk8NASAIIAArAwCkIQggAEEIaiEADAALCyAO/VMEQEQAAAAAAAD4fw8LIAhE
AAAAAAAAAABhBEAgBCEAAkADQCAAQRBqIAJLDQEgAP0ABABCgICAgICAgICAf/0S/dYB/VMEQEQAAAAAAAAAgA8LIABBEGohAAwA
CwsCQANAIAAgAk8NASAAKQMAQoCAgICAgICAgH9RBEBEAAAAAAAAAIAPCyAAQQhqIQAMAAsLRAAAAAAAAAAADwsgCAuMAgUFfwF+
AXwBfQd7IAAhBCAAIAFBA3RqIQIgACABQXhxQQN0aiED/QwAAAAAAAAAAAAAAAAAAAAAIQr9DAAAAAAAAAAAAAAAAAAAAAAhC/0M
AAAAAAAAAAAAAAAAAAAAACEM/QwAAAAAAAAAAAAAAAAAAAAAIQ0CQANAIAAgA08NASAKIAD9AAQA/fABIQogCyAA/QAEEP3wASEL
IAwgAP0ABCD98AEhDCANIAD9AAQw/fABIQ0gAEHAAGohAAwACwsgCiAL/fABIQogDCAN/fABIQwgCiAM/fABIQogCv0hACAK/SEB
oCEIAkADQCAAIAJPDQEgCCAAKwMAoCEIIABBCGohAAwACwsgCAvWAwUFfwF+AXwBfQd7IAAhBCAAIAFBAnRqIQIgACABQXBxQQJ0
aiEDQwAAgP/9EyEKQwAAgP/9EyELQwAAgP/9EyEMQwAAgP/9EyEN/QwAAAAAAAAAAAAAAAAAAAAAIQ4CQANAIAAgA08NASAA/QAE
ACEPIAogD/3rASEKIA4gDyAP/UL9UCEOIAD9AAQQIQ8gCyAP/esBIQsgDiAPIA/9Qv1QIQ4gAP0ABCAhDyAMIA/96wEhDCAOIA8g
D/1C/VAhDiAA/QAEMCEPIA0gD/3rASENIA4gDyAP/UL9UCEOIABBwABqIQAMAAsLIAogC/3rASEKIAwgDf3rASEMIAogDP3rASEK
IAr9HwAhCSAJIAr9HwGXIQkgCSAK/R8ClyEJIAkgCv0fA5chCQJAA0AgACACTw0BIAkgACoCAJchCSAAQQRqIQAMAAsLIA79UwRA
RAAAAAAAAPh/DwsgCUMAAAAAWwRAIAQhAAJAA0AgAEEQaiACSw0BIAD9AAQAQQD9Ef03/VMEQEQAAAAAAAAAAA8LIABBEGohAAwA
CwsCQANAIAAgAk8NASAAKAIAQQBGBEBEAAAAAAAAAAAPCyAAQQRqIQAMAAsLRAAAAAAAAACADwsgCbsL3gMFBX8BfgF8AX0HeyAA
IQQgACABQQJ0aiECIAAgAUFwcUECdGohA0MAAIB//RMhCkMAAIB//RMhC0MAAIB//RMhDEMAAIB//RMhDf0MAAAAAAAAAAAAAAAA
AAAAACEOAkADQCAAIANPDQEgAP0ABAAhDyAKIA/96gEhCiAOIA8gD/1C/VAhDiAA/QAEECEPIAsgD/3qASELIA4gDyAP/UL9UCEO
IAD9AAQgIQ8gDCAP/eoBIQwgDiAPIA/9Qv1QIQ4gAP0ABDAhDyANIA/96gEhDSAOIA8gD/1C/VAhDiAAQcAAaiEADAALCyAKIAv9
6gEhCiAMIA396gEhDCAKIAz96gEhCiAK/R8AIQkgCSAK/R8BliEJIAkgCv0fApYhCSAJIAr9HwOWIQkCQANAIAAgAk8NASAJIAAq
AgCWIQkgAEEEaiEADAALCyAO/VMEQEQAAAAAAAD4fw8LIAlDAAAAAFsEQCAEIQACQANAIABBEGogAksNASAA/QAEAEGAgICAeP0R
/Tf9UwRARAAAAAAAAACADwsgAEEQaiEADAALCwJAA0AgACACTw0BIAAoAgBBgICAgHhGBEBEAAAAAAAAAIAPCyAAQQRqIQAMAAsL
RAAAAAAAAAAADwsgCbsLiQMFBX8BfgF8AX0HeyAAIQQgACABQQJ0aiECIAAgAUFwcUECdGohA/0MAAAAAAAAAAAAAAAAAAAAACEK
/QwAAAAAAAAAAAAAAAAAAAAAIQv9DAAAAAAAAAAAAAAAAAAAAAAhDP0MAAAAAAAAAAAAAAAAAAAAACENAkADQCAAIANPDQEgCiAA
/QAEACIP/V8gDyAP/Q0ICQoLDA0ODwABAgMEBQYH/V/98AH98AEhCiALIAD9AAQQIg/9XyAPIA/9DQgJCgsMDQ4PAAECAwQFBgf9
X/3wAf3wASELIAwgAP0ABCAiD/1fIA8gD/0NCAkKCwwNDg8AAQIDBAUGB/1f/fAB/fABIQwgDSAA/QAEMCIP/V8gDyAP/Q0ICQoL
DA0ODwABAgMEBQYH/V/98AH98AEhDSAAQcAAaiEADAALCyAKIAv98AEhCiAMIA398AEhDCAKIAz98AEhCiAK/SEAIAr9IQGgIQgC
QANAIAAgAk8NASAIIAAqAgC7oCEIIABBBGohAAwACwsgCAuhAgUFfwF+AXwBfQd7IAAhBCAAIAFBAnRqIQIgACABQXBxQQJ0aiED
QYCAgIB4/REhCkGAgICAeP0RIQtBgICAgHj9ESEMQYCAgIB4/REhDQJAA0AgACADTw0BIAogAP0ABAD9uAEhCiALIAD9AAQQ/bgB
IQsgDCAA/QAEIP24ASEMIA0gAP0ABDD9uAEhDSAAQcAAaiEADAALCyAKIAv9uAEhCiAMIA39uAEhDCAKIAz9uAEhCiAK/RsAIQUg
Cv0bASEGIAYgBSAGIAVKGyEFIAr9GwIhBiAGIAUgBiAFShshBSAK/RsDIQYgBiAFIAYgBUobIQUCQANAIAAgAk8NASAAKAIAIQYg
BiAFIAYgBUobIQUgAEEEaiEADAALCyAFtwuhAgUFfwF+AXwBfQd7IAAhBCAAIAFBAnRqIQIgACABQXBxQQJ0aiEDQf////8H/REh
CkH/////B/0RIQtB/////wf9ESEMQf////8H/REhDQJAA0AgACADTw0BIAogAP0ABAD9tgEhCiALIAD9AAQQ/bYBIQsgDCAA/QAE
IP22ASEMIA0gAP0ABDD9tgEhDSAAQcAAaiEADAALCyAKIAv9tgEhCiAMIA39tgEhDCAKIAz9tgEhCiAK/RsAIQUgCv0bASEGIAYg
BSAGIAVIGyEFIAr9GwIhBiAGIAUgBiAFSBshBSAK/RsDIQYgBiAFIAYgBUgbIQUCQANAIAAgAk8NASAAKAIAIQYgBiAFIAYgBUgb
IQUgAEEEaiEADAALCyAFtwvCAgUFfwF+AXwBfQd7IAAhBCAAIAFBAnRqIQIgACABQXBxQQJ0aiED/QwAAAAAAAAAAAAAAAAAAAAA
IQr9DAAAAAAAAAAAAAAAAAAAAAAhC/0MAAAAAAAAAAAAAAAAAAAAACEM/QwAAAAAAAAAAAAAAAAAAAAAIQ0CQANAIAAgA08NASAK
IAD9AAQAIhD9xwEgEP3IAf3OAf3OASEKIAsgAP0ABBAiEP3HASAQ/cgB/c4B/c4BIQsgDCAA/QAEICIQ/ccBIBD9yAH9zgH9zgEh
DCANIAD9AAQwIhD9xwEgEP3IAf3OAf3OASENIABBwABqIQAMAAsLIAogC/3OASEKIAwgDf3OASEMIAogDP3OASEKIAr9HQAgCv0d
AXwhBwJAA0AgACACTw0BIAcgACgCAKx8IQcgAEEEaiEADAALCyAHuQuRAgUFfwF+AXwBfQd7IAAhBCAAIAFBAnRqIQIgACABQXBx
QQJ0aiEDQQD9ESEKQQD9ESELQQD9ESEMQQD9ESENAkADQCAAIANPDQEgCiAA/QAEAP25ASEKIAsgAP0ABBD9uQEhCyAMIAD9AAQg
/bkBIQwgDSAA/QAEMP25ASENIABBwABqIQAMAAsLIAogC/25ASEKIAwgDf25ASEMIAogDP25ASEKIAr9GwAhBSAK/RsBIQYgBiAF
IAYgBUsbIQUgCv0bAiEGIAYgBSAGIAVLGyEFIAr9GwMhBiAGIAUgBiAFSxshBQJAA0AgACACTw0BIAAoAgAhBiAGIAUgBiAFSxsh
BSAAQQRqIQAMAAsLIAW4C5ECBQV/AX4BfAF9B3sgACEEIAAgAUECdGohAiAAIAFBcHFBAnRqIQNBf/0RIQpBf/0RIQtBf/0RIQxB
f/0RIQ0CQANAIAAgA08NASAKIAD9AAQA/bcBIQogCyAA/QAEEP23ASELIAwgAP0ABCD9twEhDCANIAD9AAQw/bcBIQ0gAEHAAGoh
AAwACwsgCiAL/bcBIQogDCAN/bcBIQwgCiAM/bcBIQogCv0bACEFIAr9GwEhBiAGIAUgBiAFSRshBSAK/RsCIQYgBiAFIAYgBUkb
IQUgCv0bAyEGIAYgBSAGIAVJGyEFAkADQCAAIAJPDQEgACgCACEGIAYgBSAGIAVJGyEFIABBBGohAAwACwsgBbgLwgIFBX8BfgF8
AX0HeyAAIQQgACABQQJ0aiECIAAgAUFwcUECdGohA/0MAAAAAAAAAAAAAAAAAAAAACEK/QwAAAAAAAAAAAAAAAAAAAAAIQv9DAAA
AAAAAAAAAAAAAAAAAAAhDP0MAAAAAAAAAAAAAAAAAAAAACENAkADQCAAIANPDQEgCiAA/QAEACIQ/ckBIBD9ygH9zgH9zgEhCiAL
IAD9AAQQIhD9yQEgEP3KAf3OAf3OASELIAwgAP0ABCAiEP3JASAQ/coB/c4B/c4BIQwgDSAA/QAEMCIQ/ckBIBD9ygH9zgH9zgEh
DSAAQcAAaiEADAALCyAKIAv9zgEhCiAMIA39zgEhDCAKIAz9zgEhCiAK/R0AIAr9HQF8IQcCQANAIAAgAk8NASAHIAAoAgCtfCEH
IABBBGohAAwACwsgB7kL5QIFBX8BfgF8AX0HeyAAIQQgACABQQF0aiECIAAgAUFgcUEBdGohA0GAgH79ECEKQYCAfv0QIQtBgIB+
/RAhDEGAgH79ECENAkADQCAAIANPDQEgCiAA/QAEAP2YASEKIAsgAP0ABBD9mAEhCyAMIAD9AAQg/ZgBIQwgDSAA/QAEMP2YASEN
IABBwABqIQAMAAsLIAogC/2YASEKIAwgDf2YASEMIAogDP2YASEKIAr9GAAhBSAK/RgBIQYgBiAFIAYgBUobIQUgCv0YAiEGIAYg
BSAGIAVKGyEFIAr9GAMhBiAGIAUgBiAFShshBSAK/RgEIQYgBiAFIAYgBUobIQUgCv0YBSEGIAYgBSAGIAVKGyEFIAr9GAYhBiAG
IAUgBiAFShshBSAK/RgHIQYgBiAFIAYgBUobIQUCQANAIAAgAk8NASAALgEAIQYgBiAFIAYgBUobIQUgAEECaiEADAALCyAFtwvl
AgUFfwF+AXwBfQd7IAAhBCAAIAFBAXRqIQIgACABQWBxQQF0aiEDQf//Af0QIQpB//8B/RAhC0H//wH9ECEMQf//Af0QIQ0CQANA
IAAgA08NASAKIAD9AAQA/ZYBIQogCyAA/QAEEP2WASELIAwgAP0ABCD9lgEhDCANIAD9AAQw/ZYBIQ0gAEHAAGohAAwACwsgCiAL
/ZYBIQogDCAN/ZYBIQwgCiAM/ZYBIQogCv0YACEFIAr9GAEhBiAGIAUgBiAFSBshBSAK/RgCIQYgBiAFIAYgBUgbIQUgCv0YAyEG
IAYgBSAGIAVIGyEFIAr9GAQhBiAGIAUgBiAFSBshBSAK/RgFIQYgBiAFIAYgBUgbIQUgCv0YBiEGIAYgBSAGIAVIGyEFIAr9GAch
BiAGIAUgBiAFSBshBQJAA0AgACACTw0BIAAuAQAhBiAGIAUgBiAFSBshBSAAQQJqIQAMAAsLIAW3C8oCBQV/AX4BfAF9B3sgACEE
IAAgAUEBdGohAiAAIAFBYHFBAXRqIQP9DAAAAAAAAAAAAAAAAAAAAAAhCv0MAAAAAAAAAAAAAAAAAAAAACEL/QwAAAAAAAAAAAAA
AAAAAAAAIQz9DAAAAAAAAAAAAAAAAAAAAAAhDQJAA0AgACADTw0BIAogAP0ABAD9fiIQ/ccBIBD9yAH9zgH9zgEhCiALIAD9AAQQ
/X4iEP3HASAQ/cgB/c4B/c4BIQsgDCAA/QAEIP1+IhD9xwEgEP3IAf3OAf3OASEMIA0gAP0ABDD9fiIQ/ccBIBD9yAH9zgH9zgEh
DSAAQcAAaiEADAALCyAKIAv9zgEhCiAMIA39zgEhDCAKIAz9zgEhCiAK/R0AIAr9HQF8IQcCQANAIAAgAk8NASAHIAAuAQCsfCEH
IABBAmohAAwACwsgB7kL3QIFBX8BfgF8AX0HeyAAIQQgACABQQF0aiECIAAgAUFgcUEBdGohA0EA/RAhCkEA/RAhC0EA/RAhDEEA
/RAhDQJAA0AgACADTw0BIAogAP0ABAD9mQEhCiALIAD9AAQQ/ZkBIQsgDCAA/QAEIP2ZASEMIA0gAP0ABDD9mQEhDSAAQcAAaiEA
DAALCyAKIAv9mQEhCiAMIA39mQEhDCAKIAz9mQEhCiAK/RkAIQUgCv0ZASEGIAYgBSAGIAVLGyEFIAr9GQIhBiAGIAUgBiAFSxsh
BSAK/RkDIQYgBiAFIAYgBUsbIQUgCv0ZBCEGIAYgBSAGIAVLGyEFIAr9GQUhBiAGIAUgBiAFSxshBSAK/RkGIQYgBiAFIAYgBUsb
IQUgCv0ZByEGIAYgBSAGIAVLGyEFAkADQCAAIAJPDQEgAC8BACEGIAYgBSAGIAVLGyEFIABBAmohAAwACwsgBbgL5QIFBX8BfgF8
AX0HeyAAIQQgACABQQF0aiECIAAgAUFgcUEBdGohA0H//wP9ECEKQf//A/0QIQtB//8D/RAhDEH//wP9ECENAkADQCAAIANPDQEg
CiAA/QAEAP2XASEKIAsgAP0ABBD9lwEhCyAMIAD9AAQg/ZcBIQwgDSAA/QAEMP2XASENIABBwABqIQAMAAsLIAogC/2XASEKIAwg
Df2XASEMIAogDP2XASEKIAr9GQAhBSAK/RkBIQYgBiAFIAYgBUkbIQUgCv0ZAiEGIAYgBSAGIAVJGyEFIAr9GQMhBiAGIAUgBiAF
SRshBSAK/RkEIQYgBiAFIAYgBUkbIQUgCv0ZBSEGIAYgBSAGIAVJGyEFIAr9GQYhBiAGIAUgBiAFSRshBSAK/RkHIQYgBiAFIAYg
BUkbIQUCQANAIAAgAk8NASAALwEAIQYgBiAFIAYgBUkbIQUgAEECaiEADAALCyAFuAvKAgUFfwF+AXwBfQd7IAAhBCAAIAFBAXRq
IQIgACABQWBxQQF0aiED/QwAAAAAAAAAAAAAAAAAAAAAIQr9DAAAAAAAAAAAAAAAAAAAAAAhC/0MAAAAAAAAAAAAAAAAAAAAACEM
/QwAAAAAAAAAAAAAAAAAAAAAIQ0CQANAIAAgA08NASAKIAD9AAQA/X8iEP3JASAQ/coB/c4B/c4BIQogCyAA/QAEEP1/IhD9yQEg
EP3KAf3OAf3OASELIAwgAP0ABCD9fyIQ/ckBIBD9ygH9zgH9zgEhDCANIAD9AAQw/X8iEP3JASAQ/coB/c4B/c4BIQ0gAEHAAGoh
AAwACwsgCiAL/c4BIQogDCAN/c4BIQwgCiAM/c4BIQogCv0dACAK/R0BfCEHAkADQCAAIAJPDQEgByAALwEArXwhByAAQQJqIQAM
AAsLIAe5C/IDBQV/AX4BfAF9B3sgACEEIAAgAUEAdGohAiAAIAFBQHFBAHRqIQNBgH/9DyEKQYB//Q8hC0GAf/0PIQxBgH/9DyEN
AkADQCAAIANPDQEgCiAA/QAEAP14IQogCyAA/QAEEP14IQsgDCAA/QAEIP14IQwgDSAA/QAEMP14IQ0gAEHAAGohAAwACwsgCiAL
/XghCiAMIA39eCEMIAogDP14IQogCv0VACEFIAr9FQEhBiAGIAUgBiAFShshBSAK/RUCIQYgBiAFIAYgBUobIQUgCv0VAyEGIAYg
BSAGIAVKGyEFIAr9FQQhBiAGIAUgBiAFShshBSAK/RUFIQYgBiAFIAYgBUobIQUgCv0VBiEGIAYgBSAGIAVKGyEFIAr9FQchBiAG
IAUgBiAFShshBSAK/RUIIQYgBiAFIAYgBUobIQUgCv0VCSEGIAYgBSAGIAVKGyEFIAr9FQohBiAGIAUgBiAFShshBSAK/RULIQYg
BiAFIAYgBUobIQUgCv0VDCEGIAYgBSAGIAVKGyEFIAr9FQ0hBiAGIAUgBiAFShshBSAK/RUOIQYgBiAFIAYgBUobIQUgCv0VDyEG
IAYgBSAGIAVKGyEFAkADQCAAIAJPDQEgACwAACEGIAYgBSAGIAVKGyEFIABBAWohAAwACwsgBbcL8gMFBX8BfgF8AX0HeyAAIQQg
ACABQQB0aiECIAAgAUFAcUEAdGohA0H/AP0PIQpB/wD9DyELQf8A/Q8hDEH/AP0PIQ0CQANAIAAgA08NASAKIAD9AAQA/XYhCiAL
IAD9AAQQ/XYhCyAMIAD9AAQg/XYhDCANIAD9AAQw/XYhDSAAQcAAaiEADAALCyAKIAv9diEKIAwgDf12IQwgCiAM/XYhCiAK/RUA
IQUgCv0VASEGIAYgBSAGIAVIGyEFIAr9FQIhBiAGIAUgBiAFSBshBSAK/RUDIQYgBiAFIAYgBUgbIQUgCv0VBCEGIAYgBSAGIAVI
GyEFIAr9FQUhBiAGIAUgBiAFSBshBSAK/RUGIQYgBiAFIAYgBUgbIQUgCv0VByEGIAYgBSAGIAVIGyEFIAr9FQghBiAGIAUgBiAF
SBshBSAK/RUJIQYgBiAFIAYgBUgbIQUgCv0VCiEGIAYgBSAGIAVIGyEFIAr9FQshBiAGIAUgBiAFSBshBSAK/RUMIQYgBiAFIAYg
BUgbIQUgCv0VDSEGIAYgBSAGIAVIGyEFIAr9FQ4hBiAGIAUgBiAFSBshBSAK/RUPIQYgBiAFIAYgBUgbIQUCQANAIAAgAk8NASAA
LAAAIQYgBiAFIAYgBUgbIQUgAEEBaiEADAALCyAFtwvSAgUFfwF+AXwBfQd7IAAhBCAAIAFBAHRqIQIgACABQUBxQQB0aiED/QwA
AAAAAAAAAAAAAAAAAAAAIQr9DAAAAAAAAAAAAAAAAAAAAAAhC/0MAAAAAAAAAAAAAAAAAAAAACEM/QwAAAAAAAAAAAAAAAAAAAAA
IQ0CQANAIAAgA08NASAKIAD9AAQA/Xz9fiIQ/ccBIBD9yAH9zgH9zgEhCiALIAD9AAQQ/Xz9fiIQ/ccBIBD9yAH9zgH9zgEhCyAM
IAD9AAQg/Xz9fiIQ/ccBIBD9yAH9zgH9zgEhDCANIAD9AAQw/Xz9fiIQ/ccBIBD9yAH9zgH9zgEhDSAAQcAAaiEADAALCyAKIAv9
zgEhCiAMIA39zgEhDCAKIAz9zgEhCiAK/R0AIAr9HQF8IQcCQANAIAAgAk8NASAHIAAsAACsfCEHIABBAWohAAwACwsgB7kL7gMF
BX8BfgF8AX0HeyAAIQQgACABQQB0aiECIAAgAUFAcUEAdGohA0EA/Q8hCkEA/Q8hC0EA/Q8hDEEA/Q8hDQJAA0AgACADTw0BIAog
AP0ABAD9eSEKIAsgAP0ABBD9eSELIAwgAP0ABCD9eSEMIA0gAP0ABDD9eSENIABBwABqIQAMAAsLIAogC/15IQogDCAN/XkhDCAK
IAz9eSEKIAr9FgAhBSAK/RYBIQYgBiAFIAYgBUsbIQUgCv0WAiEGIAYgBSAGIAVLGyEFIAr9FgMhBiAGIAUgBiAFSxshBSAK/RYE
IQYgBiAFIAYgBUsbIQUgCv0WBSEGIAYgBSAGIAVLGyEFIAr9FgYhBiAGIAUgBiAFSxshBSAK/RYHIQYgBiAFIAYgBUsbIQUgCv0W
CCEGIAYgBSAGIAVLGyEFIAr9FgkhBiAGIAUgBiAFSxshBSAK/RYKIQYgBiAFIAYgBUsbIQUgCv0WCyEGIAYgBSAGIAVLGyEFIAr9
FgwhBiAGIAUgBiAFSxshBSAK/RYNIQYgBiAFIAYgBUsbIQUgCv0WDiEGIAYgBSAGIAVLGyEFIAr9Fg8hBiAGIAUgBiAFSxshBQJA
A0AgACACTw0BIAAtAAAhBiAGIAUgBiAFSxshBSAAQQFqIQAMAAsLIAW4C/IDBQV/AX4BfAF9B3sgACEEIAAgAUEAdGohAiAAIAFB
QHFBAHRqIQNB/wH9DyEKQf8B/Q8hC0H/Af0PIQxB/wH9DyENAkADQCAAIANPDQEgCiAA/QAEAP13IQogCyAA/QAEEP13IQsgDCAA
/QAEIP13IQwgDSAA/QAEMP13IQ0gAEHAAGohAAwACwsgCiAL/XchCiAMIA39dyEMIAogDP13IQogCv0WACEFIAr9FgEhBiAGIAUg
BiAFSRshBSAK/RYCIQYgBiAFIAYgBUkbIQUgCv0WAyEGIAYgBSAGIAVJGyEFIAr9FgQhBiAGIAUgBiAFSRshBSAK/RYFIQYgBiAF
IAYgBUkbIQUgCv0WBiEGIAYgBSAGIAVJGyEFIAr9FgchBiAGIAUgBiAFSRshBSAK/RYIIQYgBiAFIAYgBUkbIQUgCv0WCSEGIAYg
BSAGIAVJGyEFIAr9FgohBiAGIAUgBiAFSRshBSAK/RYLIQYgBiAFIAYgBUkbIQUgCv0WDCEGIAYgBSAGIAVJGyEFIAr9Fg0hBiAG
IAUgBiAFSRshBSAK/RYOIQYgBiAFIAYgBUkbIQUgCv0WDyEGIAYgBSAGIAVJGyEFAkADQCAAIAJPDQEgAC0AACEGIAYgBSAGIAVJ
GyEFIABBAWohAAwACwsgBbgL0gIFBX8BfgF8AX0HeyAAIQQgACABQQB0aiECIAAgAUFAcUEAdGohA/0MAAAAAAAAAAAAAAAAAAAA
ACEK/QwAAAAAAAAAAAAAAAAAAAAAIQv9DAAAAAAAAAAAAAAAAAAAAAAhDP0MAAAAAAAAAAAAAAAAAAAAACENAkADQCAAIANPDQEg
CiAA/QAEAP19/X8iEP3JASAQ/coB/c4B/c4BIQogCyAA/QAEEP19/X8iEP3JASAQ/coB/c4B/c4BIQsgDCAA/QAEIP19/X8iEP3J
ASAQ/coB/c4B/c4BIQwgDSAA/QAEMP19/X8iEP3JASAQ/coB/c4B/c4BIQ0gAEHAAGohAAwACwsgCiAL/c4BIQogDCAN/c4BIQwg
CiAM/c4BIQogCv0dACAK/R0BfCEHAkADQCAAIAJPDQEgByAALQAArXwhByAAQQFqIQAMAAsLIAe5Cw==
`;

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

const TYPE_NAMES = ["f64", "f32", "i32", "u32", "i16", "u16", "i8", "u8"] as const;
type TypeName = typeof TYPE_NAMES[number];
const KINDS = ["max", "min", "sum"] as const;
const KERNEL_NAMES = TYPE_NAMES.flatMap((t) => KINDS.map((k) => `${k}_${t}`));

// Binary encoding helpers.

type Code = readonly number[];

function uleb(value: number): Code {
  const out: number[] = [];
  do {
    let byte = value & 0x7f;
    value >>>= 7;
    if (value !== 0) byte |= 0x80;
    out.push(byte);
  } while (value !== 0);
  return out;
}

function sleb(value: bigint): Code {
  const out: number[] = [];
  for (;;) {
    const byte = Number(value & 0x7fn);
    value >>= 7n;
    const done = (value === 0n && (byte & 0x40) === 0) || (value === -1n && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

function name(text: string): Code {
  const bytes = [...new TextEncoder().encode(text)];
  return [...uleb(bytes.length), ...bytes];
}

function vector(items: Code[]): Code {
  return [...uleb(items.length), ...items.flat()];
}

function section(id: number, content: Code): Code {
  return [id, ...uleb(content.length), ...content];
}

function float64(value: number): Code {
  return [...new Uint8Array(new Float64Array([value]).buffer)];
}

function float32(value: number): Code {
  return [...new Uint8Array(new Float32Array([value]).buffer)];
}

// Value types.
const I32 = 0x7f, I64 = 0x7e, F32 = 0x7d, F64 = 0x7c, V128 = 0x7b;

// Instructions, named as in the text format. Memory accesses take (alignment log2, offset).
const op = {
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  if: [0x04, 0x40],
  end: [0x0b],
  br: (depth: number): Code => [0x0c, ...uleb(depth)],
  brIf: (depth: number): Code => [0x0d, ...uleb(depth)],
  return: [0x0f],
  select: [0x1b],
  get: (local: number): Code => [0x20, ...uleb(local)],
  set: (local: number): Code => [0x21, ...uleb(local)],
  tee: (local: number): Code => [0x22, ...uleb(local)],
  i32Load: [0x28, 2, 0],
  i64Load: [0x29, 3, 0],
  f32Load: [0x2a, 2, 0],
  f64Load: [0x2b, 3, 0],
  i32Load8S: [0x2c, 0, 0],
  i32Load8U: [0x2d, 0, 0],
  i32Load16S: [0x2e, 1, 0],
  i32Load16U: [0x2f, 1, 0],
  i32Const: (value: number): Code => [0x41, ...sleb(BigInt(value))],
  i64Const: (value: bigint): Code => [0x42, ...sleb(value)],
  f32Const: (value: number): Code => [0x43, ...float32(value)],
  f64Const: (value: number): Code => [0x44, ...float64(value)],
  i32Eq: [0x46],
  i32LtS: [0x48],
  i32LtU: [0x49],
  i32GtS: [0x4a],
  i32GtU: [0x4b],
  i32GeU: [0x4f],
  i64Eq: [0x51],
  f32Eq: [0x5b],
  f64Eq: [0x61],
  i32Add: [0x6a],
  i32And: [0x71],
  i32Shl: [0x74],
  i64Add: [0x7c],
  f32Min: [0x96],
  f32Max: [0x97],
  f64Add: [0xa0],
  f64Min: [0xa4],
  f64Max: [0xa5],
  i64ExtendI32S: [0xac],
  i64ExtendI32U: [0xad],
  f64ConvertI32S: [0xb7],
  f64ConvertI32U: [0xb8],
  f64ConvertI64S: [0xb9],
  f64PromoteF32: [0xbb],
  // SIMD: prefix 0xfd, then the opcode as an unsigned LEB128.
  v128Load: (offset: number): Code => [0xfd, 0x00, 4, ...uleb(offset)],
  v128Const0: [0xfd, 0x0c, ...new Array<number>(16).fill(0)],
  /** `i8x16.shuffle` of a vector with itself that moves its high 8 bytes to the low half. */
  i8x16SwapHalves: [0xfd, 0x0d, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7],
  i8x16Splat: [0xfd, 0x0f],
  i16x8Splat: [0xfd, 0x10],
  i32x4Splat: [0xfd, 0x11],
  i64x2Splat: [0xfd, 0x12],
  f32x4Splat: [0xfd, 0x13],
  f64x2Splat: [0xfd, 0x14],
  i8x16ExtractLaneS: (lane: number): Code => [0xfd, 0x15, lane],
  i8x16ExtractLaneU: (lane: number): Code => [0xfd, 0x16, lane],
  i16x8ExtractLaneS: (lane: number): Code => [0xfd, 0x18, lane],
  i16x8ExtractLaneU: (lane: number): Code => [0xfd, 0x19, lane],
  i32x4ExtractLane: (lane: number): Code => [0xfd, 0x1b, lane],
  i64x2ExtractLane: (lane: number): Code => [0xfd, 0x1d, lane],
  f32x4ExtractLane: (lane: number): Code => [0xfd, 0x1f, lane],
  f64x2ExtractLane: (lane: number): Code => [0xfd, 0x21, lane],
  i32x4Eq: [0xfd, 0x37],
  f32x4Ne: [0xfd, 0x42],
  f64x2Ne: [0xfd, 0x48],
  v128Or: [0xfd, 0x50],
  v128AnyTrue: [0xfd, 0x53],
  f64x2PromoteLowF32x4: [0xfd, 0x5f],
  i8x16MinS: [0xfd, 0x76],
  i8x16MinU: [0xfd, 0x77],
  i8x16MaxS: [0xfd, 0x78],
  i8x16MaxU: [0xfd, 0x79],
  i16x8ExtaddPairwiseI8x16S: [0xfd, 0x7c],
  i16x8ExtaddPairwiseI8x16U: [0xfd, 0x7d],
  i32x4ExtaddPairwiseI16x8S: [0xfd, 0x7e],
  i32x4ExtaddPairwiseI16x8U: [0xfd, 0x7f],
  i16x8MinS: [0xfd, 0x96, 0x01],
  i16x8MinU: [0xfd, 0x97, 0x01],
  i16x8MaxS: [0xfd, 0x98, 0x01],
  i16x8MaxU: [0xfd, 0x99, 0x01],
  i32x4MinS: [0xfd, 0xb6, 0x01],
  i32x4MinU: [0xfd, 0xb7, 0x01],
  i32x4MaxS: [0xfd, 0xb8, 0x01],
  i32x4MaxU: [0xfd, 0xb9, 0x01],
  i64x2ExtendLowI32x4S: [0xfd, 0xc7, 0x01],
  i64x2ExtendHighI32x4S: [0xfd, 0xc8, 0x01],
  i64x2ExtendLowI32x4U: [0xfd, 0xc9, 0x01],
  i64x2ExtendHighI32x4U: [0xfd, 0xca, 0x01],
  i64x2Add: [0xfd, 0xce, 0x01],
  i64x2Eq: [0xfd, 0xd6, 0x01],
  f32x4Pmin: [0xfd, 0xea, 0x01],
  f32x4Pmax: [0xfd, 0xeb, 0x01],
  f64x2Add: [0xfd, 0xf0, 0x01],
  f64x2Pmin: [0xfd, 0xf6, 0x01],
  f64x2Pmax: [0xfd, 0xf7, 0x01],
} as const;

// Locals: the two parameters, then the same set in every function.
const P = 0, N = 1; // address (advances), element count
const END = 2, VEND = 3, P0 = 4, R32 = 5, X32 = 6; // i32
const R64 = 7; // i64
const RF64 = 8; // f64
const RF32 = 9; // f32
const A = [10, 11, 12, 13], MASK = 14, V = 15, W = 16; // v128
const LOCALS: Code[] = [[5, I32], [1, I64], [1, F64], [1, F32], [7, V128]];

/** `p += bytes` */
function advance(bytes: number): Code {
  return [...op.get(P), ...op.i32Const(bytes), ...op.i32Add, ...op.set(P)];
}

/**
 * Sets `END` to the range's end and `VEND` to the end of the part the four-vector loop covers,
 * and remembers the start in `P0`.
 */
function prologue(shift: number): Code {
  const perIteration = 64 >> shift; // elements in four vectors
  return [
    ...op.get(P),
    ...op.set(P0),
    ...op.get(P),
    ...op.get(N),
    ...op.i32Const(shift),
    ...op.i32Shl,
    ...op.i32Add,
    ...op.set(END),
    ...op.get(P),
    ...op.get(N),
    ...op.i32Const(-perIteration),
    ...op.i32And,
    ...op.i32Const(shift),
    ...op.i32Shl,
    ...op.i32Add,
    ...op.set(VEND),
  ];
}

/** `while (p < limit) { body; p += step }` */
function loopWhileBelow(limit: number, body: Code, step: number): Code {
  return [
    ...op.block,
    ...op.loop,
    ...op.get(P),
    ...op.get(limit),
    ...op.i32GeU,
    ...op.brIf(1),
    ...body,
    ...advance(step),
    ...op.br(0),
    ...op.end,
    ...op.end,
  ];
}

/** `a[i] = combine(a[i], a[j])` */
function fold(i: number, j: number, combine: Code): Code {
  return [...op.get(A[i]), ...op.get(A[j]), ...combine, ...op.set(A[i])];
}

function foldAccumulators(combine: Code): Code {
  return [...fold(0, 1, combine), ...fold(2, 3, combine), ...fold(0, 2, combine)];
}

function initAccumulators(value: Code): Code {
  return A.flatMap((a) => [...value, ...op.set(a)]);
}

/** Returns `value` (an f64 constant) from the function if the i32 on the stack is non-zero. */
function returnIf(value: number): Code {
  return [...op.if, ...op.f64Const(value), ...op.return, ...op.end];
}

function floatMinMax(t: "f64" | "f32", kind: "max" | "min"): Code {
  const f64 = t === "f64";
  const shift = f64 ? 3 : 2;
  const lanes = 16 >> shift;
  const max = kind === "max";
  const R = f64 ? RF64 : RF32;
  const pick = f64 ? (max ? op.f64x2Pmax : op.f64x2Pmin) : (max ? op.f32x4Pmax : op.f32x4Pmin);
  const exact = f64 ? (max ? op.f64Max : op.f64Min) : (max ? op.f32Max : op.f32Min);
  const ne = f64 ? op.f64x2Ne : op.f32x4Ne;
  const extract = f64 ? op.f64x2ExtractLane : op.f32x4ExtractLane;
  const identity = max ? -Infinity : Infinity;
  // The zero to look for when the result is ±0: max is +0 if there is any, min -0 if any.
  const zeroBits = max ? 0n : f64 ? -(2n ** 63n) : -(2n ** 31n);
  const found = max ? 0 : -0;
  const notFound = max ? -0 : 0;
  const vectorStep = A.flatMap((a, i) => [
    ...op.get(P),
    ...op.v128Load(16 * i),
    ...op.set(V),
    ...op.get(a),
    ...op.get(V),
    ...pick,
    ...op.set(a),
    ...op.get(MASK),
    ...op.get(V),
    ...op.get(V),
    ...ne,
    ...op.v128Or,
    ...op.set(MASK),
  ]);
  const lanesToScalar: number[] = [...op.get(A[0]), ...extract(0), ...op.set(R)];
  for (let lane = 1; lane < lanes; lane++) {
    lanesToScalar.push(...op.get(R), ...op.get(A[0]), ...extract(lane), ...exact, ...op.set(R));
  }
  const zeroSplat = f64
    ? [...op.i64Const(zeroBits), ...op.i64x2Splat, ...op.i64x2Eq]
    : [...op.i32Const(Number(zeroBits)), ...op.i32x4Splat, ...op.i32x4Eq];
  const zeroScalar = f64
    ? [...op.i64Load, ...op.i64Const(zeroBits), ...op.i64Eq]
    : [...op.i32Load, ...op.i32Const(Number(zeroBits)), ...op.i32Eq];
  const searchZero: Code = [
    ...op.get(P0),
    ...op.set(P),
    // Whole vectors while p + 16 <= end.
    ...op.block,
    ...op.loop,
    ...op.get(P),
    ...op.i32Const(16),
    ...op.i32Add,
    ...op.get(END),
    ...op.i32GtU,
    ...op.brIf(1),
    ...op.get(P),
    ...op.v128Load(0),
    ...zeroSplat,
    ...op.v128AnyTrue,
    ...returnIf(found),
    ...advance(16),
    ...op.br(0),
    ...op.end,
    ...op.end,
    ...loopWhileBelow(END, [...op.get(P), ...zeroScalar, ...returnIf(found)], 1 << shift),
    ...op.f64Const(notFound),
    ...op.return,
  ];
  return [
    ...prologue(shift),
    ...initAccumulators(
      f64 ? [...op.f64Const(identity), ...op.f64x2Splat] : [
        ...op.f32Const(identity),
        ...op.f32x4Splat,
      ],
    ),
    ...op.v128Const0,
    ...op.set(MASK),
    ...loopWhileBelow(VEND, vectorStep, 64),
    ...foldAccumulators(pick),
    ...lanesToScalar,
    ...loopWhileBelow(
      END,
      [...op.get(R), ...op.get(P), ...(f64 ? op.f64Load : op.f32Load), ...exact, ...op.set(R)],
      1 << shift,
    ),
    ...op.get(MASK),
    ...op.v128AnyTrue,
    ...returnIf(NaN),
    ...op.get(R),
    ...(f64 ? op.f64Const(0) : op.f32Const(0)),
    ...(f64 ? op.f64Eq : op.f32Eq),
    ...op.if,
    ...searchZero,
    ...op.end,
    ...op.get(R),
    ...(f64 ? [] : op.f64PromoteF32),
  ];
}

function floatSum(t: "f64" | "f32"): Code {
  const f64 = t === "f64";
  const shift = f64 ? 3 : 2;
  const vectorStep = A.flatMap((a, i) => [
    ...op.get(a),
    ...op.get(P),
    ...op.v128Load(16 * i),
    ...(f64 ? [] : [
      ...op.tee(V),
      ...op.f64x2PromoteLowF32x4,
      ...op.get(V),
      ...op.get(V),
      ...op.i8x16SwapHalves,
      ...op.f64x2PromoteLowF32x4,
      ...op.f64x2Add,
    ]),
    ...op.f64x2Add,
    ...op.set(a),
  ]);
  return [
    ...prologue(shift),
    ...initAccumulators(op.v128Const0),
    ...loopWhileBelow(VEND, vectorStep, 64),
    ...foldAccumulators(op.f64x2Add),
    ...op.get(A[0]),
    ...op.f64x2ExtractLane(0),
    ...op.get(A[0]),
    ...op.f64x2ExtractLane(1),
    ...op.f64Add,
    ...op.set(RF64),
    ...loopWhileBelow(
      END,
      [
        ...op.get(RF64),
        ...op.get(P),
        ...(f64 ? op.f64Load : [...op.f32Load, ...op.f64PromoteF32]),
        ...op.f64Add,
        ...op.set(RF64),
      ],
      1 << shift,
    ),
    ...op.get(RF64),
  ];
}

type IntType = Exclude<TypeName, "f64" | "f32">;

const INTS = {
  i32: {
    shift: 2,
    signed: true,
    load: op.i32Load,
    splat: op.i32x4Splat,
    extract: op.i32x4ExtractLane,
    max: op.i32x4MaxS,
    min: op.i32x4MinS,
    widen: [],
    limits: [-(2 ** 31), 2 ** 31 - 1],
  },
  u32: {
    shift: 2,
    signed: false,
    load: op.i32Load,
    splat: op.i32x4Splat,
    extract: op.i32x4ExtractLane,
    max: op.i32x4MaxU,
    min: op.i32x4MinU,
    widen: [],
    limits: [0, -1],
  },
  i16: {
    shift: 1,
    signed: true,
    load: op.i32Load16S,
    splat: op.i16x8Splat,
    extract: op.i16x8ExtractLaneS,
    max: op.i16x8MaxS,
    min: op.i16x8MinS,
    widen: op.i32x4ExtaddPairwiseI16x8S,
    limits: [-(2 ** 15), 2 ** 15 - 1],
  },
  u16: {
    shift: 1,
    signed: false,
    load: op.i32Load16U,
    splat: op.i16x8Splat,
    extract: op.i16x8ExtractLaneU,
    max: op.i16x8MaxU,
    min: op.i16x8MinU,
    widen: op.i32x4ExtaddPairwiseI16x8U,
    limits: [0, 2 ** 16 - 1],
  },
  i8: {
    shift: 0,
    signed: true,
    load: op.i32Load8S,
    splat: op.i8x16Splat,
    extract: op.i8x16ExtractLaneS,
    max: op.i8x16MaxS,
    min: op.i8x16MinS,
    widen: [...op.i16x8ExtaddPairwiseI8x16S, ...op.i32x4ExtaddPairwiseI16x8S],
    limits: [-(2 ** 7), 2 ** 7 - 1],
  },
  u8: {
    shift: 0,
    signed: false,
    load: op.i32Load8U,
    splat: op.i8x16Splat,
    extract: op.i8x16ExtractLaneU,
    max: op.i8x16MaxU,
    min: op.i8x16MinU,
    widen: [...op.i16x8ExtaddPairwiseI8x16U, ...op.i32x4ExtaddPairwiseI16x8U],
    limits: [0, 2 ** 8 - 1],
  },
} as const;

function intMinMax(t: IntType, kind: "max" | "min"): Code {
  const { shift, signed, load, splat, extract, limits } = INTS[t];
  const max = kind === "max";
  const vectorOp = INTS[t][kind];
  const lanes = 16 >> shift;
  // r = x <op> r ? x : r, with x in X32 and r in R32.
  const better = max ? (signed ? op.i32GtS : op.i32GtU) : (signed ? op.i32LtS : op.i32LtU);
  const keepBetter: Code = [
    ...op.get(X32),
    ...op.get(R32),
    ...op.get(X32),
    ...op.get(R32),
    ...better,
    ...op.select,
    ...op.set(R32),
  ];
  const vectorStep = A.flatMap((a, i) => [
    ...op.get(a),
    ...op.get(P),
    ...op.v128Load(16 * i),
    ...vectorOp,
    ...op.set(a),
  ]);
  const lanesToScalar: number[] = [...op.get(A[0]), ...extract(0), ...op.set(R32)];
  for (let lane = 1; lane < lanes; lane++) {
    lanesToScalar.push(...op.get(A[0]), ...extract(lane), ...op.set(X32), ...keepBetter);
  }
  return [
    ...prologue(shift),
    ...initAccumulators([...op.i32Const(max ? limits[0] : limits[1]), ...splat]),
    ...loopWhileBelow(VEND, vectorStep, 64),
    ...foldAccumulators(vectorOp),
    ...lanesToScalar,
    ...loopWhileBelow(END, [...op.get(P), ...load, ...op.set(X32), ...keepBetter], 1 << shift),
    ...op.get(R32),
    ...(signed ? op.f64ConvertI32S : op.f64ConvertI32U),
  ];
}

function intSum(t: IntType): Code {
  const { shift, signed, load, widen } = INTS[t];
  const low = signed ? op.i64x2ExtendLowI32x4S : op.i64x2ExtendLowI32x4U;
  const high = signed ? op.i64x2ExtendHighI32x4S : op.i64x2ExtendHighI32x4U;
  const vectorStep = A.flatMap((a, i) => [
    ...op.get(a),
    ...op.get(P),
    ...op.v128Load(16 * i),
    ...widen,
    ...op.tee(W),
    ...low,
    ...op.get(W),
    ...high,
    ...op.i64x2Add,
    ...op.i64x2Add,
    ...op.set(a),
  ]);
  return [
    ...prologue(shift),
    ...initAccumulators(op.v128Const0),
    ...loopWhileBelow(VEND, vectorStep, 64),
    ...foldAccumulators(op.i64x2Add),
    ...op.get(A[0]),
    ...op.i64x2ExtractLane(0),
    ...op.get(A[0]),
    ...op.i64x2ExtractLane(1),
    ...op.i64Add,
    ...op.set(R64),
    ...loopWhileBelow(
      END,
      [
        ...op.get(R64),
        ...op.get(P),
        ...load,
        ...(signed ? op.i64ExtendI32S : op.i64ExtendI32U),
        ...op.i64Add,
        ...op.set(R64),
      ],
      1 << shift,
    ),
    ...op.get(R64),
    ...op.f64ConvertI64S,
  ];
}

function kernelBody(t: TypeName, kind: ReduceKind): Code {
  if (t === "f64" || t === "f32") return kind === "sum" ? floatSum(t) : floatMinMax(t, kind);
  return kind === "sum" ? intSum(t) : intMinMax(t, kind);
}

/**
 * Assembles the kernels' WebAssembly module: 24 functions `(address: i32, count: i32) -> f64`,
 * exported as `max_f64`, `min_f64`, `sum_f64`, `max_f32`, … `sum_u8`, over an imported shared
 * memory `env.memory`.
 *
 * This is the source of `KERNELS_WASM`, the bytes that {@linkcode reduceRange} compiles;
 * they are embedded so that no thread pays for assembling them (about 10 ms cold), and a test checks
 * that the two agree. Not part of the package's API: `patterns/mod.ts` does not export it. To change
 * a kernel, edit it here, then print the new bytes and paste them into `KERNELS_WASM`:
 *
 * ```sh
 * deno eval 'import { assembleKernels } from "./patterns/kernels.ts";
 *   console.log(btoa(String.fromCharCode(...assembleKernels())).replace(/.{100}/g, "$&\n"))'
 * ```
 *
 * @returns The module's bytes.
 */
export function assembleKernels(): Uint8Array<ArrayBuffer> {
  const kernelType = [0x60, ...vector([[I32], [I32]]), ...vector([[F64]])];
  const memoryImport = [
    ...name("env"),
    ...name("memory"),
    0x02, // memory
    0x03, // limits: shared, with a maximum
    ...uleb(0),
    ...uleb(65_536),
  ];
  const bodies: number[][] = [];
  for (const t of TYPE_NAMES) {
    for (const kind of KINDS) {
      const body = [...vector(LOCALS), ...kernelBody(t, kind), ...op.end];
      bodies.push([...uleb(body.length), ...body]);
    }
  }
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vector([kernelType])),
    ...section(2, vector([memoryImport])),
    ...section(3, vector(bodies.map(() => [0]))),
    ...section(7, vector(KERNEL_NAMES.map((n, i) => [...name(n), 0x00, ...uleb(i)]))),
    ...section(10, vector(bodies)),
  ]);
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
