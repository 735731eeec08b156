/**
 * Smoke test of the numbered examples: each runs as a subprocess at `--quick` scale, must exit 0,
 * print plain lines, and print the figures it reproduces from its seed.
 *
 * @module
 */

import { deepEqual, equal, match, ok } from "node:assert/strict";

const ROOT = new URL("../", import.meta.url);

interface Case {
  /** The example's file under examples/. */
  file: string;
  /** What the test name says it shows. */
  shows: string;
  /** Lines (or spans of lines) its output must contain. */
  expect: RegExp[];
  /**
   * Orders that depend on which task finished first: each pattern captures a comma-separated list
   * that must hold exactly `values` in some order. Which order is up to the scheduler on a loaded
   * machine; that every value arrives exactly once is what the example guarantees.
   */
  permutations?: { pattern: RegExp; values: number[]; first?: number[] }[];
  /** Further checks of the output, for figures a loaded machine may shift within bounds. */
  check?: (out: string, context: string) => void;
}

/** The comma-separated numbers that `pattern`'s first group captures in `out`. */
function listIn(out: string, pattern: RegExp, context: string): number[] {
  const found = pattern.exec(out);
  ok(found !== null, `nothing matches ${pattern}${context}`);
  return found[1].split(", ").map(Number);
}

const CASES: Case[] = [
  {
    file: "01_asyncio_wait.ts",
    shows: "splits five tasks into done 3, pending 2 and runs blocking work in a pool",
    // The wait's timeout (3.5 units) fires at 3.5 units or later on a loaded machine: every task
    // of at most 3 units is done by then, and exactly the done ones have listed their item.
    check(out, context) {
      const found = /done (\d), pending (\d) after/.exec(out);
      ok(found !== null, `nothing matches "done N, pending M after"${context}`);
      const done = Number(found[1]);
      ok(done >= 3, `only ${done} tasks were done at the timeout${context}`);
      equal(done + Number(found[2]), 5, `done and pending do not add up to 5${context}`);
      deepEqual(
        listIn(out, /list items at the timeout: \[([\d, ]*)\]/, context),
        Array.from({ length: done }, (_, i) => i + 1),
        `the items listed at the timeout are not those of the done tasks${context}`,
      );
    },
    expect: [
      /list items once the pending finish: \[1, 2, 3, 4, 5\]/,
      /the event loop ticked 0 times/,
      /the result is 16 after/,
      /stop\.set\(\): the worker finished after \d+ more steps/,
      /pool\.map \(executor\.map\): +\[1, 4, 9, 16\]/,
      /pool\.submit \(apply_async\): +\[1, 2, 3, 4\]/,
    ],
    permutations: [
      // Collected as they finish: four tasks of 4, 3, 2 and 1 units on five workers.
      { pattern: /mapReduce \(ParallelProcessor\): \[([\d, ]+)\]/, values: [1, 2, 3, 4] },
    ],
  },
  {
    file: "02_pool_map_vs_unordered.ts",
    shows: "prints map in input order and mapUnordered and callbacks in completion order",
    expect: [
      /\[0, 1, 4, 9, 16, 25\] after [\d.]+ units: input order/,
      /completion order [\d, ]+ \(inputs [\d, ]+\)/,
      /result\(\{ timeoutMs: 5 units \}\): 4/,
      /TimeoutError: Timed out after \d+ ms waiting for task/,
      /still running; awaited again: 9, now done/,
    ],
    permutations: [
      // Six jobs on four workers that take their next job when free: one of the first four
      // finishes first, since the last two start only when a worker is free.
      {
        pattern: /completion order ([\d, ]+) \(inputs/,
        values: [0, 1, 4, 9, 16, 25],
        first: [0, 1, 4, 9],
      },
      { pattern: /callback order ([\d, ]+)/, values: [0, 1, 4, 9, 16, 25], first: [0, 1, 4, 9] },
    ],
  },
  {
    file: "03_io_fanout.ts",
    shows: "fans requests out to a server that admits 10 at a time",
    expect: [
      // Requests in turn never overlap; the server never holds more than the 10 it admits. How
      // many overlap at once beyond that depends on the scheduler of a loaded machine.
      /one after the other .*server held 1, queued 0/,
      /10 at a time .*server held (10|[1-9]), queued 0\): [\d.]+x faster/,
      /40 at a time \(over-subscribed\) .*server held (10|[1-9]), queued \d+/,
      /10 workers, one request each .*server held (10|[1-9])\b/,
    ],
  },
  {
    file: "04_cpu_max.ts",
    shows: "finds the same maximum on one thread and in a pool",
    expect: [/max of 1,000,000 doubles/, /pool of \d+, SIMD kernel per chunk/, /all four agree/],
  },
  {
    file: "05_futures_bad_luck.ts",
    shows: "reports seven results and three Bad luck! exceptions, polled and as completed",
    expect: [
      /task 4: Exception: Bad luck!/,
      /task 3: Result: \{ worker: \/pool-\d, result: 9 \}/,
      /polls[\s\S]*7 results, 3 exceptions[\s\S]*asCompleted[\s\S]*7 results, 3 exceptions/,
    ],
  },
  {
    file: "06_queue_worker_loop.ts",
    shows: "serves every input once from a shared queue until it is closed",
    expect: [
      /\{ worker: \d, input: 0, result: 0 \}/,
      /total 2000 of 2000 put, 0 missing/,
    ],
  },
  {
    file: "07_serial_vs_parallel.ts",
    shows: "prints the serial and parallel completion orders of run times 5, 2, 4, 1, 5",
    expect: [
      /serial: [\d.]+ units, completion order 0, 1, 2, 3, 4/,
      /pool of 5: [\d.]+ units, completion order [\d, ]+, [\d.]+x faster/,
      /pool of 3: [\d.]+ units, completion order [\d, ]+, [\d.]+x faster/,
    ],
    permutations: [
      { pattern: /pool of 5: [\d.]+ units, completion order ([\d, ]+), /, values: [0, 1, 2, 3, 4] },
      // Jobs 3 and 4 start only once one of jobs 0, 1, 2 has finished.
      {
        pattern: /pool of 3: [\d.]+ units, completion order ([\d, ]+), /,
        values: [0, 1, 2, 3, 4],
        first: [0, 1, 2],
      },
    ],
  },
  {
    file: "08_event_task_queue.ts",
    shows: "serves all 26 tasks with 3 workers before the event is cleared",
    expect: [
      /worker id: \d task id: 110 task time: \d units/,
      /worker 2 shutting down after serving \d+ tasks/,
      /total 26 served of 26 put, 26 distinct, 0 left in the queue/,
    ],
  },
  {
    file: "09_supervised_pipeline.ts",
    shows: "restarts crashing workers and loses nothing",
    expect: [
      /\/workers\/worker-4 +worker/,
      /processed 400 distinct, \d+ duplicates dropped .*, 0 wrong/,
      /restarts [1-9]\d* \(events: \d+ crashed, \d+ restarted\), dead letters 0/,
      /^lost 0$/m,
    ],
  },
  {
    file: "10_refs_crawler.ts",
    shows: "crawls every reachable page by refs, replacing the fetcher that crashed",
    expect: [
      /The crawler spawned 3 fetchers/,
      /\/crawler\/fetcher-3 +running/,
      /The crawler stopped by itself after \d+ ms/,
      /it spawned fetcher-1, fetcher-2, fetcher-3, fetcher-4$/m,
      /the refs its reply carried now read stopped, stopped, stopped$/m,
      /\/p\/13 crashed its fetcher on attempt 1: onDown hired another/,
      /\/gone\/5 +404 Not found/,
      /^indexed 64 of 64 pages reachable from \/p\/0, 4 of them broken links$/m,
      /^poison page \/p\/13: 1 crash, retried \/p\/13$/m,
      /^missing 0, strays 0, indexed twice 0$/m,
    ],
  },
];

const decoder = new TextDecoder();

for (const { file, shows, expect, permutations = [], check } of CASES) {
  Deno.test(`example ${file} ${shows}`, async () => {
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--no-check", `examples/${file}`, "--quick"],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(60_000),
    }).output();
    const out = decoder.decode(stdout);
    const context = `\n--- stdout ---\n${out}\n--- stderr ---\n${decoder.decode(stderr)}`;
    equal(code, 0, `${file} exited with ${code}${context}`);
    match(out, /\(--quick\)/, `${file} did not run at --quick scale${context}`);
    equal(out.includes("\u001b"), false, `${file} printed escape codes${context}`);
    for (const pattern of expect) {
      match(out, pattern, `${file}: nothing matches ${pattern}${context}`);
    }
    check?.(out, context);
    for (const { pattern, values, first } of permutations) {
      const order = listIn(out, pattern, context);
      deepEqual(order.toSorted((a, b) => a - b), values, `${file}: ${pattern}${context}`);
      if (first !== undefined) {
        ok(first.includes(order[0]), `${file}: ${order[0]} finished first${context}`);
      }
    }
  });
}
