/**
 * Core benchmark: one-way tell throughput and ask round trip of a worker actor, against a bare
 * worker that counts raw `postMessage`s, measured in the same process. Prints ratios.
 *
 *   deno run -A bench/core.ts [--json]
 */
import { ActorSystem } from "../mod.ts";
import { Sink } from "./_actors.ts";

const TELLS = 1_000_000;
const RAW = 200_000;
const ASKS = 5_000;
const ROUNDS = 3;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

function rawWorker(): Worker {
  return new Worker(new URL("./_raw_worker.ts", import.meta.url), { type: "module" });
}

function next(worker: Worker): Promise<{ t: string }> {
  return new Promise((resolve) => worker.onmessage = (event) => resolve(event.data));
}

async function rawOneWay(worker: Worker, n: number): Promise<number> {
  worker.postMessage({ t: "expect" });
  await next(worker);
  const done = next(worker);
  const start = performance.now();
  for (let i = 0; i < n; i++) worker.postMessage({ t: "add", n: 1, until: n });
  await done;
  return n / ((performance.now() - start) / 1000);
}

async function tellThroughput(system: ActorSystem, n: number): Promise<number> {
  const sink = await system.spawn(Sink, { name: `sink-${crypto.randomUUID().slice(0, 8)}` });
  await sink.ask("count", {});
  const start = performance.now();
  for (let i = 0; i < n; i++) await sink.send("add", { n: 1 });
  const count = await sink.ask("count", {}, { timeoutMs: 60_000 });
  const rate = n / ((performance.now() - start) / 1000);
  if (count !== n) throw new Error(`Lost messages: counted ${count} of ${n}`);
  await sink.stop();
  return rate;
}

/** Ask round trips interleaved with raw echo round trips, so that noise hits both alike. */
async function roundTrips(system: ActorSystem, worker: Worker, n: number) {
  const sink = await system.spawn(Sink, { name: `echo-${crypto.randomUUID().slice(0, 8)}` });
  const raw: number[] = [];
  const ours: number[] = [];
  for (let i = 0; i < n; i++) {
    let start = performance.now();
    const reply = next(worker);
    worker.postMessage({ t: "echo", n: i });
    await reply;
    raw.push((performance.now() - start) * 1000);
    start = performance.now();
    await sink.ask("echo", { n: i });
    ours.push((performance.now() - start) * 1000);
  }
  await sink.stop();
  return { raw: raw.sort((a, b) => a - b), ours: ours.sort((a, b) => a - b) };
}

const json = Deno.args.includes("--json");
const worker = rawWorker();
await using system = await ActorSystem.start({ name: "bench-core" });

// Warm up both sides (JIT, module loading).
await rawOneWay(worker, 20_000);
await tellThroughput(system, 50_000);
await roundTrips(system, worker, 500);

const results = {
  rawTell: 0,
  tell: 0,
  rawAskP50: Infinity,
  askP50: Infinity,
  askP99: Infinity,
  rawAskP99: Infinity,
};
for (let round = 0; round < ROUNDS; round++) {
  results.rawTell = Math.max(results.rawTell, await rawOneWay(worker, RAW));
  results.tell = Math.max(results.tell, await tellThroughput(system, TELLS));
  const { raw, ours } = await roundTrips(system, worker, ASKS);
  results.rawAskP50 = Math.min(results.rawAskP50, percentile(raw, 0.5));
  results.rawAskP99 = Math.min(results.rawAskP99, percentile(raw, 0.99));
  results.askP50 = Math.min(results.askP50, percentile(ours, 0.5));
  results.askP99 = Math.min(results.askP99, percentile(ours, 0.99));
}
worker.terminate();

const tellRatio = results.tell / results.rawTell;
const askRatio = results.askP50 / results.rawAskP50;
if (json) {
  console.log(JSON.stringify({ ...results, tellRatio, askRatio }));
} else {
  const k = (x: number) => `${(x / 1000).toFixed(0)}k/s`;
  console.log(
    `tell, validated, to a worker actor  ${k(results.tell)}   raw postMessage ${
      k(results.rawTell)
    }`,
  );
  console.log(`  ratio ${tellRatio.toFixed(2)}x   (target >= 5x)`);
  console.log(
    `ask round trip p50  ${results.askP50.toFixed(1)} us   raw ${
      results.rawAskP50.toFixed(1)
    } us   (p99 ${results.askP99.toFixed(1)} / ${results.rawAskP99.toFixed(1)} us)`,
  );
  console.log(`  ratio ${askRatio.toFixed(2)}x   (target <= 1.3x)`);
}
