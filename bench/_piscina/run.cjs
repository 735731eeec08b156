// Piscina's side of bench/patterns.ts: runs `tasks` calls of a trivial task through a pool of
// `threads` worker threads, all submitted at once and awaited with Promise.all (as the Troupe
// side does), once to warm up and then `rounds` times. Prints one line of JSON.
//
//   node run.cjs <threads> <tasks> <rounds>
// Copied next to the node_modules folder piscina was installed into, and run from there.
"use strict";
const path = require("node:path");
const { Piscina } = require("piscina");

async function round(pool, tasks) {
  const start = performance.now();
  const runs = new Array(tasks);
  for (let i = 0; i < tasks; i++) runs[i] = pool.run({ a: i, b: 1 });
  const results = await Promise.all(runs);
  const rate = tasks / ((performance.now() - start) / 1000);
  if (results[tasks - 1] !== tasks) throw new Error(`Wrong result ${results[tasks - 1]}`);
  return rate;
}

async function main() {
  const [threads, tasks, rounds] = process.argv.slice(2).map(Number);
  const pool = new Piscina({
    filename: path.join(__dirname, "add_worker.cjs"),
    minThreads: threads,
    maxThreads: threads,
    idleTimeout: 60_000,
  });
  try {
    await round(pool, Math.min(tasks, 20_000));
    const rates = [];
    for (let i = 0; i < rounds; i++) rates.push(await round(pool, tasks));
    console.log(JSON.stringify({
      version: Piscina.version,
      node: process.version,
      threads: pool.threads.length,
      rates,
    }));
  } finally {
    await pool.destroy();
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
