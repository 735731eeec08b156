/**
 * Mailbox throughput, 10,000 messages per iteration.
 *
 * - `sync burst`: queue 10,000 messages, then take them all.
 * - `sync steady`: keep 100 messages queued and move 10,000 through.
 * - `async round-trip`: `put` and `take` through promises, one at a time and as a producer and a
 *   consumer running side by side through a small backpressured mailbox.
 *
 * Run with `deno bench -A bench/mailbox_bench.ts`.
 *
 * @module
 */

import { Mailbox } from "../mailbox/mailbox.ts";

const N = 10_000;
const STEADY_DEPTH = 100;

let sink = 0;

Deno.bench({
  name: "array push + shift",
  group: "sync burst",
  baseline: true,
  fn() {
    const queue: number[] = [];
    for (let i = 0; i < N; i++) queue.push(i);
    for (let i = 0; i < N; i++) sink += queue.shift()!;
  },
});

Deno.bench({
  name: "Mailbox offer + tryTake",
  group: "sync burst",
  fn() {
    const mailbox = new Mailbox<number>({ capacity: N });
    for (let i = 0; i < N; i++) mailbox.offer(i);
    for (let i = 0; i < N; i++) sink += mailbox.tryTake()!;
  },
});

Deno.bench({
  name: "Mailbox offer + drain",
  group: "sync burst",
  fn() {
    const mailbox = new Mailbox<number>({ capacity: N });
    for (let i = 0; i < N; i++) mailbox.offer(i);
    sink += mailbox.drain().length;
  },
});

Deno.bench({
  name: "Mailbox pushSystem + tryTake",
  group: "sync burst",
  fn() {
    const mailbox = new Mailbox<number>({ capacity: N });
    for (let i = 0; i < N; i++) mailbox.pushSystem(i);
    for (let i = 0; i < N; i++) sink += mailbox.tryTake()!;
  },
});

Deno.bench({
  name: "array push + shift",
  group: "sync steady",
  baseline: true,
  fn() {
    const queue: number[] = [];
    for (let i = 0; i < STEADY_DEPTH; i++) queue.push(i);
    for (let i = 0; i < N; i++) {
      queue.push(i);
      sink += queue.shift()!;
    }
  },
});

Deno.bench({
  name: "Mailbox offer + tryTake",
  group: "sync steady",
  fn() {
    const mailbox = new Mailbox<number>({ capacity: STEADY_DEPTH + 1 });
    for (let i = 0; i < STEADY_DEPTH; i++) mailbox.offer(i);
    for (let i = 0; i < N; i++) {
      mailbox.offer(i);
      sink += mailbox.tryTake()!;
    }
  },
});

Deno.bench({
  name: "Mailbox offer + tryTake, drop_oldest when full",
  group: "sync steady",
  fn() {
    const mailbox = new Mailbox<number>({ capacity: STEADY_DEPTH, overflow: "drop_oldest" });
    for (let i = 0; i < STEADY_DEPTH; i++) mailbox.offer(i);
    for (let i = 0; i < N; i++) {
      mailbox.offer(i);
      mailbox.offer(i);
      sink += mailbox.tryTake()!;
    }
  },
});

Deno.bench({
  name: "await two resolved promises (floor)",
  group: "async round-trip",
  baseline: true,
  async fn() {
    for (let i = 0; i < N; i++) {
      await Promise.resolve(i);
      sink += await Promise.resolve(i);
    }
  },
});

Deno.bench({
  name: "Mailbox await put, await take",
  group: "async round-trip",
  async fn() {
    const mailbox = new Mailbox<number>({ capacity: 16 });
    for (let i = 0; i < N; i++) {
      await mailbox.put(i);
      sink += await mailbox.take();
    }
  },
});

Deno.bench({
  name: "Mailbox take waits, offer hands over",
  group: "async round-trip",
  async fn() {
    const mailbox = new Mailbox<number>({ capacity: 16 });
    for (let i = 0; i < N; i++) {
      const taken = mailbox.take();
      mailbox.offer(i);
      sink += await taken;
    }
  },
});

Deno.bench({
  name: "Mailbox producer and consumer, capacity 16, backpressure",
  group: "async round-trip",
  async fn() {
    const mailbox = new Mailbox<number>({ capacity: 16 });
    const producer = (async () => {
      for (let i = 0; i < N; i++) await mailbox.put(i);
    })();
    for (let i = 0; i < N; i++) sink += await mailbox.take();
    await producer;
  },
});

Deno.bench({
  name: "Mailbox producer and consumer with abort signals",
  group: "async round-trip",
  async fn() {
    const mailbox = new Mailbox<number>({ capacity: 16 });
    const signal = new AbortController().signal;
    const producer = (async () => {
      for (let i = 0; i < N; i++) await mailbox.put(i, { signal });
    })();
    for (let i = 0; i < N; i++) sink += await mailbox.take({ signal });
    await producer;
  },
});

globalThis.addEventListener("unload", () => {
  // Keeps the results observable so that no loop is optimised away.
  if (sink === -1) throw new Error("unreachable");
});
