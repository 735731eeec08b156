/**
 * 04 · CPU-bound: the largest of many doubles, on one thread and in a pool over shared memory.
 *
 * Seed 002 (002_cf49a18933953d98.txt, "Concurrency and Parallelism in Python", the CPU part)
 * reproduced: the max of 300M random floats takes 15.7 s with Python's `max`; threads do not help
 * (the GIL); processes copying their chunks take 8.2 s, processes reading 100 chunks of one shared
 * array take 6.7 s; `numpy.max` takes 0.17 s.
 *
 * Here 100M doubles (1M with `--quick`) sit in one `sharedArray(Float64Array, N)`, which workers
 * read without a copy. Four ways to the same maximum:
 * - one thread, a plain loop (Python's `max`);
 * - a pool, a plain loop per chunk (`pool.reduce` with a task of the module: processes + shared
 *   memory);
 * - one thread, the SIMD kernel (`reduceRange("max", data)`: numpy's place);
 * - a pool, a SIMD kernel per chunk (`pool.reduce("max", data, { chunks })`).
 *
 *   deno task example:cpu-max
 *   deno run -A examples/04_cpu_max.ts --quick
 *
 * @module
 */

import { Pool, reduceRange, sharedArray } from "../mod.ts";
import { fmtMs, line, ratio, scaled, stopwatch, title } from "./_common.ts";
import { maxOf } from "./_tasks.ts";
import type * as Tasks from "./_tasks.ts";

const N = scaled(100_000_000, 1_000_000);
const CHUNKS = 100; // as the seed's num_chunks
const WORKERS = navigator.hardwareConcurrency;

title(`04 max of ${N.toLocaleString("en-US")} doubles (seed 002, CPU part)`);

const clock = stopwatch();
const data = sharedArray(Float64Array, N);
for (let i = 0; i < N; i++) data[i] = Math.random();
line(`Filled a shared Float64Array (${(N * 8 / 2 ** 20).toFixed(0)} MiB) in ${fmtMs(clock())}.`);

await using pool = await Pool.start<typeof Tasks>(new URL("./_tasks.ts", import.meta.url), {
  size: WORKERS,
});

// Warm-up, outside the timings: compile the loop and the kernels on every thread.
const warm = sharedArray(Float64Array, 1 << 16).fill(0.5);
for (let i = 0; i < 20; i++) maxOf(warm);
reduceRange("max", warm);
await pool.reduce("maxOf", warm, { chunks: CHUNKS, combine: Math.max });
await pool.reduce("max", warm, { chunks: CHUNKS });

const results: { label: string; max: number; ms: number }[] = [];
/** Runs `run` three times and keeps the fastest: the machine may be busy with other work. */
async function measure(label: string, run: () => number | Promise<number>): Promise<void> {
  let best = { label, max: NaN, ms: Infinity };
  for (let round = 0; round < 3; round++) {
    const clock = stopwatch();
    const max = await run();
    const ms = clock();
    if (ms < best.ms) best = { label, max, ms };
  }
  results.push(best);
}

await measure("one thread, plain loop (max)", () => maxOf(data));
await measure(
  `pool of ${WORKERS}, plain loop per chunk`,
  () => pool.reduce("maxOf", data, { chunks: CHUNKS, combine: Math.max }),
);
await measure("one thread, SIMD kernel (numpy.max)", () => reduceRange("max", data));
await measure(
  `pool of ${WORKERS}, SIMD kernel per chunk`,
  () => pool.reduce("max", data, { chunks: CHUNKS }),
);

line();
line(
  `${CHUNKS} chunks, ${WORKERS} workers (${navigator.hardwareConcurrency} cores), best of 3 runs:`,
);
const baseline = results[0].ms;
for (const { label, ms } of results) {
  const rate = `${(N * 8 / ms / 1e6).toFixed(1)} GB/s read`;
  line(
    `  ${label.padEnd(38)} ${fmtMs(ms).padStart(8)}  ${ratio(baseline, ms).padStart(6)}  ${rate}`,
  );
}
const plainSpeedup = ratio(results[0].ms, results[1].ms);
const simdSpeedup = ratio(results[2].ms, results[3].ms);
line(`  the pool against one thread: ${plainSpeedup} (plain loop), ${simdSpeedup} (SIMD)`);
const agree = results.every(({ max }) => max === results[0].max);
line(`  max ${results[0].max}; ${agree ? "all four agree" : "THE RESULTS DIFFER"}`);
if (!agree) throw new Error(`The maxima differ: ${results.map(({ max }) => max).join(", ")}`);
