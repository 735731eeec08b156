import { deepEqual, equal, match, ok, rejects } from "node:assert/strict";
import { ActorSystem, child, type ObservedEvent, supervisor, type SystemSnapshot } from "../mod.ts";
import { EventStream, type SystemEvent } from "../supervisors/events.ts";
import { observe, type ObservedSystem } from "../supervisors/observe.ts";
import { Observed } from "./fixtures/observed.ts";
import { nextEvent, test } from "./_helpers.ts";

const FAST = { initialMs: 1, maxMs: 1, factor: 1, jitter: 0 };

/** A root with one nested supervisor of two local actors. */
function tree() {
  return supervisor({
    children: [
      child(
        "app",
        supervisor({
          strategy: "one_for_all",
          backoff: FAST,
          children: [
            child("a", Observed, { placement: "local" }),
            child("b", Observed, { placement: "local" }),
          ],
        }),
      ),
    ],
  });
}

/** Reads server-sent events from a response, one parsed `data:` payload at a time. */
class EventReader {
  readonly #reader: ReadableStreamDefaultReader<string>;
  #buffer = "";
  /** Every comment line seen so far. */
  readonly comments: string[] = [];

  constructor(response: Response) {
    this.#reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  }

  /** The next event, or `undefined` when the stream ended. */
  async next(): Promise<ObservedEvent | undefined> {
    while (true) {
      const end = this.#buffer.indexOf("\n\n");
      if (end >= 0) {
        const block = this.#buffer.slice(0, end);
        this.#buffer = this.#buffer.slice(end + 2);
        const data = block.split("\n").filter((line) => {
          if (line.startsWith(":")) this.comments.push(line);
          return line.startsWith("data: ");
        });
        if (data.length > 0) return JSON.parse(data.map((line) => line.slice(6)).join("\n"));
        continue;
      }
      const { value, done } = await this.#reader.read();
      if (done) return undefined;
      this.#buffer += value;
    }
  }

  /** The next event of `type`. */
  async expect(type: ObservedEvent["type"]): Promise<ObservedEvent> {
    while (true) {
      const event = await this.next();
      if (event === undefined) throw new Error(`The stream ended before a "${type}" event`);
      if (event.type === type) return event;
    }
  }

  /** Waits until the server has flushed the stream's opening comment. */
  async opened(): Promise<void> {
    while (this.comments.length === 0) {
      const { value, done } = await this.#reader.read();
      if (done) throw new Error("The stream ended before it opened");
      this.#buffer += value;
      const end = this.#buffer.indexOf("\n\n");
      if (end >= 0) {
        for (const line of this.#buffer.slice(0, end).split("\n")) {
          if (line.startsWith(":")) this.comments.push(line);
        }
        this.#buffer = this.#buffer.slice(end + 2);
      }
    }
  }

  cancel(): Promise<void> {
    return this.#reader.cancel();
  }
}

test("/stats answers the tree in start order with each actor's figures", async () => {
  await using system = await ActorSystem.start({ name: "stats", root: tree() });
  const observer = await system.observe();
  system.lookup(Observed, "/app/a").tell("bump", {});
  equal(await system.lookup(Observed, "/app/a").ask("get", {}), 1);

  const response = await fetch(new URL("/stats", observer.url));
  equal(response.status, 200);
  match(response.headers.get("content-type") ?? "", /^application\/json/);
  const snapshot: SystemSnapshot = await response.json();
  ok(Math.abs(snapshot.time - Date.now()) < 5_000);
  deepEqual({ ...snapshot, time: 0 }, {
    name: "stats",
    time: 0,
    deadLetters: 0,
    endpoints: 1,
    abandonedThreads: 0,
    tree: {
      path: "/",
      kind: "supervisor",
      strategy: "one_for_one",
      children: [{
        path: "/app",
        kind: "supervisor",
        strategy: "one_for_all",
        children: ["a", "b"].map((id) => ({
          path: `/app/${id}`,
          kind: "actor",
          name: "observed",
          placement: "local",
          status: "running",
          mailboxDepth: 0,
          processed: id === "a" ? 2 : 0,
          restarts: 0,
          lastError: null,
        })),
      }],
    },
  });
});

test("/events streams a crash as JSON, then the restart, in order", async () => {
  await using system = await ActorSystem.start({ name: "events", root: tree() });
  const observer = await system.observe();
  const response = await fetch(new URL("/events", observer.url));
  equal(response.status, 200);
  equal(response.headers.get("content-type"), "text/event-stream");
  const events = new EventReader(response);
  await events.opened();

  const restarted = nextEvent(system.events, "restarted", (event) => event.path === "/app/b");
  system.lookup(Observed, "/app/b").tell("crash", { message: "watched it fall" });
  await restarted;

  const seen: ObservedEvent[] = [];
  while (seen.filter((event) => event.type === "restarted").length < 2) {
    const event = await events.next();
    ok(event !== undefined, "the stream ended early");
    if (event.type === "crashed" || event.type === "restarted") seen.push(event);
  }
  await events.cancel();
  deepEqual(seen.map(({ type, path }) => `${type} ${path}`), [
    "crashed /app/b",
    "restarted /app/a", // one_for_all: both children come back, left to right
    "restarted /app/b",
  ]);
  const [crashed, first, second] = seen;
  equal(crashed.path, "/app/b");
  deepEqual(crashed.error, { name: "Error", message: "watched it fall" });
  ok(typeof crashed.time === "number" && Math.abs(crashed.time - Date.now()) < 5_000);
  deepEqual({ ...first, time: 0 }, { type: "restarted", path: "/app/a", time: 0, restarts: 1 });
  deepEqual({ ...second, time: 0 }, { type: "restarted", path: "/app/b", time: 0, restarts: 1 });

  const stats: SystemSnapshot = await (await fetch(new URL("/stats", observer.url))).json();
  const app = stats.tree.children[0];
  ok(app.kind === "supervisor");
  const b = app.children[1];
  ok(b.kind === "actor");
  equal(b.restarts, 1);
  equal(b.lastError, "watched it fall");
});

test("/events sends a dead letter's kind and reason", async () => {
  await using system = await ActorSystem.start({ name: "letters", root: tree() });
  const observer = await system.observe();
  const events = new EventReader(await fetch(new URL("/events", observer.url)));
  await events.opened();
  const ref = system.lookup(Observed, "/app/a");
  await ref.stop();
  ref.tell("bump", {});
  const letter = await events.expect("dead_letter");
  equal(letter.path, "/app/a");
  equal(letter.kind, "bump");
  equal(typeof letter.reason, "string");
  await events.cancel();
});

test("the page is served at / and anything else answers 404", async () => {
  await using system = await ActorSystem.start({ name: "routes", root: tree() });
  const observer = await system.observe();
  const page = await fetch(observer.url);
  equal(page.status, 200);
  match(page.headers.get("content-type") ?? "", /^text\/html/);
  const html = await page.text();
  match(html, /new EventSource\("\/events"\)/);
  ok(!/(src|href)=["']?https?:/.test(html), "the page loads nothing from elsewhere");
  for (const path of ["/nope", "/stats/", "/events/x", "/index.html"]) {
    const response = await fetch(new URL(path, observer.url));
    equal(response.status, 404, path);
    await response.body?.cancel();
  }
  const post = await fetch(new URL("/stats", observer.url), { method: "POST" });
  equal(post.status, 405);
  await post.body?.cancel();
});

test("the live view listens on 127.0.0.1 only and refuses foreign Host headers", async () => {
  await using system = await ActorSystem.start({ name: "local", root: tree() });
  const observer = await system.observe({ port: 0 });
  const url = new URL(observer.url);
  equal(url.hostname, "127.0.0.1");
  equal(Number(url.port), observer.port);
  ok(observer.port > 0);
  // fetch() will not forge a Host header: speak HTTP/1.1 by hand, as a rebound DNS name would.
  for (const [host, status] of [[`evil.example:${observer.port}`, 403], [url.host, 200]] as const) {
    using conn = await Deno.connect({ hostname: "127.0.0.1", port: observer.port });
    await conn.write(
      new TextEncoder().encode(`GET /stats HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`),
    );
    let reply = "";
    for await (const chunk of conn.readable.pipeThrough(new TextDecoderStream())) reply += chunk;
    equal(reply.split("\r\n")[0], `HTTP/1.1 ${status} ${status === 200 ? "OK" : "Forbidden"}`);
  }
  const local = await fetch(`http://localhost:${observer.port}/stats`).catch(() => undefined);
  if (local) {
    equal(local.status, 200);
    await local.body?.cancel();
  }
});

test("a busy port rejects with an error that names it", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  await using system = await ActorSystem.start({ name: "busy" });
  await rejects(system.observe({ port }), (error: Error) => {
    equal(error.constructor, Error);
    equal(error.message, `Cannot observe system "busy": port ${port} is in use`);
    return true;
  });
  await rejects(system.observe({ port: 70_000 }), RangeError);
  await rejects(system.observe({ port: 1.5 }), RangeError);
});

test("shutting the system down ends the event streams and closes the server", async () => {
  const system = await ActorSystem.start({ name: "closing", root: tree() });
  const observer = await system.observe();
  const events = new EventReader(await fetch(new URL("/events", observer.url)));
  await events.opened();
  const stats = await fetch(new URL("/stats", observer.url));
  await stats.body?.cancel();

  await system.shutdown();
  // The stream carried the shutdown, then ended.
  equal((await events.expect("shutdown")).path, "/");
  let rest: ObservedEvent | undefined;
  do rest = await events.next(); while (rest !== undefined);
  await rejects(fetch(new URL("/stats", observer.url)), TypeError);
  await observer.close(); // idempotent
  await rejects(system.observe(), /shutting down/);
});

test("close() stops the live view while the system keeps running", async () => {
  await using system = await ActorSystem.start({ name: "alone", root: tree() });
  const observer = await system.observe();
  const events = new EventReader(await fetch(new URL("/events", observer.url)));
  await events.opened();
  await observer.close();
  equal(await events.next(), undefined);
  await rejects(fetch(new URL("/stats", observer.url)), TypeError);
  system.lookup(Observed, "/app/a").tell("bump", {});
  equal(await system.lookup(Observed, "/app/a").ask("get", {}), 1);
  const again = await system.observe();
  const response = await fetch(new URL("/stats", again.url));
  equal((await response.json()).name, "alone");
});

/** An event stream that counts its listeners: the `/events` clients a live view is serving. */
class CountedEvents extends EventStream {
  listeners = 0;
  readonly #subscribed = Promise.withResolvers<void>();
  /** Resolves once a first listener subscribed. */
  readonly subscribed: Promise<void> = this.#subscribed.promise;

  override on(listener: (event: SystemEvent) => void): () => void {
    this.listeners++;
    this.#subscribed.resolve();
    const off = super.on(listener);
    let subscribed = true;
    return () => {
      if (subscribed) this.listeners--;
      subscribed = false;
      off();
    };
  }
}

test("an /events client that never reads gets an overflow event and is disconnected", async () => {
  const events = new CountedEvents();
  const system: ObservedSystem = {
    name: "slow",
    events,
    snapshot: () => {
      throw new Error("Not needed by this test");
    },
  };
  const observer = observe(system);
  const client = await Deno.connect({ hostname: "127.0.0.1", port: observer.port });
  try {
    const request = `GET /events HTTP/1.1\r\nHost: 127.0.0.1:${observer.port}\r\n\r\n`;
    await client.write(new TextEncoder().encode(request));
    await events.subscribed;
    // The client reads nothing. Events of ~1 KB fill the sockets' buffers, then the server's
    // queue for this client, which must stop at 1,000 events and let go of the client.
    const path = `/${"x".repeat(1_000)}`;
    let sent = 0;
    while (events.listeners > 0) {
      ok(sent < 500_000, `the server still buffers for the client after ${sent} events`);
      for (let i = 0; i < 100; i++) events.emit({ type: "stopped", path });
      sent += 100;
      // Lets the server write what the client's socket still accepts.
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    // What the client finds when it reads at last: events, then the overflow, then the end.
    const received = new TextDecoder().decode(await readAll(client));
    const tail = received.slice(received.lastIndexOf("event: overflow"));
    match(tail, /^event: overflow\ndata: \{"limit":1000,"message":"This client left 1000 events /);
    ok(!tail.includes('data: {"type"'), "an event followed the overflow");
    const delivered = received.split('data: {"type"').length - 1;
    ok(delivered < sent, "every event was buffered");
  } finally {
    client.close();
    await observer.close();
  }
});

/** Reads a connection to its end, or until a chunked response has ended. */
async function readAll(conn: Deno.Conn): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  const buffer = new Uint8Array(1 << 16);
  const last = new TextEncoder().encode("\r\n0\r\n\r\n");
  let length = 0;
  while (true) {
    const n = await conn.read(buffer);
    if (n === null) break;
    chunks.push(buffer.slice(0, n));
    length += n;
    const end = chunks.at(-1)!;
    if (
      end.length >= last.length && last.every((b, i) => end[end.length - last.length + i] === b)
    ) {
      break;
    }
  }
  const all = new Uint8Array(length);
  let at = 0;
  for (const chunk of chunks) {
    all.set(chunk, at);
    at += chunk.length;
  }
  return all;
}
