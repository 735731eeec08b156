/**
 * Reduction kernels benchmark (seed 002: the max of a huge array of floats). Reduces one shared
 * array of doubles with
 *
 * - a plain JavaScript loop (`m = Math.max(m, a[i])`), the baseline;
 * - `reduceRange` on one thread: its JavaScript path (an array on a plain `SharedArrayBuffer`) and its
 *   WebAssembly SIMD path (the same values in a shared `WebAssembly.Memory`);
 * - `reduceRange` in two bare workers, each reducing half of the same memory (zero copy);
 * - numpy's `a.max()` / `a.sum()` in a python3 subprocess over its own array, when numpy imports.
 *
 * Every function is warmed up on small ranges first, as a pool worker's would be after a few tasks.
 * Prints best and median times and the speed-up over the plain loop and over numpy.
 *
 *   deno run -A bench/reduce_kernels.ts [--n=100000000] [--rounds=7] [--json]
 */
import { reduceRange } from "../patterns/kernels.ts";
import type { ReduceKind } from "../patterns/kernels.ts";
import { sharedArray, wasmMemoryOf } from "../patterns/shared_array.ts";

const args = new Map(
  Deno.args.map((arg) => arg.replace(/^--/, "").split("=") as [string, string | undefined]),
);
const N = Number(args.get("n") ?? 100_000_000);
const ROUNDS = Number(args.get("rounds") ?? 7);
const JSON_OUTPUT = args.has("json");

type Path = "wasm" | "js";
/** The kinds benchmarked; min costs the same as max. */
type Kind = Extract<ReduceKind, "max" | "sum">;
type Row = { group: string; kind: Kind; label: string; best: number; median: number };

const rows: Row[] = [];
const log = JSON_OUTPUT ? () => {} : console.log;

function plainMax(a: Float64Array, start: number, end: number): number {
  let m = -Infinity;
  for (let i = start; i < end; i++) m = Math.max(m, a[i]);
  return m;
}

function plainSum(a: Float64Array, start: number, end: number): number {
  let s = 0;
  for (let i = start; i < end; i++) s += a[i];
  return s;
}

function summary(times: number[]): { best: number; median: number } {
  const sorted = times.toSorted((x, y) => x - y);
  return { best: sorted[0], median: sorted[Math.floor(sorted.length / 2)] };
}

async function measure(
  group: string,
  kind: Kind,
  label: string,
  run: () => number | Promise<number>,
): Promise<number> {
  const times: number[] = [];
  let value = NaN;
  for (let round = 0; round < ROUNDS; round++) {
    const start = performance.now();
    value = await run();
    times.push(performance.now() - start);
  }
  rows.push({ group, kind, label, ...summary(times) });
  return value;
}

function assertSame(kind: Kind, label: string, got: number, expected: number): void {
  const ok = kind === "sum"
    ? Math.abs(got - expected) <= N * 2 ** -52 * Math.abs(expected)
    : Object.is(got, expected);
  if (!ok) throw new Error(`${label} ${kind} gave ${got}, expected ${expected}`);
}

const WORKER_SOURCE = `
import { reduceRange } from ${JSON.stringify(new URL("../patterns/kernels.ts", import.meta.url))};
import { adoptWasmMemory } from ${
  JSON.stringify(new URL("../patterns/shared_array.ts", import.meta.url))
};
let arrays;
self.onmessage = ({ data }) => {
  if (data.type === "setup") {
    adoptWasmMemory(data.memory);
    arrays = { wasm: data.wasm, js: data.js };
    for (const path of ["wasm", "js"]) {
      for (const kind of ["max", "sum"]) {
        for (let i = 0; i < 2000; i++) reduceRange(kind, arrays[path], i, i + 10_000);
      }
    }
    self.postMessage({ ready: true });
    return;
  }
  const start = performance.now();
  const value = reduceRange(data.kind, arrays[data.path], data.start, data.end);
  self.postMessage({ value, ms: performance.now() - start });
};
`;

function reply<T>(worker: Worker): Promise<T> {
  return new Promise((resolve, reject) => {
    worker.onmessage = (event) => resolve(event.data);
    worker.onerror = (event) => {
      event.preventDefault();
      reject(new Error(event.message));
    };
  });
}

async function numpy(): Promise<{ version: string; max: number[]; sum: number[] } | string> {
  const script = `
import json, sys, time
try:
    import numpy
except ImportError as error:
    print(json.dumps({"absent": str(error)}))
    sys.exit(0)
a = numpy.random.default_rng(1).random(${N})
out = {"version": numpy.__version__}
for kind in ("max", "sum"):
    f = getattr(a, kind)
    f()
    times = []
    for _ in range(${ROUNDS}):
        t = time.perf_counter()
        f()
        times.append((time.perf_counter() - t) * 1000)
    out[kind] = times
print(json.dumps(out))
`;
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command("python3", { args: ["-c", script], stderr: "piped" }).output();
  } catch (error) {
    return `python3 could not run (${(error as Error).message})`;
  }
  if (!output.success) {
    return `python3 failed: ${new TextDecoder().decode(output.stderr).trim().split("\n").at(-1)}`;
  }
  const result = JSON.parse(new TextDecoder().decode(output.stdout));
  if ("absent" in result) return `numpy is not importable (${result.absent})`;
  return result;
}

