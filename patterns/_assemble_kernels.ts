/**
 * The assembler of the reduction kernels' WebAssembly module, from a table of instructions (no
 * `wat2wasm`, no build tool). Only `deno task kernels` and a test load it: it writes the bytes into
 * `_kernels_wasm.ts`, which `kernels.ts` and every pool worker load instead.
 *
 * To change a kernel, edit it here, then run `deno task kernels` (which runs this file) and commit
 * both files; `tests/reduce_kernels_test.ts` fails while the committed bytes differ from what
 * {@linkcode assembleKernels} produces.
 *
 * One module with 24 functions `(address: i32, count: i32) -> f64`, one per element type and kind,
 * that import the array's shared memory. Each main loop reads 64 bytes (four v128) per iteration
 * into four accumulators, then a scalar loop takes the tail.
 *
 * Floats, max and min: `f64x2.max` (NaN-propagating, -0 < +0) costs about eight x64 instructions,
 * enough to make the loop compute-bound; `f64x2.pmax` (`a < b ? b : a`) is one `maxpd` but skips
 * NaN and keeps whichever zero came first. So the loop uses pmax, ORs `v != v` into a NaN mask
 * (two more cheap instructions, still memory-bound), and fixes the two differences after the loop:
 * a NaN seen anywhere returns NaN, and a result of ±0 is settled by searching the range for a +0
 * (max) or a -0 (min), which stops at the first one found (a second pass only when the extreme is
 * a zero of the other sign or far in). Measured over 100M doubles on one thread of this 2-core
 * machine: a loop of `f64x2.max` 71 ms, pmax with the NaN mask 55 ms, a bare loop of loads 58 ms.
 *
 * The loop is memory-bound, so its variants do not pay. From L2 it reads 28–31 GB/s, from memory
 * 8.5–12 GB/s per thread. One NaN mask per accumulator: 5% faster from L2, the same from memory;
 * eight accumulators (128 bytes an iteration): 6% slower from L2, the same from memory. C over the
 * same bytes (through FFI) takes what the kernel takes: 92 ms for 100M doubles, both gcc's scalar
 * `-O3 -march=native` loop and a copy of the code V8 emits for this one, bounds checks included.
 * What changes the time is which physical pages hold the array: on this virtual machine the same
 * loop over an array of the same 4 KiB pages ran in 72 ms or 92 ms, whoever allocated it.
 *
 * Integers, max and min: `i32x4.max_s` and friends, exact. Sums: widened to i64 lanes (pairwise for
 * 8 and 16 bits), exact, converted to a double at the end. Float sums: f64x2 lanes; f32 elements
 * are promoted to doubles first.
 *
 * @module
 */

import type { ReduceKind } from "./kernels.ts";

const TYPE_NAMES = ["f64", "f32", "i32", "u32", "i16", "u16", "i8", "u8"] as const;
type TypeName = typeof TYPE_NAMES[number];
const KINDS = ["max", "min", "sum"] as const;
/** In kernel order: the kernel for type `t` and kind `k` is function `t * 3 + k`. */
export const KERNEL_NAMES: readonly string[] = TYPE_NAMES.flatMap((t) =>
  KINDS.map((k) => `${k}_${t}`)
);

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
 * This is the source of `KERNELS_WASM` in `_kernels_wasm.ts`, the bytes that `reduceRange`
 * compiles; they are committed so that no thread pays for assembling them (about 10 ms cold). Not
 * part of the package's API: `patterns/mod.ts` does not export it.
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

/**
 * The text of `_kernels_wasm.ts` for a module's bytes: a header saying how it was made, the export
 * names in function order, and the bytes in base64, 100 characters a line.
 *
 * @param bytes The module, as {@linkcode assembleKernels} returns it.
 * @returns The file's text.
 */
export function kernelsModuleText(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  const base64 = btoa(binary).replace(/.{100}/g, "$&\n").replace(/\n$/, "");
  return `// Generated by \`deno task kernels\` (patterns/_assemble_kernels.ts): do not edit by hand.
// To change a kernel, edit the assembler and run the task again; tests/reduce_kernels_test.ts fails
// while these bytes differ from what the assembler produces.

/** The export names in function order: type \`t\`, kind \`k\` is function \`t * 3 + k\`. */
export const KERNEL_NAMES: readonly string[] = [
${KERNEL_NAMES.map((n) => `  ${JSON.stringify(n)},\n`).join("")}];

/** The kernels' WebAssembly module, in base64. */
export const KERNELS_WASM = \`
${base64}
\`;
`;
}

if (import.meta.main) {
  const target = new URL("./_kernels_wasm.ts", import.meta.url);
  const text = kernelsModuleText(assembleKernels());
  await Deno.writeTextFile(target, text);
  console.log(`Wrote ${target.pathname}`);
}
