/**
 * 06 · A hand-made worker loop: Web Workers consuming one shared queue, results on another.
 *
 * Seed 003 (003_9f29162e155b3c20.txt, concurrency notebook, §2.3) reproduced: four `Process`es
 * each loop on `qin.get()`, put `{pid, result: inp * inp}` on `qout`, and stop at a `None`
 * sentinel; the master puts the inputs, reads one result per input, then puts one `None` per
 * worker and joins them.
 *
 * Here four Web Workers (examples/_queue_worker.ts) loop on a `SharedQueue` with a blocking
 * `getSync()`; instead of sentinels the master calls `tasks.close()`, which lets the workers drain
 * what is left and then fails their next get, so each one ends its loop and reports how many it
 * served. 100,000 inputs (2,000 with `--quick`) rather than the seed's 10, to show the share each
 * worker took.
 *
 *   deno task example:queue-worker-loop
 *   deno run -A examples/06_queue_worker_loop.ts --quick
 *
 * @module
 */

import { SharedQueue } from "../mod.ts";
import { fmtMs, line, scaled, stopwatch, title } from "./_common.ts";
import type { LoopReport, LoopRequest, LoopResult } from "./_queue_worker.ts";

const INPUTS = scaled(100_000, 2_000);
const WORKERS = 4;

title(`06 a worker loop on a SharedQueue (seed 003), ${INPUTS.toLocaleString("en-US")} inputs`);

const tasks = new SharedQueue<number>({ capacity: 1_024 });
const results = new SharedQueue<LoopResult>({ capacity: 1_024 });
const workers = Array.from(
  { length: WORKERS },
  (_, i) =>
    new Worker(new URL("./_queue_worker.ts", import.meta.url), { type: "module", name: `w${i}` }),
);
try {
  const reports = workers.map((worker) =>
    new Promise<LoopReport>((resolve, reject) => {
      worker.onmessage = (event: MessageEvent<LoopReport>) => resolve(event.data);
      worker.onerror = (event) => {
        event.preventDefault();
        reject(new Error(`A worker failed: ${event.message}`));
      };
    })
  );
  workers.forEach((worker, i) => worker.postMessage({ tasks, results, worker: i } as LoopRequest));

  const clock = stopwatch();
  const producing = (async () => {
    for (let input = 0; input < INPUTS; input++) await tasks.put(input);
    tasks.close(); // instead of one None per worker
  })();

  line();
  line("The first results, as the seed prints them:");
  const tally = new Array<number>(WORKERS).fill(0);
  const seen = new Uint8Array(INPUTS);
  for (let i = 0; i < INPUTS; i++) {
    const { worker, input, result } = await results.get();
    if (i < 10) line(`  { worker: ${worker}, input: ${input}, result: ${result} }`);
    if (result !== input * input || seen[input]++ !== 0) throw new Error(`Bad result for ${input}`);
    tally[worker]++;
  }
  await producing;
  const done = await Promise.all(reports);
  const ms = clock();

  line();
  line("tasks.close(): every worker drained the queue and left its loop:");
  let total = 0;
  for (const report of done) {
    if ("error" in report) throw new Error(`Worker ${report.worker}: ${report.error}`);
    line(
      `  worker ${report.worker} served ${report.served} (results counted: ${
        tally[report.worker]
      })`,
    );
    total += report.served;
  }
  const missing = seen.reduce((count, times) => count + (times === 1 ? 0 : 1), 0);
  line(
    `  total ${total} of ${INPUTS} put, ${missing} missing, in ${fmtMs(ms)} (start-up included)`,
  );
  line(`  ${(INPUTS / ms * 1000).toFixed(0)} tasks/s through two shared queues`);
} finally {
  for (const worker of workers) worker.terminate();
}
