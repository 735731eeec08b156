/**
 * 01 · Waiting for tasks, and keeping the caller free while blocking work runs elsewhere.
 *
 * Seed 000 (000_1cebac8b80a586b1.txt, "Multi-tasking in Python") reproduced:
 * - two awaited sleeps take twice as long as two started together (`asyncio.create_task`);
 * - `asyncio.wait(tasks, timeout)` splits tasks of increasing durations into done and pending
 *   (here `wait(promises, { timeoutMs })`);
 * - a blocking function run in a thread pool (`loop.run_in_executor`) instead of on the caller's
 *   thread: here a `Pool` of workers, while the main thread's event loop keeps ticking;
 * - `threading.Event`: a worker publishes a result and sets an event, then keeps working until the
 *   caller sets a second event (a `SharedEvent` each);
 * - `ThreadPoolExecutor.map` (`pool.map`), `Pool.apply_async` (`pool.submit`), and pyrallel's
 *   mapper/collector `ParallelProcessor` (`mapReduce`).
 *
 * The seed counts in seconds; this example counts in units of 100 ms (20 ms with `--quick`).
 *
 *   deno task example:asyncio-wait
 *   deno run -A examples/01_asyncio_wait.ts --quick
 *
 * @module
 */

import { mapReduce, Pool, SharedEvent, wait } from "../mod.ts";
import { blockFor, line, scaled, sleep, stopwatch, title } from "./_common.ts";
import type * as Tasks from "./_tasks.ts";

const UNIT = scaled(100, 20);
const units = (ms: number) => `${(ms / UNIT).toFixed(1)} units`;

title(`01 asyncio.wait and friends (seed 000), 1 unit = ${UNIT} ms`);

// --- create_task: two sleeps, awaited in turn, then started together -----------------------
async function sayHello(name: string): Promise<string> {
  await sleep(UNIT);
  return `Hello-${name}`;
}
line();
line("Two 1-unit greetings:");
let clock = stopwatch();
const inTurn = [await sayHello("Ben"), await sayHello("Jenny")];
line(`  awaited one after the other: ${inTurn.join(", ")} in ${units(clock())}`);
clock = stopwatch();
const together = await Promise.all([sayHello("Ben"), sayHello("Jenny")]);
line(`  started together:            ${together.join(", ")} in ${units(clock())}`);

// --- asyncio.wait with a timeout ------------------------------------------------------------
line();
line("Five tasks of 1 to 5 units, wait(..., { timeoutMs: 3.5 units }):");
const listItems: number[] = [];
const slowCalculations = [1, 2, 3, 4, 5].map(async (n) => {
  await sleep(n * UNIT);
  listItems.push(n);
  return n;
});
clock = stopwatch();
const { done, pending } = await wait(slowCalculations, { timeoutMs: 3.5 * UNIT });
line(`  done ${done.size}, pending ${pending.size} after ${units(clock())}`);
line(`  list items at the timeout: [${listItems.join(", ")}]`);
await Promise.all(slowCalculations);
line(`  list items once the pending finish: [${listItems.join(", ")}] after ${units(clock())}`);

// --- a blocking function: on the caller's thread, then in a pool ------------------------------
await using pool = await Pool.start<typeof Tasks>(new URL("./_tasks.ts", import.meta.url), {
  size: 5,
  maxInFlight: 1, // a worker takes its next task when it is free, as a thread of an executor
});
await pool.map("nap", Array(pool.size).fill(0), { chunkSize: 1 }); // every worker warms up

line();
line("A blocking slow calculation of 1, 2, 3, 4 units (time.sleep):");
let ticks = 0;
const ticker = setInterval(() => ticks++, UNIT / 10);
try {
  clock = stopwatch();
  for (const n of [1, 2, 3, 4]) blockFor(n * UNIT);
  line(
    `  ${"on the main thread:".padEnd(20)}${
      units(clock())
    }, the event loop ticked ${ticks} times meanwhile`,
  );
  ticks = 0;
  clock = stopwatch();
  const slept = await Promise.all([1, 2, 3, 4].map((n) => pool.submit("nap", n * UNIT)));
  line(
    `  ${`in a pool of ${pool.size}:`.padEnd(20)}${
      units(clock())
    }, the event loop ticked ${ticks} times ` +
      `meanwhile (list items [${slept.map((ms) => ms / UNIT).join(", ")}])`,
  );
} finally {
  clearInterval(ticker);
}

// --- threading.Event: a result is available; later, stop ------------------------------------
line();
line("threading.Event: a worker sets resultAvailable, then works until the caller sets stop:");
const cell = new Int32Array(new SharedArrayBuffer(4));
const resultAvailable = new SharedEvent();
const stop = new SharedEvent();
clock = stopwatch();
const work = pool.submit("computeThenKeepWorking", {
  x: 4,
  ms: 2 * UNIT,
  stepMs: UNIT / 10,
  cell,
  resultAvailable,
  stop,
});
await resultAvailable.wait();
line(`  the result is ${Atomics.load(cell, 0)} after ${units(clock())}; the worker keeps working`);
await sleep(UNIT);
stop.set();
const steps = await work;
line(`  stop.set(): the worker finished after ${steps} more steps, ${units(clock())} in all`);

// --- ThreadPoolExecutor.map, apply_async, ParallelProcessor ---------------------------------
line();
line("The same calculations through the pool's own calls:");
clock = stopwatch();
const squares = await pool.map("napThenSquare", [1, 2, 3, 4].map((x) => ({ x, ms: x * UNIT })), {
  chunkSize: 1,
});
line(`  pool.map (executor.map):       [${squares.join(", ")}] in ${units(clock())}`);

clock = stopwatch();
const futures = [1, 2, 3, 4].map((n) => pool.submit("nap", n * UNIT));
const results: number[] = [];
for (const future of futures) results.push(await future.result({ timeoutMs: 10 * UNIT }));
line(
  `  pool.submit (apply_async):     [${results.map((ms) => ms / UNIT).join(", ")}] in ` +
    units(clock()),
);

clock = stopwatch();
const collected: number[] = [];
await mapReduce(pool, "nap", [4, 3, 2, 1].map((n) => n * UNIT), (ms) => {
  collected.push(ms / UNIT);
});
line(
  `  mapReduce (ParallelProcessor): [${collected.join(", ")}] in ${units(clock())} ` +
    "(fed 4, 3, 2, 1; collected as they finish)",
);
