/**
 * 05 · Futures that carry exceptions, collected as they complete.
 *
 * Seed 003 (003_9f29162e155b3c20.txt, concurrency notebook, §2.1) reproduced: a worker that fails
 * with "Bad luck!" three times in ten submitted to a `ProcessPoolExecutor(max_workers=4)`; the
 * master first polls the futures for `done()` and reads `exception()` or `result()`, then does the
 * same more simply with `as_completed`.
 *
 * Here the tasks run in a `Pool` of 4 workers (`pool.submit` gives a `Future`), the master polls
 * `future.status`, then iterates `asCompleted(futures)`; an error thrown in a worker arrives as
 * the future's exception, with its message. The luck of each task comes from a seeded generator,
 * so every run fails the same three inputs (4, 5 and 9); each task also works 1 to 5 units first
 * (a unit is 40 ms, 5 ms with `--quick`), so they complete out of order.
 *
 *   deno task example:futures-bad-luck
 *   deno run -A examples/05_futures_bad_luck.ts --quick
 *
 * @module
 */

import { asCompleted, Future, Pool } from "../mod.ts";
import { line, randomInt, scaled, seededRandom, sleep, title } from "./_common.ts";
import type * as Tasks from "./_tasks.ts";

const UNIT = scaled(40, 5);
const random = seededRandom(3);
const jobs = Array.from({ length: 10 }, (_, input) => ({
  input,
  luck: random(),
  ms: randomInt(random, 1, 5) * UNIT,
}));

title("05 futures with Bad luck! (seed 003)");
line(`10 tasks of 1 to 5 units (${UNIT} ms each); luck below 0.3 throws "Bad luck!".`);

await using pool = await Pool.start<typeof Tasks>(new URL("./_tasks.ts", import.meta.url), {
  size: 4,
  maxInFlight: 1,
});

type Outcome = Awaited<ReturnType<typeof Tasks.luckyOrNot>>;

/** Prints one settled future as the seed does; returns whether it failed. */
async function show(future: Future<Outcome>, input: number): Promise<boolean> {
  const error = await future.exception(); // settled already: no wait
  if (error === undefined) {
    const { worker, result } = await future;
    line(`  task ${input}: Result: { worker: ${worker}, result: ${result} }`);
    return false;
  }
  line(`  task ${input}: Exception: ${error.message}`);
  return true;
}

function submitAll(): Map<Future<Outcome>, number> {
  return new Map(jobs.map((job) => [pool.submit("luckyOrNot", job), job.input]));
}

line();
line("The master polls the futures' status (the seed's first master):");
let failed = 0;
const polled = submitAll();
const pending = new Set(polled.keys());
while (pending.size > 0) {
  const completed = [...pending].filter((f) => f.status === "done" || f.status === "failed");
  for (const future of completed) {
    if (await show(future, polled.get(future)!)) failed++;
    pending.delete(future);
  }
  await sleep(1); // the seed spins; an event loop must yield
}
line(`  ${polled.size - failed} results, ${failed} exceptions`);

line();
line("The master iterates asCompleted(futures) (as_completed):");
failed = 0;
const iterated = submitAll();
for await (const done of asCompleted(iterated.keys())) {
  const future = Future.from(done); // the loop variable is typed as the value; this is the future
  if (await show(future, iterated.get(future)!)) failed++;
}
line(`  ${iterated.size - failed} results, ${failed} exceptions`);
