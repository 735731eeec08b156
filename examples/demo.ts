/**
 * The demo: a resilient background-worker app. A supervision tree runs a producer that fills a
 * `SharedQueue` of jobs, workers (each in its own Web Worker) that take jobs and crash at random,
 * and a collector that counts the results. Crashed workers are restarted and put back the job
 * they held: no job is lost. Ctrl-C shuts the tree down cleanly.
 *
 *   deno task demo [--jobs N] [--workers N] [--crash-rate R] [--job-ms MS]
 */
import { ActorSystem, child, SharedQueue, supervisor } from "../mod.ts";
import { Collector, JobWorker, Producer, type Shared } from "./_demo_actors.ts";

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

const shared: Shared = {
  jobs: new SharedQueue<number>({ capacity: 256 }),
  results: new SharedQueue<[number, number]>({ capacity: 256 }),
  durations: new Int32Array(new SharedArrayBuffer(total * 4 || 4)),
  finished: new Int32Array(new SharedArrayBuffer(total * 4 || 4)),
  holding: new Int32Array(new SharedArrayBuffer(workers * 4)).fill(-1),
  progress: new Int32Array(new SharedArrayBuffer(8)),
};
let serialMs = 0;
for (let id = 0; id < total; id++) {
  shared.durations[id] = Math.round(jobMs * (0.5 + ((id * 7919) % 100) / 100));
  serialMs += shared.durations[id];
}

const root = supervisor({
  strategy: "one_for_one",
  intensity: { maxRestarts: 1_000, periodMs: 1_000 },
  backoff: { initialMs: 0, jitter: 0 },
  children: [
    child("collector", Collector, { args: shared, placement: "local" }),
    child(
      "workers",
      supervisor({
        intensity: { maxRestarts: 1_000, periodMs: 1_000 },
        backoff: { initialMs: 0, jitter: 0 },
        children: Array.from(
          { length: workers },
          (_, index) =>
            child(`worker-${index + 1}`, JobWorker, { args: { ...shared, index, crashRate } }),
        ),
      }),
    ),
    child("producer", Producer, { args: shared, placement: "local" }),
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
system.events.on((event) => {
  if (event.type === "restarted") restarts++;
});

system.lookup(Producer, "/producer").tell("produce", { count: total });
const collected = system.lookup(Collector, "/collector")
  .ask("collect", { total }, { timeoutMs: Infinity })
  .catch(() => {}); // ends early only when the system shuts down

let lastTenth = -1;
function report(): void {
  const done = Atomics.load(shared.progress, 0);
  const share = total === 0 ? 1 : done / total;
  if (tty) {
    const width = 30;
    const filled = Math.round(share * width);
    write(
      `\r[${"#".repeat(filled)}${".".repeat(width - filled)}] ${(share * 100).toFixed(0)}% ` +
        `${done}/${total} jobs, ${restarts} restarts `,
    );
  } else if (Math.floor(share * 10) > lastTenth) {
    lastTenth = Math.floor(share * 10);
    console.log(
      `progress ${(share * 100).toFixed(0)}%: ${done}/${total} jobs, ${restarts} restarts`,
    );
  }
}

let timer: ReturnType<typeof setInterval> | undefined;
await Promise.race([
  collected,
  new Promise<void>((resolve) => {
    timer = setInterval(() => {
      report();
      if (system.signal.aborted) resolve();
    }, 100);
  }),
]);
clearInterval(timer);
report();
if (tty) write("\n");

const wallMs = performance.now() - started;
const interrupted = system.signal.aborted;
shared.jobs.close();
shared.results.close();
await system.shutdown();

let finished = 0;
let twice = 0;
for (let id = 0; id < total; id++) {
  if (shared.finished[id] > 0) finished++;
  if (shared.finished[id] > 1) twice++;
}
const lost = total - finished;
console.log(interrupted ? "Interrupted: the tree was shut down cleanly." : "All jobs done.");
console.log(`  jobs done       ${finished} of ${total}${twice ? ` (${twice} twice)` : ""}`);
console.log(`  worker crashes  ${Atomics.load(shared.progress, 1)}, restarts ${restarts}`);
console.log(`  jobs lost       ${interrupted ? "(not counted: interrupted)" : lost}`);
console.log(
  `  time            ${(wallMs / 1000).toFixed(2)} s; the same jobs one after another: ` +
    `${(serialMs / 1000).toFixed(2)} s (speedup ${(serialMs / wallMs).toFixed(2)}x)`,
);
if (!interrupted && lost > 0) Deno.exit(1);
