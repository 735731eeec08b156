/**
 * The demo: a resilient background-worker app. A supervision tree runs a producer that hands out
 * jobs, workers (each in its own Web Worker) that do them and crash at random, and a collector
 * that counts the results. They talk by refs and messages: the producer gets the workers' and the
 * collector's refs, each job carries the collector's ref, and every mailbox is bounded. Workers
 * take their jobs "at least once": a crashed worker is restarted and the job it held is delivered
 * again, so no job is lost. Ctrl-C shuts the tree down cleanly.
 *
 *   deno task demo [--jobs N] [--workers N] [--crash-rate R] [--job-ms MS]
 */
import { ActorSystem, child, supervisor } from "../mod.ts";
import { Collector, jobDuration, JobWorker, Producer } from "./_demo_actors.ts";

function option(name: string, fallback: number): number {
  const index = Deno.args.indexOf(`--${name}`);
  if (index < 0) return fallback;
  const value = Number(Deno.args[index + 1]);
  if (!Number.isFinite(value) || value < 0) {
    console.error(`demo: --${name} takes a non-negative number, received ${Deno.args[index + 1]}`);
    Deno.exit(2);
  }
  return value;
}

const total = Math.floor(option("jobs", 600));
const workers = Math.max(1, Math.floor(option("workers", navigator.hardwareConcurrency)));
const crashRate = option("crash-rate", 0.02);
const jobMs = option("job-ms", 8);

let serialMs = 0;
for (let id = 0; id < total; id++) serialMs += jobDuration(id, jobMs);

const root = supervisor({
  strategy: "one_for_one",
  intensity: { maxRestarts: 1_000, periodMs: 1_000 },
  backoff: { initialMs: 0, jitter: 0 },
  children: [
    child("collector", Collector, { placement: "local", mailbox: { capacity: 1_024 } }),
    child(
      "workers",
      supervisor({
        intensity: { maxRestarts: 1_000, periodMs: 1_000 },
        backoff: { initialMs: 0, jitter: 0 },
        children: Array.from(
          { length: workers },
          (_, index) =>
            child(`worker-${index + 1}`, JobWorker, {
              args: { crashRate },
              delivery: "at_least_once", // a job whose worker crashed is delivered again
              maxDeliveries: 20, // set aside (a dead letter) only after 20 crashes on it
              mailbox: { capacity: 16 }, // a full mailbox makes the producer wait
              prefetch: 4, // a worker holds few jobs at a time: a crash redelivers few
            }),
        ),
      }),
    ),
    child("producer", Producer, { placement: "local" }),
  ],
});

const tty = Deno.stdout.isTerminal();
const encoder = new TextEncoder();
const write = (text: string) => Deno.stdout.writeSync(encoder.encode(text));

console.log(
  `Troupe demo: ${total} jobs, ${workers} workers crashing ${
    (crashRate * 100).toFixed(0)
  }% of the time`,
);
const started = performance.now();
await using system = await ActorSystem.start({
  name: "demo",
  root,
  signals: ["SIGINT", "SIGTERM"],
});
let restarts = 0;
let crashes = 0;
system.events.on((event) => {
  if (event.type === "restarted") restarts++;
  if (event.type === "crashed" && event.path.startsWith("/workers/")) crashes++;
});

// The producer learns who does the jobs and where their results go: refs in a message.
const collector = system.lookup(Collector, "/collector");
const workerRefs = Array.from(
  { length: workers },
  (_, index) => system.lookup(JobWorker, `/workers/worker-${index + 1}`),
);
system.lookup(Producer, "/producer")
  .tell("produce", { count: total, jobMs, workers: workerRefs, collector });

let tally = { done: 0, twice: 0 };
let lastTenth = -1;
function report(): void {
  const share = total === 0 ? 1 : tally.done / total;
  if (tty) {
    const width = 30;
    const filled = Math.round(share * width);
    write(
      `\r[${"#".repeat(filled)}${".".repeat(width - filled)}] ${(share * 100).toFixed(0)}% ` +
        `${tally.done}/${total} jobs, ${restarts} restarts `,
    );
  } else if (Math.floor(share * 10) > lastTenth) {
    lastTenth = Math.floor(share * 10);
    console.log(
      `progress ${(share * 100).toFixed(0)}%: ${tally.done}/${total} jobs, ${restarts} restarts`,
    );
  }
}

const stopped = new Promise<void>((resolve) =>
  system.signal.addEventListener("abort", () => resolve(), { once: true })
);
while (tally.done < total && !system.signal.aborted) {
  const tick = new Promise<void>((resolve) => setTimeout(resolve, 100));
  await Promise.race([tick, stopped]);
  if (system.signal.aborted) break;
  tally = await collector.ask("progress", {}).catch(() => tally); // a shutdown may overtake it
  report();
}
report();
if (tty) write("\n");

const wallMs = performance.now() - started;
const interrupted = system.signal.aborted;
await system.shutdown();

const lost = total - tally.done;
console.log(interrupted ? "Interrupted: the tree was shut down cleanly." : "All jobs done.");
console.log(
  `  jobs done       ${tally.done} of ${total}${tally.twice ? ` (${tally.twice} twice)` : ""}`,
);
console.log(`  worker crashes  ${crashes}, restarts ${restarts}`);
console.log(`  jobs lost       ${interrupted ? "(not counted: interrupted)" : lost}`);
console.log(
  `  time            ${(wallMs / 1000).toFixed(2)} s; the same jobs one after another: ` +
    `${(serialMs / 1000).toFixed(2)} s (speedup ${(serialMs / wallMs).toFixed(2)}x)`,
);
if (!interrupted && lost > 0) Deno.exit(1);
