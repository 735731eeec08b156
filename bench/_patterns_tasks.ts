// Task functions for bench/patterns.ts: the trivial tasks a pool runs, and seed 004's long job.

/** A trivial task: what a pool's per-task overhead is measured with. */
export function add(a: number, b: number): number {
  return a + b;
}

/** A trivial per-item task for `pool.map`. */
export function square(x: number): number {
  return x * x;
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/**
 * Seed 004's `long_running_process`: `time.sleep(task_time)` holds its process, so this blocks its
 * worker thread (without spinning) for `ms` milliseconds.
 */
export function longRunning(ms: number): number {
  Atomics.wait(sleeper, 0, 0, ms);
  return ms;
}
