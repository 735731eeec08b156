/**
 * Restart benchmark: from a crash to the replacement answering, p50 and p99.
 *
 * - worker dies, cold: a new worker must start and load the actor's module;
 * - worker dies, warm spare: a pre-spawned worker takes over (`spare: true`);
 * - handler throws: the actor restarts in place, in the same worker.
 *
 *   deno run -A bench/restart.ts [--json]
 */
import { ActorSystem, child, nextCrash, supervisor } from "./_restart_helpers.ts";
import { Phoenix } from "./_actors.ts";

const ROUNDS = 60;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

async function measure(
  kind: "cold" | "spare" | "in-place",
): Promise<{ p50: number; p99: number }> {
  const root = supervisor({
    intensity: { maxRestarts: 1_000, periodMs: 1_000 },
    backoff: { initialMs: 0, jitter: 0 },
    children: [child("phoenix", Phoenix, { spare: kind === "spare" })],
  });
  await using system = await ActorSystem.start({ name: `restart-${kind}`, root, heartbeat: false });
  const phoenix = system.lookup(Phoenix, "/phoenix");
  await phoenix.ask("ping", {});
  const times: number[] = [];
  for (let i = 0; i < ROUNDS + 5; i++) {
    const crashed = nextCrash(system);
    const start = performance.now();
    phoenix.tell(kind === "in-place" ? "throwError" : "exitWorker", {});
    await crashed;
    await phoenix.ask("ping", {});
    if (i >= 5) times.push(performance.now() - start); // the first rounds warm up
    // Let the next spare start and load its modules (it starts 50 ms after the handover).
    if (kind === "spare") await new Promise((resolve) => setTimeout(resolve, 200));
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 0.5), p99: percentile(times, 0.99) };
}

const json = Deno.args.includes("--json");
const cold = await measure("cold");
const spare = await measure("spare");
const inPlace = await measure("in-place");
if (json) {
  console.log(JSON.stringify({ cold, spare, inPlace, coldOverSpare: cold.p50 / spare.p50 }));
} else {
  const row = (name: string, r: { p50: number; p99: number }) =>
    console.log(`${name.padEnd(32)} p50 ${r.p50.toFixed(2)} ms   p99 ${r.p99.toFixed(2)} ms`);
  row("worker dies, cold", cold);
  row("worker dies, warm spare", spare);
  row("handler throws, in place", inPlace);
  console.log(
    `cold / spare p50 ratio ${(cold.p50 / spare.p50).toFixed(1)}x   (target: spare p50 <= 1 ms)`,
  );
}
