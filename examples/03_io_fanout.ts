/**
 * 03 · I/O-bound fan-out against a slow server that admits 10 requests at a time.
 *
 * Seed 002 (002_cf49a18933953d98.txt, "Concurrency and Parallelism in Python", the I/O part)
 * reproduced: a server whose every request takes 2 s, run with 10 gunicorn workers; 10 requests
 * one after the other take 20 s, 10 at once (a `ThreadPoolExecutor`, or `asyncio.gather`) take
 * 2 s; 20 requests take 4 s whether 10 or 20 are in flight, because the server takes only 10 at a
 * time, so over-subscribing the client buys nothing.
 *
 * Here the server is a local `Deno.serve` on 127.0.0.1 (a free port) whose requests take 200 ms
 * (20 ms with `--quick`), admitted 10 at a time by a semaphore (the rest wait their turn). The
 * client fans out from the main thread, which is enough for I/O; the last run does the same from
 * a `Pool` of 10 workers, the `ThreadPoolExecutor(max_workers=10)` of the seed.
 *
 *   deno task example:io-fanout
 *   deno run -A examples/03_io_fanout.ts --quick
 *
 * @module
 */

import { Pool } from "../mod.ts";
import { fmtMs, line, ratio, scaled, sleep, stopwatch, title } from "./_common.ts";
import type * as Tasks from "./_tasks.ts";

const REQUEST_MS = scaled(200, 20);
const CAPACITY = 10;
const BODY = "Hello World!";

title(`03 I/O fan-out against a slow server (seed 002), ${REQUEST_MS} ms a request`);

// --- the slow server: 10 requests at a time, the others wait --------------------------------
let admitted = 0;
let mostAdmitted = 0;
let mostWaiting = 0;
const waiting: (() => void)[] = [];

async function admit(): Promise<void> {
  if (admitted < CAPACITY) admitted++;
  else {
    mostWaiting = Math.max(mostWaiting, waiting.length + 1);
    await new Promise<void>((resolve) => waiting.push(resolve)); // the slot is handed over
  }
  mostAdmitted = Math.max(mostAdmitted, admitted);
}

function leave(): void {
  const next = waiting.shift();
  if (next !== undefined) next();
  else admitted--;
}

await using server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async () => {
  await admit();
  try {
    await sleep(REQUEST_MS); // the seed's time.sleep(2) in the request handler
  } finally {
    leave();
  }
  return new Response(BODY);
});
const url = `http://127.0.0.1:${server.addr.port}/`;
line(`The server listens on ${url} and admits ${CAPACITY} requests at a time.`);

// --- the client --------------------------------------------------------------------------------
async function get(): Promise<void> {
  const response = await fetch(url);
  const body = await response.text();
  if (body !== BODY) throw new Error(`Unexpected body: ${body}`);
}

/** Makes `requests` requests, at most `concurrency` in flight; returns the milliseconds taken. */
async function fanOut(requests: number, concurrency: number): Promise<number> {
  mostAdmitted = mostWaiting = 0;
  let next = 0;
  const lane = async () => {
    while (next < requests) {
      next++;
      await get();
    }
  };
  const clock = stopwatch();
  await Promise.all(Array.from({ length: Math.min(concurrency, requests) }, lane));
  return clock();
}

function report(label: string, ms: number, extra = ""): void {
  line(
    `  ${label.padEnd(38)} ${fmtMs(ms).padStart(8)}  (${
      (ms / REQUEST_MS).toFixed(1)
    } requests' time` +
      `; server held ${mostAdmitted}, queued ${mostWaiting})${extra}`,
  );
}

await get(); // a first connection, outside the timings

line();
line("10 requests:");
const sequential = await fanOut(10, 1);
report("one after the other", sequential);
const pooled = await fanOut(10, 10);
report("10 at a time", pooled, `: ${ratio(sequential, pooled)} faster`);

line();
line("40 requests, more than the server admits:");
const throttled = await fanOut(40, 10);
report("10 at a time (what the server takes)", throttled);
const oversubscribed = await fanOut(40, 40);
report("40 at a time (over-subscribed)", oversubscribed);
line(
  `  over-subscribing: ${ratio(throttled, oversubscribed)} the speed of 10 at a time; the ` +
    "extra requests only wait in the server's queue",
);

line();
line("10 requests from a Pool of 10 workers (ThreadPoolExecutor(max_workers=10)):");
{
  await using pool = await Pool.start<typeof Tasks>(new URL("./_tasks.ts", import.meta.url), {
    size: 10,
    maxInFlight: 1,
  });
  await pool.map("fetchText", Array(10).fill(url), { chunkSize: 1 }); // each worker connects
  mostAdmitted = mostWaiting = 0;
  const clock = stopwatch();
  const bodies = await pool.map("fetchText", Array(10).fill(url), { chunkSize: 1 });
  const ms = clock();
  if (bodies.some((body) => body !== BODY)) throw new Error("Unexpected body from a worker");
  report("10 workers, one request each", ms, `: ${ratio(sequential, ms)} faster than in turn`);
}
