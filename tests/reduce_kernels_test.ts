import { deepEqual, equal, ok, throws } from "node:assert/strict";
import fc from "fast-check";
import { chunkRanges, type ReduceKind, reduceRange } from "../patterns/kernels.ts";
import { assembleKernels, kernelsModuleText } from "../patterns/_assemble_kernels.ts";
import { KERNEL_NAMES, KERNELS_WASM } from "../patterns/_kernels_wasm.ts";
import {
  adoptWasmMemory,
  isShared,
  type NumericArray,
  sharedArray,
  type SharedArrayConstructor,
  wasmMemoryOf,
} from "../patterns/shared_array.ts";
import { test } from "./_helpers.ts";

const TYPES: readonly SharedArrayConstructor[] = [
  Float64Array,
  Float32Array,
  Int32Array,
  Uint32Array,
  Int16Array,
  Uint16Array,
  Int8Array,
  Uint8Array,
];
const KINDS: readonly ReduceKind[] = ["max", "min", "sum"];
const KERNEL_TYPE_NAMES = ["f64", "f32", "i32", "u32", "i16", "u16", "i8", "u8"];

function isFloat(Type: SharedArrayConstructor): boolean {
  return Type === Float64Array || Type === Float32Array;
}

function make(Type: SharedArrayConstructor, values: readonly number[]): NumericArray {
  const array = new Type(values.length);
  array.set(values);
  return array;
}

/** A wasm-backed array of `Type`, long enough for every case placed at any offset below 2000. */
function wasmArray(Type: SharedArrayConstructor): NumericArray {
  const array = sharedArray(Type, Math.max(65_536 / Type.BYTES_PER_ELEMENT, 7_500));
  ok(wasmMemoryOf(array) !== undefined, `${Type.name} array is not in a WebAssembly memory`);
  return array;
}

// ---------------------------------------------------------------------------------------------
// Generators: lengths 0..maxLength, in one of several shapes, with a few special values placed at
// random positions.

function finite(Type: SharedArrayConstructor): fc.Arbitrary<number> {
  switch (Type) {
    case Float64Array:
      // Bounded so that no order of additions overflows: sums may then be compared.
      return fc.double({ min: -1e300, max: 1e300, noNaN: true });
    case Float32Array:
      return fc.float({ noNaN: true, noDefaultInfinity: true });
    default: {
      const bits = Type.BYTES_PER_ELEMENT * 8;
      const signed = Type === Int32Array || Type === Int16Array || Type === Int8Array;
      return signed
        ? fc.integer({ min: -(2 ** (bits - 1)), max: 2 ** (bits - 1) - 1 })
        : fc.integer({ min: 0, max: 2 ** bits - 1 });
    }
  }
}

function specials(Type: SharedArrayConstructor): fc.Arbitrary<number> {
  if (isFloat(Type)) return fc.constantFrom(NaN, Infinity, -Infinity, 0, -0);
  const bits = Type.BYTES_PER_ELEMENT * 8;
  const signed = Type === Int32Array || Type === Int16Array || Type === Int8Array;
  return signed
    ? fc.constantFrom(-(2 ** (bits - 1)), 2 ** (bits - 1) - 1, 0, -1)
    : fc.constantFrom(0, 2 ** bits - 1, 1);
}

function values(Type: SharedArrayConstructor, maxLength: number): fc.Arbitrary<number[]> {
  const float = isFloat(Type);
  const shapes = [
    fc.array(finite(Type), { maxLength, size: "max" }),
    fc.array(finite(Type), { minLength: 1, maxLength: 16 }), // short: tails only
    // Only signed zeros, or zeros with numbers on one side: max or min lands on ±0.
    ...(float
      ? [
        fc.array(fc.constantFrom(0, -0), { maxLength, size: "max" }),
        fc.array(fc.constantFrom(-0, -1), { maxLength, size: "max" }),
        fc.array(fc.constantFrom(0, 1), { maxLength, size: "max" }),
        fc.array(fc.constantFrom(-0, -0, -0, 0, -2.5), { maxLength, size: "max" }),
      ]
      : []),
  ];
  return fc.tuple(
    fc.oneof(...shapes),
    fc.array(fc.tuple(fc.nat(), specials(Type)), { maxLength: 3 }),
  ).map(([array, patches]) => {
    const out = [...array];
    if (out.length > 0) { for (const [at, value] of patches) out[at % out.length] = value; }
    return out;
  });
}

// ---------------------------------------------------------------------------------------------
// References and comparisons.

