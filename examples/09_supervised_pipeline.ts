/**
 * 09 · A supervised pipeline whose workers crash at random and lose nothing.
 *
 * Seed 003 (003_9f29162e155b3c20.txt, §2.4 "Pure python vs zeromq") observes that a hand-made
 * `Process` + `Queue` pipeline is not robust: "if a parent or one of the children processes dies,
 * everything has to be launched again", whereas with ZeroMQ workers can be stopped and started at
 * any time. This example is that robustness, built from Troupe's supervision tree:
 *
 * ```
 *  /                       root supervisor
 *  ├── /collector          counts the results it is sent, keeps each item once
 *  ├── /workers            one_for_one supervisor, restarts a crashed worker at once
 *  │   └── worker-1..4     delivery "at_least_once": a crashed message is redelivered
 *  └── /producer           on the main thread, sends items round robin with backpressure
 * ```
 *
 * The actors talk by refs: the producer is spawned with the workers' and the collector's refs, and
 * each item carries the collector's ref, to which the worker sends its result. Each worker crashes
 * on about 5% of its messages, half before and half after its result is sent; the supervisor
 * restarts it, the crashing message is delivered again, and the collector drops the duplicates
 * that a crash after the send causes. 5,000 items (400 with `--quick`).
 *
 *   deno task example:supervised-pipeline
 *   deno run -A examples/09_supervised_pipeline.ts --quick
 *
 * @module
 */

import { ActorSystem, child, supervisor } from "../mod.ts";
import { fmtMs, line, scaled, sleep, stopwatch, title } from "./_common.ts";
import { Collector, PipelineWorker, Producer } from "./_pipeline_actors.ts";

const ITEMS = scaled(5_000, 400);
const WORKERS = 4;
const CRASH_RATE = 0.05;

title(
  `09 a supervised pipeline, ${WORKERS} workers crashing on ${CRASH_RATE * 100}% of messages ` +
    "(seed 003, robustness)",
);

const root = supervisor({
  children: [
    child("collector", Collector, { mailbox: { capacity: 4_096 } }),
    child(
      "workers",
      supervisor({
        strategy: "one_for_one",
        intensity: { maxRestarts: 1_000, periodMs: 1_000 },
        backoff: { initialMs: 0, jitter: 0 },
        children: Array.from(
          { length: WORKERS },
          (_, i) =>
            child(`worker-${i + 1}`, PipelineWorker, {
              args: { crashRate: CRASH_RATE },
              delivery: "at_least_once",
              maxDeliveries: 10, // 5% ** 10: no message is crashed into quarantine
              mailbox: { capacity: 256 },
            }),
        ),
      }),
    ),
  ],
});

await using system = await ActorSystem.start({ name: "pipeline", root });
let crashed = 0;
let restarted = 0;
let deadLetters = 0;
system.events.on((event) => {
  if (event.type === "crashed") crashed++;
  if (event.type === "restarted") restarted++;
  if (event.type === "dead_letter") deadLetters++;
});

const collector = system.lookup(Collector, "/collector");
const workers = Array.from(
  { length: WORKERS },
  (_, i) => system.lookup(PipelineWorker, `/workers/worker-${i + 1}`),
);
const producer = await system.spawn(Producer, {
  name: "producer",
  placement: "local",
  args: { workers, collector }, // refs in args: whom to feed, where the results go
});

line();
line("The tree:");
const supervisors = new Set<string>();
for (const actor of system.stats().actors) {
  const parent = actor.path.slice(0, actor.path.lastIndexOf("/"));
  if (parent !== "" && !supervisors.has(parent)) {
    supervisors.add(parent);
    line(`  ${parent.padEnd(20)} supervisor, one_for_one`);
  }
  line(`  ${actor.path.padEnd(20)} ${actor.placement}`);
}

const clock = stopwatch();
const sent = await producer.ask("produce", { count: ITEMS }, { timeoutMs: 120_000 });
line();
line(`The producer sent ${sent} items in ${fmtMs(clock())}.`);

/** Whether a worker still holds messages (queued, in flight or waiting for redelivery). */
function workersBusy(): boolean {
  return system.stats().actors.some((actor) =>
    actor.path.startsWith("/workers/") && (actor.mailboxDepth > 0 || actor.status !== "running")
  );
}

const deadline = performance.now() + scaled(60_000, 20_000);
let summary = await collector.ask("summary", {});
while ((summary.unique < sent || workersBusy()) && performance.now() < deadline) {
  await sleep(10);
  summary = await collector.ask("summary", {});
}
const ms = clock();

line();
line("Per worker (deliveries include the ones that crashed):");
for (const actor of system.stats().actors) {
  if (!actor.path.startsWith("/workers/")) continue;
  line(
    `  ${actor.path.padEnd(20)} ${String(actor.processed).padStart(5)} deliveries, ` +
      `${String(summary.byWorker[actor.path] ?? 0).padStart(5)} first results, ` +
      `${String(actor.restarts).padStart(3)} restarts`,
  );
}
const statsRestarts = system.stats().actors.reduce((sum, actor) => sum + actor.restarts, 0);

line();
line(`sent ${sent} in ${fmtMs(ms)}`);
line(
  `processed ${summary.unique} distinct, ${summary.duplicates} duplicates dropped ` +
    `(a crash after the send), ${summary.wrong} wrong`,
);
line(
  `restarts ${statsRestarts} (events: ${crashed} crashed, ${restarted} restarted), ` +
    `dead letters ${deadLetters}`,
);
line(`lost ${sent - summary.unique}`);
