/**
 * 02 · Pool.map keeps input order, mapUnordered yields in completion order, submit gives futures.
 *
 * Seed 001 (001_93bc4d439ad69b47.txt, "How many snakes do you need?") reproduced:
 * - `Pool.map(worker, [0..5])` on 4 processes returns the squares in input order, whatever order
 *   the workers finish in (`pool.map`);
 * - `Pool.imap_unordered` yields them as they finish (`pool.mapUnordered`);
 * - `Pool.apply_async` with a callback (`submit` + `addDoneCallback`) and with a blocking
 *   `get(timeout)` (`submit` + `result({ timeoutMs })`), including a get that times out while the
 *   task keeps going.
 *
 * The seed's jobs all sleep 2 s, so its unordered output is random; here job `x` sleeps
 * [6, 2, 4, 1, 4, 1][x] units, which makes the completion order 3, 1, 5, 2, 4, 0 on 4 workers.
 * One unit is 150 ms (40 ms with `--quick`).
 *
 *   deno task example:pool-map-vs-unordered
 *   deno run -A examples/02_pool_map_vs_unordered.ts --quick
 *
 * @module
 */

import { Pool, TimeoutError } from "../mod.ts";
import { line, scaled, stopwatch, title } from "./_common.ts";
import type * as Tasks from "./_tasks.ts";

const UNIT = scaled(150, 40);
const DURATIONS = [6, 2, 4, 1, 4, 1];
const units = (ms: number) => `${(ms / UNIT).toFixed(1)} units`;
const jobs = DURATIONS.map((d, x) => ({ x, ms: d * UNIT }));

title(`02 Pool.map vs mapUnordered vs submit (seed 001), 1 unit = ${UNIT} ms`);

await using pool = await Pool.start<typeof Tasks>(new URL("./_tasks.ts", import.meta.url), {
  size: 4,
  maxInFlight: 1, // a worker takes its next job when it is free, as a process of the seed's Pool
});
await pool.map("nap", Array(pool.size).fill(0), { chunkSize: 1 }); // every worker warms up
line(`Jobs x = 0..5 sleep [${DURATIONS.join(", ")}] units and return x * x; ${pool.size} workers.`);

line();
line("pool.map (Pool.map):");
let clock = stopwatch();
const mapped = await pool.map("napThenSquare", jobs, { chunkSize: 1 });
line(`  [${mapped.join(", ")}] after ${units(clock())}: input order`);

line();
line("pool.mapUnordered (Pool.imap_unordered):");
clock = stopwatch();
const unordered: number[] = [];
for await (const square of pool.mapUnordered("napThenSquare", jobs)) {
  unordered.push(square);
  line(`  ${square} at ${units(clock())}`);
}
line(`  completion order ${unordered.join(", ")} (inputs ${unordered.map(Math.sqrt).join(", ")})`);

line();
line("pool.submit + addDoneCallback (apply_async with a callback):");
clock = stopwatch();
const collected: number[] = [];
const called = jobs.map((job) =>
  new Promise<void>((called) => {
    pool.submit("napThenSquare", job).addDoneCallback(async (done) => {
      const square = await done; // settled already: its value (or its error)
      collected.push(square);
      line(`  in collect results: ${square} at ${units(clock())}`);
      called();
    });
  })
);
await Promise.all(called);
line(`  callback order ${collected.join(", ")}`);

line();
line("pool.submit + result({ timeoutMs }) (apply_async with get(timeout)):");
const blocking = pool.submit("napThenSquare", { x: 2, ms: 2 * UNIT });
line(`  a 2-unit square(2), result({ timeoutMs: 5 units }): ${await blocking.result({
  timeoutMs: 5 * UNIT,
})}`);
const late = pool.submit("napThenSquare", { x: 3, ms: 2 * UNIT });
try {
  await late.result({ timeoutMs: UNIT });
} catch (error) {
  if (!(error instanceof TimeoutError)) throw error;
  line(`  a 2-unit square(3), result({ timeoutMs: 1 unit }): ${error.name}: ${error.message}`);
}
line(`  that future is still ${late.status}; awaited again: ${await late}, now ${late.status}`);
