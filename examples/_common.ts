/**
 * What the numbered examples share: the scale switch, a clock, plain output, a seeded random
 * generator and a blocking sleep.
 *
 * Every example runs at full scale by default and at smoke-test scale with `--quick`:
 *
 *   deno run -A examples/07_serial_vs_parallel.ts --quick
 *
 * @module
 */

/** Whether the example was started with `--quick` (smoke-test scale: well under 2 s). */
export const QUICK: boolean = Deno.args.includes("--quick");

/** `full` normally, `quick` under `--quick`. */
export function scaled<T>(full: T, quick: T): T {
  return QUICK ? quick : full;
}

/** Prints one plain line. */
export function line(text = ""): void {
  console.log(text);
}

/** Prints the example's title and the scale it runs at. */
export function title(text: string): void {
  line(`${text}${QUICK ? " (--quick)" : ""}`);
}

/** Resolves after `ms` milliseconds, without blocking the thread (`asyncio.sleep`). */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Blocks this thread for `ms` milliseconds, as `time.sleep` does: nothing else runs meanwhile. */
export function blockFor(ms: number): void {
  if (ms > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Starts a clock; the returned function gives the milliseconds since. */
export function stopwatch(): () => number {
  const start = performance.now();
  return () => performance.now() - start;
}

/** Milliseconds, rounded, with their unit. */
export function fmtMs(ms: number): string {
  return `${ms.toFixed(0)} ms`;
}

/** A ratio such as `9.8x`. */
export function ratio(slow: number, fast: number): string {
  return `${(slow / fast).toFixed(1)}x`;
}

/**
 * A seeded pseudo-random generator (mulberry32): the same seed gives the same numbers in [0, 1),
 * so that an example prints the same figures on every run.
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An integer from `low` to `high`, both included, drawn from `random`. */
export function randomInt(random: () => number, low: number, high: number): number {
  return low + Math.floor(random() * (high - low + 1));
}
