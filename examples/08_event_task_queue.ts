/**
 * 08 · A task queue served by three workers until a shared event tells them to stop.
 *
 * Seed 004 (004_6f851ee23166c98b.txt, "Parallel Programming in Python", "Using a messaging queue
 * with multiple workers") reproduced: an `Event` is set and 3 worker processes start; each loops
 * while the event is set, taking a task `(id, time)` from a shared `Queue` with a 2 s timeout
 * (`except Empty: continue`), sleeping its time and printing it; the master puts 15 tasks of 1 to
 * 5 s, then 11 tasks (ids 100 to 110) of 2 to 6 s, and finally clears the event, which stops the
 * workers at their next look.
 *
 * Here the queue is a `SharedQueue`, the event a `SharedEvent`, and the workers three long tasks
 * of a `Pool` of 3 (`serveTasks` in examples/_tasks.ts), each blocking in `getSync(pollMs)`. The
 * master clears the event once every task is reported, so that nothing put is left unserved. Task
 * times come from a seeded generator, in units of 50 ms (4 ms with `--quick`).
 *
 *   deno task example:event-task-queue
 *   deno run -A examples/08_event_task_queue.ts --quick
 *
 * @module
 */

import { Pool, SharedEvent, SharedQueue } from "../mod.ts";
import { fmtMs, line, randomInt, scaled, seededRandom, stopwatch, title } from "./_common.ts";
import type * as Tasks from "./_tasks.ts";
import type { QueuedTask, ServedTask } from "./_tasks.ts";

const UNIT = scaled(50, 4);
const WORKERS = 3;
const random = seededRandom(4);
const firstBatch = Array.from({ length: 15 }, (_, id) => ({ id, units: randomInt(random, 1, 5) }));
const secondBatch = Array.from(
  { length: 11 },
  (_, i) => ({ id: 100 + i, units: randomInt(random, 2, 6) }),
);

title(`08 a task queue, 3 workers and an event (seed 004), 1 unit = ${UNIT} ms`);

await using pool = await Pool.start<typeof Tasks>(new URL("./_tasks.ts", import.meta.url), {
  size: WORKERS,
  maxInFlight: 1, // one serving loop per worker
  name: "worker",
});
const tasks = new SharedQueue<QueuedTask>({ capacity: 64 });
const results = new SharedQueue<ServedTask>({ capacity: 64 });
const running = new SharedEvent();

line();
running.set();
const clock = stopwatch();
const serving = Array.from({ length: WORKERS }, (_, worker) =>
  pool.submit("serveTasks", {
    tasks,
    results,
    running,
    worker,
    pollMs: 2 * UNIT, // the seed's queue.get(timeout=2)
    unitMs: UNIT,
  }));
line(`running.set(); ${WORKERS} workers serve the queue while it is set`);

for (const task of firstBatch) await tasks.put(task);
line(`put ${firstBatch.length} tasks (ids 0 to 14) of 1 to 5 units`);
for (const task of secondBatch) await tasks.put(task);
line(`put ${secondBatch.length} tasks (ids 100 to 110) of 2 to 6 units`);
const put = firstBatch.length + secondBatch.length;

line();
const tally = new Array<number>(WORKERS).fill(0);
const ids = new Set<number>();
for (let i = 0; i < put; i++) {
  const { worker, id, units } = await results.get({ timeoutMs: 100 * UNIT });
  line(`  worker id: ${worker} task id: ${id} task time: ${units} unit${units === 1 ? "" : "s"}`);
  tally[worker]++;
  ids.add(id);
}

line();
running.clear();
line("running.clear(): each worker stops at its next look at the event");
const served = await Promise.all(serving);
for (const [worker, count] of served.entries()) {
  line(`  worker ${worker} shutting down after serving ${count} tasks (reported ${tally[worker]})`);
}
const total = served.reduce((a, b) => a + b, 0);
line(
  `  total ${total} served of ${put} put, ${ids.size} distinct, ${tasks.size} left in the queue, ` +
    `in ${fmtMs(clock())}`,
);