function format(ms: number): string {
  return `${ms.toFixed(1).padStart(7)} ms`;
}

log(`Allocating and filling ${N.toLocaleString("en")} doubles (${(N * 8 / 1e6).toFixed(0)} MB)…`);
const data = sharedArray(Float64Array, N);
const memory = wasmMemoryOf(data);
if (memory === undefined) throw new Error("The array is not in a WebAssembly memory");
for (let i = 0; i < N; i++) data[i] = Math.random();
// The same values on a plain SharedArrayBuffer: reduceRange takes its JavaScript path there.
const plain = new Float64Array(new SharedArrayBuffer(N * 8));
plain.set(data);

const warm = new Float64Array(10_000).map(Math.random);
for (let i = 0; i < 3000; i++) {
  plainMax(warm, i % 7, warm.length);
  plainSum(warm, i % 7, warm.length);
  reduceRange("max", warm, i % 7);
  reduceRange("sum", warm, i % 7);
  reduceRange("max", data, i, i + 10_000);
  reduceRange("sum", data, i, i + 10_000);
}

const loadBefore = Deno.loadavg()[0];
const one = "one thread";
const expected = { max: NaN, sum: NaN };
for (const kind of ["max", "sum"] as const) {
  expected[kind] = kind === "max"
    ? await measure(one, kind, "plain JS loop (Math.max)", () => plainMax(data, 0, N))
    : await measure(one, kind, "plain JS loop (+=)", () => plainSum(data, 0, N));
  for (const [path, array] of [["js", plain], ["wasm", data]] as const) {
    const label = path === "js" ? "reduceRange, JS path" : "reduceRange, WASM SIMD";
    const value = await measure(one, kind, label, () => reduceRange(kind, array));
    assertSame(kind, label, value, expected[kind]);
  }
}

const url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: "application/javascript" }));
const workers = [0, 1].map(() => new Worker(url, { type: "module" }));
try {
  await Promise.all(workers.map((worker) => {
    const ready = reply(worker);
    worker.postMessage({ type: "setup", wasm: data, js: plain, memory });
    return ready;
  }));
  const half = Math.floor(N / 2);
  const ranges = [[0, half], [half, N]];
  const two = "two workers, one half each (zero copy)";
  for (const kind of ["max", "sum"] as const) {
    for (const path of ["js", "wasm"] as const satisfies Path[]) {
      const label = path === "js" ? "reduceRange, JS path" : "reduceRange, WASM SIMD";
      const value = await measure(two, kind, label, async () => {
        const replies = await Promise.all(workers.map((worker, i) => {
          const answer = reply<{ value: number }>(worker);
          worker.postMessage({ kind, path, start: ranges[i][0], end: ranges[i][1] });
          return answer;
        }));
        const [a, b] = replies.map((r) => r.value);
        return kind === "max" ? Math.max(a, b) : a + b;
      });
      assertSame(kind, `two workers, ${label}`, value, expected[kind]);
    }
  }
} finally {
  for (const worker of workers) worker.terminate();
  URL.revokeObjectURL(url);
}
const loadAfter = Deno.loadavg()[0];

log("Running numpy in a python3 subprocess (it allocates its own array)…");
const np = await numpy();
const numpyMs = typeof np === "string" ? undefined : {
  max: summary(np.max).best,
  sum: summary(np.sum).best,
};
if (typeof np !== "string") {
  for (const kind of ["max", "sum"] as const) {
    rows.push({
      group: `numpy ${np.version} (python3 subprocess, its own array)`,
      kind,
      label: `a.${kind}()`,
      ...summary(np[kind]),
    });
  }
}

if (JSON_OUTPUT) {
  console.log(
    JSON.stringify({ n: N, rounds: ROUNDS, rows, numpy: typeof np === "string" ? np : "ok" }),
  );
} else {
  const baseline = {
    max: rows.find((r) => r.kind === "max")!.best,
    sum: rows.find((r) => r.kind === "sum")!.best,
  };
  log(
    `\n${N.toLocaleString("en")} doubles, best of ${ROUNDS} (median); load average ${
      loadBefore.toFixed(2)
    } → ${loadAfter.toFixed(2)} on ${navigator.hardwareConcurrency} cores`,
  );
  log(
    `speed-up = plain JS loop's best / this best; vs numpy = numpy's best / this best (> 1: faster)`,
  );
  let group = "";
  for (const row of rows) {
    if (row.group !== group) log(`\n${group = row.group}`);
    const speedUp = (baseline[row.kind] / row.best).toFixed(2).padStart(5);
    const vsNumpy = numpyMs === undefined
      ? ""
      : `   vs numpy ${(numpyMs[row.kind] / row.best).toFixed(2).padStart(5)}`;
    log(
      `  ${row.kind}  ${row.label.padEnd(26)} ${format(row.best)} (${
        format(row.median).trim()
      })   speed-up ${speedUp}${vsNumpy}`,
    );
  }
  if (typeof np === "string") log(`\nNo numpy comparison: ${np}.`);
}
