/**
 * Soak: sends messages at a steady rate through an at-least-once worker actor whose handler fails
 * in every way (throw, an uncaught error from a timer, an unhandled rejection, `Deno.exit`,
 * `self.close()`, poison messages), then checks the accounting and prints one JSON line.
 *
 *   deno run -A bench/soak.ts [seconds=60] [rate=5000] [every=250]
 *
 * One message in `every` fails, cycling through the ways; a poison message must be quarantined
 * after `maxDeliveries` (3), every other message must be handled (`lost` counts those neither
 * handled nor dead), none may be quarantined (`innocentQuarantined`) or reported dead once handled
 * (`handledButDead`). `duplicated` counts messages handled twice: allowed only for one in flight
 * when its worker died, which this handler never is after counting. RSS is sampled every second;
 * `rssAt10sMb` is the reference for "flat".
 */
import { ActorSystem, supervisor } from "../mod.ts";
import { FAILURES, Soak } from "./_soak_actor.ts";

const [seconds = 60, rate = 5_000, every = 250] = Deno.args.map(Number);
const total = Math.round(seconds * rate);
const seen = new Int32Array(new SharedArrayBuffer(total * 4));
const tried = new Int32Array(new SharedArrayBuffer(total * 4));
const plan = Array.from(
  { length: total },
  (_, id) =>
    id % every === every >> 1 ? FAILURES[Math.floor(id / every) % FAILURES.length] : "ok" as const,
);

const root = supervisor({
  intensity: { maxRestarts: 1_000_000, periodMs: 1_000 },
  backoff: { initialMs: 0, jitter: 0 },
});
await using system = await ActorSystem.start({ name: "soak", root, deadLetterBuffer: total });
const soak = await system.spawn(Soak, {
  args: { seen, tried },
  delivery: "at_least_once",
  maxDeliveries: 3,
  mailbox: { capacity: 100_000 },
});

const rssStart = Deno.memoryUsage().rss;
let rssMax = rssStart;
let rssAt10s = rssStart;
const start = performance.now();
const sampler = setInterval(() => {
  const rss = Deno.memoryUsage().rss;
  rssMax = Math.max(rssMax, rss);
  if (performance.now() - start <= 10_000) rssAt10s = rss;
}, 1_000);
for (let id = 0; id < total; id++) {
  const due = start + (id / rate) * 1_000;
  const wait = due - performance.now();
  if (wait >= 1) await new Promise((resolve) => setTimeout(resolve, wait));
  await soak.send("work", { id, fail: plan[id] });
}
// Drain: an ask in flight when the worker dies is rejected, so ask again until all is settled.
for (;;) {
  try {
    await soak.ask("done", {}, { timeoutMs: 60_000 });
  } catch {
    continue;
  }
  const stats = system.stats().actors[0];
  if (stats.mailboxDepth === 0 && stats.status === "running") break;
}
clearInterval(sampler);

const letters = system.deadLetters();
const dead = new Set(letters.map((letter) => (letter.payload as { id: number }).id));
let handled = 0;
let lost = 0;
let duplicated = 0;
let handledButDead = 0;
for (let id = 0; id < total; id++) {
  const n = Atomics.load(seen, id);
  if (n > 0) handled++;
  if (n > 1) duplicated++;
  if (n > 0 && dead.has(id)) handledButDead++;
  if (n === 0 && !dead.has(id)) lost++;
}
const quarantined = letters.filter((letter) => letter.reason === "quarantined");
const isPoison = (letter: { payload: unknown }) =>
  plan[(letter.payload as { id: number }).id] === "poison";
const mb = (bytes: number) => Math.round(bytes / 2 ** 20);
console.log(JSON.stringify({
  seconds,
  rate,
  sent: total,
  handled,
  lost,
  duplicated,
  quarantined: quarantined.length,
  poison: plan.filter((fail) => fail === "poison").length,
  poisonQuarantined: quarantined.filter(isPoison).length,
  innocentQuarantined: quarantined.filter((letter) => !isPoison(letter)).length,
  handledButDead,
  otherDeadLetters: letters.length - quarantined.length,
  restarts: system.stats().actors[0].restarts,
  rssStartMb: mb(rssStart),
  rssAt10sMb: mb(rssAt10s),
  rssMaxMb: mb(rssMax),
}));