function naive(kind: "max" | "min", values: ArrayLike<number>): number {
  let m = kind === "max" ? -Infinity : Infinity;
  for (let i = 0; i < values.length; i++) {
    m = kind === "max" ? Math.max(m, values[i]) : Math.min(m, values[i]);
  }
  return m;
}

/** Neumaier's compensated sum, and the sum of magnitudes that bounds a plain sum's error. */
function kahan(values: ArrayLike<number>): { sum: number; magnitude: number } {
  let sum = 0, compensation = 0, magnitude = 0;
  for (let i = 0; i < values.length; i++) {
    const x = values[i];
    const t = sum + x;
    compensation += Math.abs(sum) >= Math.abs(x) ? (sum - t) + x : (x - t) + sum;
    sum = t;
    magnitude += Math.abs(x);
  }
  return { sum: sum + compensation, magnitude };
}

function assertReduced(
  Type: SharedArrayConstructor,
  kind: ReduceKind,
  values: ArrayLike<number>,
  got: number,
  where: string,
): void {
  const context = `${kind} of ${values.length} ${Type.name} elements (${where})`;
  if (kind !== "sum") {
    const expected = naive(kind, values);
    ok(
      Object.is(got, expected),
      `${context}: got ${Object.is(got, -0) ? "-0" : got}, expected ${
        Object.is(expected, -0) ? "-0" : expected
      }`,
    );
    return;
  }
  ok(!Object.is(got, -0), `${context}: a sum is never -0`);
  if (!isFloat(Type)) {
    let exact = 0n;
    for (let i = 0; i < values.length; i++) exact += BigInt(values[i]);
    equal(got, Number(exact), context);
    return;
  }
  const all = Array.from(values);
  const positive = all.includes(Infinity), negative = all.includes(-Infinity);
  if (all.some(Number.isNaN) || (positive && negative)) {
    ok(Number.isNaN(got), `${context}: got ${got}, expected NaN`);
  } else if (positive || negative) {
    equal(got, positive ? Infinity : -Infinity, context);
  } else {
    // The documented bound: within length × 2⁻⁵² × Σ|xᵢ| of the exact sum.
    const { sum, magnitude } = kahan(values);
    const tolerance = values.length * 2 ** -52 * magnitude;
    ok(
      Math.abs(got - sum) <= tolerance,
      `${context}: got ${got}, Kahan sum ${sum}, tolerance ${tolerance}`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// sharedArray, isShared, wasmMemoryOf, adoptWasmMemory

test("sharedArray allocates zero-filled shared arrays of every supported type", () => {
  for (const Type of TYPES) {
    for (const length of [0, 1, 1000, 100_000]) {
      const array = sharedArray(Type, length);
      ok(array instanceof Type);
      equal(array.length, length);
      equal(array.byteOffset, 0);
      ok(array.buffer instanceof SharedArrayBuffer);
      ok(isShared(array));
      ok(array.every((x) => x === 0));
      // From 64 KiB the array is a view of its own WebAssembly memory.
      const memory = wasmMemoryOf(array);
      equal(memory !== undefined, length * Type.BYTES_PER_ELEMENT >= 65_536, `${Type.name}`);
      if (memory !== undefined) equal(memory.buffer, array.buffer);
    }
  }
  const twice = [sharedArray(Float64Array, 10_000), sharedArray(Float64Array, 10_000)];
  ok(twice[0].buffer !== twice[1].buffer, "each array has its own memory");
});

test("sharedArray names the bad length or type in its error", () => {
  const where = "Cannot allocate shared array";
  for (const length of [-1, 1.5, NaN, Infinity, 2 ** 53]) {
    throws(() => sharedArray(Float64Array, length), {
      name: "RangeError",
      message: `${where}: length must be a non-negative integer, received ${length}`,
    });
  }
  throws(() => sharedArray(Float64Array, "10" as unknown as number), {
    name: "TypeError",
    message: `${where}: length must be a number, received "10"`,
  });
  const supported =
    "Float64Array, Float32Array, Int32Array, Uint32Array, Int16Array, Uint16Array, Int8Array, Uint8Array";
  for (
    const [Type, shown] of [
      [BigInt64Array, "BigInt64Array"],
      [Uint8ClampedArray, "Uint8ClampedArray"],
      [Array, "Array"],
      [undefined, "undefined"],
      ["Float64Array", '"Float64Array"'],
    ] as const
  ) {
    throws(() => sharedArray(Type as unknown as SharedArrayConstructor, 4), {
      name: "TypeError",
      message: `${where}: Type must be one of ${supported}, received ${shown}`,
    });
  }
});

test("isShared tells views of shared memory from the rest", () => {
  equal(isShared(sharedArray(Int32Array, 4)), true);
  equal(isShared(new Int32Array(new SharedArrayBuffer(16))), true);
  equal(isShared(new DataView(new SharedArrayBuffer(16))), true);
  equal(isShared(new Int32Array(4)), false);
  equal(isShared({ buffer: new SharedArrayBuffer(4) } as unknown as Int32Array), false);
});

test("adoptWasmMemory accepts shared memories only, and makes their views known", () => {
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
  const view = new Float64Array(memory.buffer, 64, 100);
  equal(wasmMemoryOf(view), undefined);
  adoptWasmMemory(memory);
  adoptWasmMemory(memory);
  equal(wasmMemoryOf(view), memory);
  view.fill(1.5);
  equal(reduceRange("sum", view), 150);
  const message = "Cannot adopt WebAssembly memory: memory must be a shared WebAssembly.Memory";
  throws(() => adoptWasmMemory(new WebAssembly.Memory({ initial: 1 })), {
    name: "TypeError",
    message: `${message}, received a Memory`,
  });
  throws(() => adoptWasmMemory(new SharedArrayBuffer(8) as unknown as WebAssembly.Memory), {
    name: "TypeError",
    message: `${message}, received a SharedArrayBuffer`,
  });
});

// ---------------------------------------------------------------------------------------------
// reduceRange

for (const Type of TYPES) {
  test(`reduceRange over ${Type.name} matches a naive reference on both paths`, () => {
    const big = wasmArray(Type);
    fc.assert(
      fc.property(values(Type, 5000), fc.nat(1999), (values, offset) => {
        const n = values.length;
        const plain = make(Type, values);
        // The stored values (Float32Array rounds, integer arrays wrap) are the reference's input.
        const stored = Array.from(plain);
        big.set(plain, offset);
        const view = big.subarray(offset, offset + n); // byteOffset ≠ 0 in the same memory
        for (const kind of KINDS) {
          assertReduced(Type, kind, stored, reduceRange(kind, plain), "JS path");
          assertReduced(Type, kind, stored, reduceRange(kind, big, offset, offset + n), "WASM");
          assertReduced(Type, kind, stored, reduceRange(kind, view), "WASM, offset view");
        }
      }),
      { numRuns: 120 },
    );
  });
}

test("reduceRange follows Math.max and Math.min on NaN and signed zeros, on both paths", () => {
  const cases: number[][] = [
    [],
    [NaN],
    [-0, 0],
    [0, -0],
    [-0, -0],
    [1, 2, NaN],
    [-Infinity],
    [Infinity, -Infinity],
  ];
  // Long versions, so that the WebAssembly path takes them: the special value in the vector
  // loop, in the tail, or both.
  const long = (fill: number, at: Record<number, number>) => {
    const values = new Array<number>(203).fill(fill);
    for (const [i, v] of Object.entries(at)) values[Number(i)] = v;
    return values;
  };
  cases.push(
    long(-0, { 5: 0 }),
    long(-0, { 202: 0 }),
    long(-0, {}),
    long(0, { 7: -0 }),
    long(0, { 201: -0 }),
    long(0, {}),
    long(1, { 0: NaN }),
    long(1, { 202: NaN }),
    long(-1, { 100: -0, 150: 0 }),
  );
  const big = wasmArray(Float64Array);
  const f32 = wasmArray(Float32Array);
  for (const values of cases) {
    big.set(values, 3);
    f32.set(values, 3);
    for (const kind of ["max", "min"] as const) {
      const expected = values.length === 0
        ? (kind === "max" ? -Infinity : Infinity)
        : (kind === "max" ? Math.max(...values) : Math.min(...values));
      for (
        const got of [
          reduceRange(kind, new Float64Array(values)),
          reduceRange(kind, big, 3, 3 + values.length),
          reduceRange(kind, f32, 3, 3 + values.length),
        ]
      ) {
        ok(Object.is(got, expected), `${kind} of [${values}]: got ${got}, expected ${expected}`);
      }
    }
  }
  equal(reduceRange("sum", new Float64Array([-0, -0])), 0);
  ok(!Object.is(reduceRange("sum", new Float64Array([-0, -0])), -0));
  equal(reduceRange("sum", new Float64Array(0)), 0);
});

test("reduceRange instantiates the kernels once per memory, for ranges of 64 or more", () => {
  const Original = WebAssembly.Instance;
  let instances = 0;
  WebAssembly.Instance = class extends Original {
    constructor(module: WebAssembly.Module, imports?: WebAssembly.Imports) {
      super(module, imports);
      instances++;
    }
  };
  try {
    const data = sharedArray(Float64Array, 10_000);
    data.fill(2);
    equal(reduceRange("sum", data, 0, 63), 126); // short: JavaScript
    equal(instances, 0);
    equal(reduceRange("sum", data, 0, 64), 128);
    equal(instances, 1);
    equal(reduceRange("max", data), 2);
    equal(reduceRange("min", data.subarray(100, 200)), 2);
    equal(instances, 1);
    equal(reduceRange("max", new Float64Array(data)), 2); // a copy on an ArrayBuffer: JavaScript
    equal(instances, 1);
    equal(reduceRange("max", sharedArray(Float64Array, 10_000)), 0); // another memory
    equal(instances, 2);
  } finally {
    WebAssembly.Instance = Original;
  }
});

test("every WebAssembly kernel handles every short length and tail", () => {
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
  const { exports } = new WebAssembly.Instance(new WebAssembly.Module(assembleKernels()), {
    env: { memory },
  });
  TYPES.forEach((Type, t) => {
    const bytes = Type.BYTES_PER_ELEMENT;
    fc.assert(
      fc.property(
        values(Type, 300).filter((v) => v.length > 0),
        fc.nat(31),
        (values, offset) => {
          const region = new Type(memory.buffer as ArrayBuffer, 0, 4096 / bytes);
          // Garbage around the range, which the kernel must not read.
          for (let i = 0; i < region.length; i++) region[i] = (i * 7919) % 251 - 100;
          region.set(values, offset);
          const stored = Array.from(region.subarray(offset, offset + values.length));
          for (const kind of KINDS) {
            const kernel = exports[`${kind}_${KERNEL_TYPE_NAMES[t]}`] as (
              address: number,
              count: number,
            ) => number;
            assertReduced(Type, kind, stored, kernel(offset * bytes, values.length), "raw kernel");
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});

test("the committed WebAssembly module is what assembleKernels produces", async () => {
  const assembled = assembleKernels();
  ok(WebAssembly.validate(assembled));
  const committed = Uint8Array.from(atob(KERNELS_WASM.replace(/\s/g, "")), (c) => c.charCodeAt(0));
  ok(
    committed.length === assembled.length && committed.every((byte, i) => byte === assembled[i]),
    "patterns/_kernels_wasm.ts is stale: run `deno task kernels` and commit it",
  );
  const exports = WebAssembly.Module.exports(new WebAssembly.Module(assembled));
  deepEqual(KERNEL_NAMES, exports.map((e) => e.name));
  const source = await Deno.readTextFile(new URL("../patterns/_kernels_wasm.ts", import.meta.url));
  equal(source, kernelsModuleText(assembled), "run `deno task kernels` and commit the file");
});

test("a pool worker's graph does not load the assembler", async () => {
  const { stdout } = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", new URL("../patterns/_pool_worker.ts", import.meta.url).href],
    stdout: "piped",
    stderr: "null",
  }).output();
  const graph = JSON.parse(new TextDecoder().decode(stdout)) as {
    modules: { specifier: string }[];
  };
  const files = graph.modules.map((m) => m.specifier);
  ok(files.some((f) => f.endsWith("/patterns/_kernels_wasm.ts")), "the bytes are loaded");
  ok(!files.some((f) => f.endsWith("/patterns/_assemble_kernels.ts")), "the assembler is not");
});

test("reduceRange names the bad kind, array or range in its error", () => {
  const data = new Float64Array(10);
  throws(() => reduceRange("avg" as ReduceKind, data), {
    name: "TypeError",
    message: 'Cannot reduce: kind must be "max", "min" or "sum", received "avg"',
  });
  const supported =
    "Float64Array, Float32Array, Int32Array, Uint32Array, Int16Array, Uint16Array, Int8Array, Uint8Array";
  for (
    const [array, shown] of [
      [[1, 2, 3], "an array"],
      [new BigInt64Array(2), "a BigInt64Array"],
      [null, "null"],
    ] as const
  ) {
    throws(() => reduceRange("max", array as unknown as Float64Array, 0, 0), {
      name: "TypeError",
      message: `Cannot reduce: array must be one of ${supported}, received ${shown}`,
    });
  }
  for (const [start, end] of [[-1, 3], [4, 3], [0.5, 3], [0, NaN]]) {
    throws(() => reduceRange("max", data, start, end), {
      name: "RangeError",
      message:
        `Cannot reduce range [${start}, ${end}): start and end must be integers with 0 ≤ start ≤ end`,
    });
  }
  throws(() => reduceRange("max", data, 2, 11), {
    name: "RangeError",
    message: "Cannot reduce range [2, 11): end exceeds the array's length 10",
  });
  // A subclass of a supported type is that type.
  class Samples extends Float64Array {}
  equal(reduceRange("max", new Samples([1, 5, 2])), 5);
});

// ---------------------------------------------------------------------------------------------
// chunkRanges

test("chunkRanges covers [0, length) exactly with non-empty ranges whose sizes differ by ≤ 1", () => {
  fc.assert(
    fc.property(fc.nat(1_000_000), fc.integer({ min: 1, max: 200 }), (length, chunks) => {
      const ranges = chunkRanges(length, chunks);
      equal(ranges.length, Math.min(length, chunks));
      let next = 0;
      for (const [start, end] of ranges) {
        equal(start, next);
        ok(end > start);
        next = end;
      }
      equal(next, length);
      const sizes = ranges.map(([start, end]) => end - start);
      if (sizes.length > 0) ok(Math.max(...sizes) - Math.min(...sizes) <= 1);
      // The longer ranges come first.
      deepEqual(sizes, sizes.toSorted((a, b) => b - a));
    }),
  );
  deepEqual(chunkRanges(10, 3), [[0, 4], [4, 7], [7, 10]]);
  deepEqual(chunkRanges(0, 3), []);
  deepEqual(chunkRanges(2, 5), [[0, 1], [1, 2]]);
});

test("chunkRanges names the bad length or chunk count in its error", () => {
  for (const length of [-1, 1.5, NaN, Infinity]) {
    throws(() => chunkRanges(length, 2), {
      name: "RangeError",
      message:
        `Cannot split into chunks: length must be a non-negative integer, received ${length}`,
    });
  }
  for (const chunks of [0, -2, 2.5, NaN]) {
    throws(() => chunkRanges(10, chunks), {
      name: "RangeError",
      message: `Cannot split into chunks: chunks must be a positive integer, received ${chunks}`,
    });
  }
  throws(() => chunkRanges("10" as unknown as number, 2), {
    name: "RangeError",
    message: 'Cannot split into chunks: length must be a non-negative integer, received "10"',
  });
});

// ---------------------------------------------------------------------------------------------
// Two workers, one shared array

const WORKER_SOURCE = `
import { reduceRange } from ${JSON.stringify(new URL("../patterns/kernels.ts", import.meta.url))};
import { adoptWasmMemory } from ${
  JSON.stringify(new URL("../patterns/shared_array.ts", import.meta.url))
};
self.onmessage = ({ data: { data, memory, start, end } }) => {
  adoptWasmMemory(memory);
  const result = {
    viewOfMemory: data.buffer === memory.buffer,
    max: reduceRange("max", data, start, end),
    min: reduceRange("min", data, start, end),
    sum: reduceRange("sum", data, start, end),
  };
  data[start] = -1; // the main thread must see this write: the array is shared, not copied
  self.postMessage(result);
};
`;

type WorkerResult = { viewOfMemory: boolean; max: number; min: number; sum: number };

test("two workers reducing halves of one shared array agree with one thread", async () => {
  const n = 1_000_000;
  const data = sharedArray(Float64Array, n);
  const memory = wasmMemoryOf(data);
  ok(memory !== undefined);
  for (let i = 0; i < n; i++) data[i] = Math.sin(i) * 1000;
  data[777_777] = 5000;
  const expected = {
    max: reduceRange("max", data),
    min: reduceRange("min", data),
    sum: reduceRange("sum", data),
  };
  equal(expected.max, 5000);

  const url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: "application/javascript" }));
  const ranges = chunkRanges(n, 2);
  const workers = ranges.map(() => new Worker(url, { type: "module" }));
  try {
    const results = await Promise.all(
      workers.map((worker, i) =>
        new Promise<WorkerResult>((resolve, reject) => {
          worker.onmessage = (event) => resolve(event.data);
          worker.onerror = (event) => {
            event.preventDefault();
            reject(new Error(event.message));
          };
          worker.postMessage({ data, memory, start: ranges[i][0], end: ranges[i][1] });
        })
      ),
    );
    for (const result of results) ok(result.viewOfMemory, "the worker got a view of the memory");
    equal(Math.max(...results.map((r) => r.max)), expected.max);
    equal(Math.min(...results.map((r) => r.min)), expected.min);
    const sum = results[0].sum + results[1].sum;
    const { magnitude } = kahan(data);
    ok(Math.abs(sum - expected.sum) <= n * 2 ** -52 * magnitude, `${sum} vs ${expected.sum}`);
    // Zero copy: each worker's write is in the main thread's array.
    equal(data[ranges[0][0]], -1);
    equal(data[ranges[1][0]], -1);
  } finally {
    for (const worker of workers) worker.terminate();
    URL.revokeObjectURL(url);
  }
});
