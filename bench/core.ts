/**
 * Core benchmark: one-way tell throughput and ask round trip of a worker actor, against a bare
 * worker that counts raw `postMessage`s; and the same between two worker actors (one holds a ref
 * to the other), against two bare workers joined by a `MessageChannel`. Measured in the same
 * process; prints ratios.
 *
 *   deno run -A bench/core.ts [--json]
 */
import { ActorSystem } from "../mod.ts";
import { Driver, Sink } from "./_actors.ts";

const TELLS = 1_000_000;
const RAW = 200_000;
const ASKS = 5_000;
const ROUNDS = 3;
const PEER_ASKS = 5_000;
const PEER_TELLS = 200_000;

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

/** What one side of an actor-to-actor run measured: latencies in us, the whole run in ms. */
interface PeerRun {
  p50: number;
  p99: number;
  ms: number;
}

/** Two bare workers that share a `MessageChannel`; the first drives the second. */
async function rawPeers(): Promise<Worker[]> {
  const url = new URL("./_raw_peer.ts", import.meta.url);
  const workers = [0, 1].map(() => new Worker(url, { type: "module" }));
  const { port1, port2 } = new MessageChannel();
  const ready = workers.map(next);
  workers[0].postMessage({ t: "port", port: port1 }, [port1]);
  workers[1].postMessage({ t: "port", port: port2 }, [port2]);
  await Promise.all(ready);
  return workers;
}

function rawPeerRun(peers: Worker[], t: "asks" | "tells" | "relay", n: number): Promise<PeerRun> {
  const [driver, other] = peers;
  const { promise, resolve } = Promise.withResolvers<PeerRun>();
  // For `relay`, the host passes each round trip on, as it does a Troupe ask between actors.
  other.onmessage = (event) => driver.postMessage(event.data);
  driver.onmessage = (event) => {
    if (event.data.t === "via") other.postMessage({ t: "relayed", n: event.data.n });
    else resolve(event.data);
  };
  driver.postMessage({ t, n });
  return promise;
}

/** A `Driver` worker actor holding a ref to a `Sink` worker actor. */
async function actorPeers(system: ActorSystem) {
  const id = crypto.randomUUID().slice(0, 8);
  const peer = await system.spawn(Sink, { name: `peer-${id}`, mailbox: { capacity: Infinity } });
  const driver = await system.spawn(Driver, { name: `driver-${id}`, args: { peer } });
  return { driver, peer };
}

const json = Deno.args.includes("--json");
const worker = rawWorker();
await using system = await ActorSystem.start({ name: "bench-core" });

// Warm up both sides (JIT, module loading).
await rawOneWay(worker, 20_000);
await tellThroughput(system, 50_000);
await roundTrips(system, worker, 500);
const peers = await rawPeers();
const actors = await actorPeers(system);
await rawPeerRun(peers, "asks", 500);
await rawPeerRun(peers, "tells", 20_000);
await rawPeerRun(peers, "relay", 500);
await actors.driver.ask("asks", { n: 500 });
await actors.driver.ask("tells", { n: 20_000 }, { timeoutMs: 120_000 });

const results = {
  rawTell: 0,
  tell: 0,
  rawAskP50: Infinity,
  askP50: Infinity,
  askP99: Infinity,
  rawAskP99: Infinity,
  peerAskP50: Infinity,
  peerAskP99: Infinity,
  rawPeerAskP50: Infinity,
  rawPeerAskP99: Infinity,
  relayAskP50: Infinity,
  peerAsks: 0,
  rawPeerAsks: 0,
  peerTell: 0,
  rawPeerTell: 0,
};
for (let round = 0; round < ROUNDS; round++) {
  results.rawTell = Math.max(results.rawTell, await rawOneWay(worker, RAW));
  results.tell = Math.max(results.tell, await tellThroughput(system, TELLS));
  const { raw, ours } = await roundTrips(system, worker, ASKS);
  results.rawAskP50 = Math.min(results.rawAskP50, percentile(raw, 0.5));
  results.rawAskP99 = Math.min(results.rawAskP99, percentile(raw, 0.99));
  results.askP50 = Math.min(results.askP50, percentile(ours, 0.5));
  results.askP99 = Math.min(results.askP99, percentile(ours, 0.99));

  const rawAsks = await rawPeerRun(peers, "asks", PEER_ASKS);
  const relay = await rawPeerRun(peers, "relay", PEER_ASKS);
  const asks = await actors.driver.ask("asks", { n: PEER_ASKS }, { timeoutMs: 120_000 });
  results.relayAskP50 = Math.min(results.relayAskP50, relay.p50);
  results.rawPeerAskP50 = Math.min(results.rawPeerAskP50, rawAsks.p50);
  results.rawPeerAskP99 = Math.min(results.rawPeerAskP99, rawAsks.p99);
  results.peerAskP50 = Math.min(results.peerAskP50, asks.p50);
  results.peerAskP99 = Math.min(results.peerAskP99, asks.p99);
  results.rawPeerAsks = Math.max(results.rawPeerAsks, PEER_ASKS / (rawAsks.ms / 1000));
  results.peerAsks = Math.max(results.peerAsks, PEER_ASKS / (asks.ms / 1000));
  const rawTells = await rawPeerRun(peers, "tells", PEER_TELLS);
  const tells = await actors.driver.ask("tells", { n: PEER_TELLS }, { timeoutMs: 120_000 });
  results.rawPeerTell = Math.max(results.rawPeerTell, PEER_TELLS / (rawTells.ms / 1000));
  results.peerTell = Math.max(results.peerTell, PEER_TELLS / (tells.ms / 1000));
}
worker.terminate();
for (const peer of peers) peer.terminate();
await actors.driver.stop();
await actors.peer.stop();

const tellRatio = results.tell / results.rawTell;
const askRatio = results.askP50 / results.rawAskP50;
const peerTellRatio = results.peerTell / results.rawPeerTell;
const peerAskRatio = results.peerAskP50 / results.rawPeerAskP50;
if (json) {
  console.log(JSON.stringify({ ...results, tellRatio, askRatio, peerTellRatio, peerAskRatio }));
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
  console.log(
    `tell, worker actor to worker actor  ${k(results.peerTell)}   raw MessageChannel ${
      k(results.rawPeerTell)
    }`,
  );
  console.log(`  ratio ${peerTellRatio.toFixed(2)}x   (target >= 5x)`);
  console.log(
    `ask, worker actor to worker actor, p50  ${results.peerAskP50.toFixed(1)} us   raw ${
      results.rawPeerAskP50.toFixed(1)
    } us   (p99 ${results.peerAskP99.toFixed(1)} / ${results.rawPeerAskP99.toFixed(1)} us; ${
      k(results.peerAsks)
    } / ${k(results.rawPeerAsks)} round trips)`,
  );
  console.log(
    `  ratio ${peerAskRatio.toFixed(2)}x   (target <= 2.5x; bare workers relayed by the host: ${
      results.relayAskP50.toFixed(1)
    } us, ${(results.relayAskP50 / results.rawPeerAskP50).toFixed(2)}x)`,
  );
}
