/**
 * 07 · Long jobs one after the other, then in parallel: total time and completion order.
 *
 * Seed 004 (004_6f851ee23166c98b.txt, "Parallel Programming in Python") reproduced: five long
 * running processes with run times [5, 2, 4, 1, 5] s take 17 s in serial, finishing in the order
 * they started; started as five processes they take 5 s, and the shortest finish first (3, 1, 2,
 * then 0 and 4).
 *
 * Here the jobs block a pool worker for their run time in units of 50 ms (40 ms with `--quick`):
 * in serial (each awaited before the next is submitted), in a pool of 5 (the seed's five
 * processes), and in a pool of 3, where the 1-unit job waits for a free worker and the last job
 * starts only at 3 units: 8 units in all, order 1, 3, 2, 0, 4.
 *
 *   deno task example:serial-vs-parallel
 *   deno run -A examples/07_serial_vs_parallel.ts --quick
 *
 * @module
 */

import { Pool } from "../mod.ts";
import { line, ratio, scaled, stopwatch, title } from "./_common.ts";
import type * as Tasks from "./_tasks.ts";

const UNIT = scaled(50, 40);
const RUNTIMES = [5, 2, 4, 1, 5];
const TASKS = new URL("./_tasks.ts", import.meta.url);
const units = (ms: number) => `${(ms / UNIT).toFixed(1)} units`;

title(`07 serial vs parallel (seed 004), run times [${RUNTIMES.join(", ")}] x ${UNIT} ms`);

type Job = Awaited<ReturnType<typeof Tasks.longJob>>;

/** Prints a finished job as the seed's `long_running_process` does. */
function report(job: Job, clock: () => number): number {
  line(
    `  job ${job.id} complete, run time ${job.ms / UNIT} unit${
      job.ms === UNIT ? "" : "s"
    }, on ${job.worker} at ${units(clock())}`,
  );
  return job.id;
}

function summary(label: string, ms: number, order: number[], against?: number): void {
  const faster = against === undefined ? "" : `, ${ratio(against, ms)} faster than serial`;
  line(`  ${label}: ${units(ms)}, completion order ${order.join(", ")}${faster}`);
}

await using five = await Pool.start<typeof Tasks>(TASKS, { size: 5, maxInFlight: 1, name: "five" });
await using three = await Pool.start<typeof Tasks>(TASKS, {
  size: 3,
  maxInFlight: 1,
  name: "three",
});

// Every worker runs one empty job first, as the seed's processes are started before the timings.
await five.map("nap", Array(five.size).fill(0), { chunkSize: 1 });
await three.map("nap", Array(three.size).fill(0), { chunkSize: 1 });

line();
line("In serial:");
const clock = stopwatch();
const serialOrder: number[] = [];
for (const [id, runtime] of RUNTIMES.entries()) {
  serialOrder.push(report(await five.submit("longJob", id, runtime * UNIT), clock));
}
const serial = clock();
summary("serial", serial, serialOrder);

async function parallel(pool: typeof five): Promise<[number, number[]]> {
  const clock = stopwatch();
  const order: number[] = [];
  await Promise.all(
    RUNTIMES.map((runtime, id) =>
      pool.submit("longJob", id, runtime * UNIT).then((job) => {
        order.push(report(job, clock));
      })
    ),
  );
  return [clock(), order];
}

line();
line(`In a pool of ${five.size}, all at once:`);
const [fiveMs, fiveOrder] = await parallel(five);
summary(`pool of ${five.size}`, fiveMs, fiveOrder, serial);

line();
line(`In a pool of ${three.size}, all at once:`);
const [threeMs, threeOrder] = await parallel(three);
summary(`pool of ${three.size}`, threeMs, threeOrder, serial);
