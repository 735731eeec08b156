/**
 * How Troupe scales to many cheap actors: spawns N `"shared"` actors at once (default 20,000;
 * `--n 100000`), prints how long until all are ready, the host's heap and external memory per
 * idle actor after a GC, the time of one ask to each, and of the shutdown. `deno task bench:scale` (it passes
 * `--expose-gc`); `--json` prints one line of figures.
 *
 * @module
 */

import { ActorSystem } from "../mod.ts";
import { Sink } from "./_actors.ts";

const args = Deno.args;
const at = args.indexOf("--n");
const n = at >= 0 ? Number(args[at + 1]) : 20_000;
if (!(Number.isInteger(n) && n > 0)) {
  console.error(`--n must be a positive integer, received ${args[at + 1]}`);
  Deno.exit(2);
}
const gc = (globalThis as { gc?: () => void }).gc;

function memory(): number {
  gc?.();
  const usage = Deno.memoryUsage();
  return usage.heapUsed + usage.external;
}

const system = await ActorSystem.start({ name: "scale", heartbeat: false, sharedWorkers: 2 });
const before = memory();
const started = performance.now();
const refs = await Promise.all(
  Array.from({ length: n }, () => system.spawn(Sink, { placement: "shared" })),
);
const spawnMs = performance.now() - started;
const perActor = (memory() - before) / n;
const asked = performance.now();
await Promise.all(refs.map((ref) => ref.ask("echo", { n: 1 })));
const askMs = performance.now() - asked;
const stopping = performance.now();
await system.shutdown();
const shutdownMs = performance.now() - stopping;

const figures = {
  actors: n,
  spawnMs: Math.round(spawnMs),
  bytesPerActor: Math.round(perActor),
  askEachMs: Math.round(askMs),
  shutdownMs: Math.round(shutdownMs),
  gc: gc !== undefined,
};
if (args.includes("--json")) console.log(JSON.stringify(figures));
else {
  console.log(`${n} shared actors ready in ${figures.spawnMs} ms (target < 1000 ms for 100,000)`);
  console.log(
    `host heap + external per idle actor: ${figures.bytesPerActor} B${
      gc ? "" : " (no GC: run with --v8-flags=--expose-gc)"
    } (target <= 1 KB)`,
  );
  console.log(`one ask to each: ${figures.askEachMs} ms`);
  console.log(`shutdown: ${figures.shutdownMs} ms`);
}
