/**
 * The live view: a small HTTP server, on 127.0.0.1 only, that shows a running system.
 *
 * ```
 *   browser / troupe top                       actor system
 *   GET /        one HTML page  ───────────┐
 *   GET /stats   JSON snapshot  ◄──────────┼── snapshot() of the supervision tree
 *   GET /events  server-sent events ◄──────┴── system.events, one `data:` line each
 * ```
 *
 * Each `/events` client may leave at most 1,000 events unread; past that it gets one
 * `event: overflow` and its stream ends (a browser's `EventSource` reconnects).
 *
 * @module
 */

import type { ActorStatus, Placement } from "../actors/actor.ts";
import type { SystemEvent, SystemEvents } from "./events.ts";
import type { Strategy } from "./spec.ts";

/** How often an idle event stream sends a comment, so proxies and browsers keep it open. */
const HEARTBEAT_MS = 15_000;

/**
 * How many events an `/events` client may leave unread. A client that falls this far behind gets an
 * `overflow` event and is disconnected, so a client that never reads cannot grow the host's memory.
 */
const EVENT_BUFFER_LIMIT = 1_000;

/** Options of `ActorSystem.observe`. */
export interface ObserveOptions {
  /**
   * The TCP port to listen on, on 127.0.0.1; `0` picks a free one.
   *
   * @default {0}
   */
  port?: number;
}

/** A running live view; closing the system closes it too. */
export interface Observer {
  /** Where the page is served, such as `http://127.0.0.1:43117/`. */
  readonly url: string;
  /** The port it listens on. */
  readonly port: number;
  /** Ends the event streams and stops the server. Idempotent. */
  close(): Promise<void>;
}

/** A supervisor in a {@linkcode SystemSnapshot}. */
export interface SupervisorSnapshot {
  /** The supervisor's path (`"/"` for the root). */
  readonly path: string;
  /** The node's kind. */
  readonly kind: "supervisor";
  /** Its restart strategy. */
  readonly strategy: Strategy;
  /** Its children, in start order. */
  readonly children: readonly TreeNode[];
}

/** An actor in a {@linkcode SystemSnapshot}. */
export interface ActorSnapshot {
  /** The actor's path. */
  readonly path: string;
  /** The node's kind. */
  readonly kind: "actor";
  /** Its definition's name. */
  readonly name: string;
  /** Where it runs. */
  readonly placement: Placement;
  /** Its lifecycle state. */
  readonly status: ActorStatus;
  /** Messages waiting in its mailbox plus those delivered and not yet acknowledged. */
  readonly mailboxDepth: number;
  /** Messages handled since it was spawned (across restarts). */
  readonly processed: number;
  /** How many times it was restarted. */
  readonly restarts: number;
  /** The message of its last crash, or `null`. */
  readonly lastError: string | null;
  /** The children it spawned with `ctx.spawn`, in start order; absent when it has none. */
  readonly children?: readonly TreeNode[];
}

/** One node of the supervision tree in a {@linkcode SystemSnapshot}. */
export type TreeNode = SupervisorSnapshot | ActorSnapshot;

/** What `GET /stats` answers: the system's figures and its tree. */
export interface SystemSnapshot {
  /** The system's name. */
  readonly name: string;
  /** When the snapshot was taken, in milliseconds since the Unix epoch. */
  readonly time: number;
  /** Dead letters since the system started. */
  readonly deadLetters: number;
  /** Live guests carrying actors. */
  readonly endpoints: number;
  /** Worker threads given up as hung. */
  readonly abandonedThreads: number;
  /** The supervision tree, from the root supervisor (path `"/"`). */
  readonly tree: SupervisorSnapshot;
}

/** One system event as `GET /events` sends it, JSON in a `data:` line. */
export interface ObservedEvent {
  /** The event's kind. */
  readonly type: SystemEvent["type"];
  /** The actor's or supervisor's path. */
  readonly path: string;
  /** When it was sent, in milliseconds since the Unix epoch. */
  readonly time: number;
  /** The error behind a crash, escalation, hang, failed shutdown or dead letter. */
  readonly error?: { readonly name: string; readonly message: string };
  /** For `"restarted"`: how many times the actor has been restarted. */
  readonly restarts?: number;
  /** For `"started"`: where the actor runs. */
  readonly placement?: Placement;
  /** For `"dead_letter"`: why the message was not handled. */
  readonly reason?: string;
  /** For `"dead_letter"`: the message kind. */
  readonly kind?: string;
}

/** What the server needs from the system it shows. */
export interface ObservedSystem {
  /** The system's name. */
  readonly name: string;
  /** Its lifecycle events. */
  readonly events: SystemEvents;
  /** Takes a snapshot of its figures and tree. */
  snapshot(): SystemSnapshot;
  /** Called once when the observer has closed. */
  onClose?(observer: Observer): void;
}

/** Turns a system event into plain JSON-able data; `Error` objects do not serialize. */
export function serializeEvent(event: SystemEvent, time: number = Date.now()): ObservedEvent {
  const base = { type: event.type, path: event.path, time };
  switch (event.type) {
    case "started":
      return { ...base, placement: event.placement };
    case "restarted":
      return { ...base, restarts: event.restarts };
    case "crashed":
    case "escalated":
    case "hung":
    case "shutdown":
      return event.error === undefined ? base : { ...base, error: serializeError(event.error) };
    case "dead_letter": {
      const { reason, kind, error } = event.letter;
      return error === undefined
        ? { ...base, reason, kind }
        : { ...base, reason, kind, error: serializeError(error) };
    }
    case "stopped":
      return base;
  }
}

function serializeError(error: unknown): { name: string; message: string } {
  if (error instanceof Error) return { name: error.name, message: error.message };
  return { name: "Error", message: String(error) };
}

/**
 * Serves the live view of `system` on 127.0.0.1.
 *
 * @param system The system's name, events and snapshot.
 * @param options The port.
 * @returns The running observer.
 * @throws {RangeError} When the port is not an integer from 0 to 65535.
 * @throws {Error} When the port is in use.
 */
export function observe(system: ObservedSystem, options: ObserveOptions = {}): Observer {
  const where = `Cannot observe system "${system.name}"`;
  const port = options?.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new RangeError(`${where}: port must be an integer from 0 to 65535, received ${port}`);
  }
  const streams = new Set<() => void>();
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve({
      hostname: "127.0.0.1",
      port,
      onListen() {},
      handler: (request, info) => handle(request, info.completed),
    });
  } catch (error) {
    if (error instanceof Deno.errors.AddrInUse) {
      throw new Error(`${where}: port ${port} is in use`, { cause: error });
    }
    throw new Error(`${where}: cannot listen on 127.0.0.1:${port}`, { cause: error });
  }
  const actualPort = server.addr.port;
  const hosts = new Set([`127.0.0.1:${actualPort}`, `localhost:${actualPort}`]);

  function handle(request: Request, completed: Promise<void>): Response {
    const url = new URL(request.url);
    // A page on another site may not read the system through DNS rebinding.
    if (!hosts.has(request.headers.get("host") ?? "")) {
      return new Response("Forbidden host\n", { status: 403 });
    }
    const route = ROUTES[url.pathname as keyof typeof ROUTES];
    if (route === undefined) return new Response("Not found\n", { status: 404 });
    if (request.method !== "GET" && request.method !== "HEAD") {
      return new Response("Method not allowed\n", { status: 405, headers: { allow: "GET" } });
    }
    switch (route) {
      case "page":
        return new Response(PAGE, {
          headers: {
            "content-type": "text/html; charset=utf-8",
            "cache-control": "no-store",
            "content-security-policy":
              "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'",
          },
        });
      case "stats":
        return Response.json(system.snapshot(), { headers: { "cache-control": "no-store" } });
      case "events":
        return eventStream(completed);
    }
  }

  /**
   * A stream of events that ends when the client goes away (`completed` settles; Deno's legacy
   * `request.signal` would abort on every successful response too), or when the observer closes.
   */
  function eventStream(completed: Promise<void>): Response {
    const encoder = new TextEncoder();
    let cleanup: () => void = () => {};
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        let done = false;
        const send = (text: string) => {
          if (done) return;
          try {
            controller.enqueue(encoder.encode(text));
          } catch {
            cleanup();
          }
        };
        const off = system.events.on((event) => {
          if (done) return;
          // The queue counts chunks the server has not written to the client yet.
          if ((controller.desiredSize ?? 0) <= 0) {
            send(`event: overflow\ndata: ${JSON.stringify(OVERFLOW)}\n\n`);
            cleanup();
            return;
          }
          send(`data: ${JSON.stringify(serializeEvent(event))}\n\n`);
        });
        const heartbeat = setInterval(() => send(": heartbeat\n\n"), HEARTBEAT_MS);
        cleanup = () => {
          if (done) return;
          done = true;
          off();
          clearInterval(heartbeat);
          streams.delete(cleanup);
          try {
            controller.close();
          } catch {
            // Already closed or errored by the client going away.
          }
        };
        streams.add(cleanup);
        completed.then(cleanup, cleanup);
        // Flushes the headers, and tells a browser to reconnect quickly.
        send("retry: 1000\n: connected\n\n");
      },
      cancel() {
        cleanup();
      },
    }, new CountQueuingStrategy({ highWaterMark: EVENT_BUFFER_LIMIT }));
    return new Response(body, {
      headers: {
        "content-type": "text/event-stream",
        "cache-control": "no-store",
        "x-accel-buffering": "no",
      },
    });
  }

  let closing: Promise<void> | undefined;
  const observer: Observer = {
    url: `http://127.0.0.1:${actualPort}/`,
    port: actualPort,
    close() {
      closing ??= (async () => {
        for (const end of [...streams]) end();
        await server.shutdown();
        system.onClose?.(observer);
      })();
      return closing;
    },
  };
  return observer;
}

const ROUTES = { "/": "page", "/stats": "stats", "/events": "events" } as const;

/** The data of the `overflow` event that ends the stream of a client that read too slowly. */
const OVERFLOW = {
  limit: EVENT_BUFFER_LIMIT,
  message: `This client left ${EVENT_BUFFER_LIMIT} events unread and is disconnected; ` +
    "reconnect to follow the events again",
};

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Troupe live view</title>
<style>
  :root { font: 14px/1.4 system-ui, sans-serif; color: #1d2430; background: #f4f6f9; }
  body { margin: 0; padding: 16px 20px; }
  header { display: flex; gap: 16px; align-items: baseline; flex-wrap: wrap; margin-bottom: 12px; }
  h1 { font-size: 18px; margin: 0; }
  .figure { color: #5a6473; }
  .figure b { color: #1d2430; }
  #live { font-size: 12px; padding: 1px 8px; border-radius: 9px; background: #ccd; }
  body[data-live="open"] #live { background: #bfe5c6; }
  .sup { border: 1px solid #aab4c3; border-radius: 8px; padding: 6px 8px 8px; margin: 6px 0;
    background: #fff; }
  .sup > .head { font-weight: 600; margin-bottom: 4px; }
  .sup > .head .strategy { font-weight: 400; color: #5a6473; margin-left: 8px; font-size: 12px; }
  .kids { display: flex; flex-wrap: wrap; gap: 8px; align-items: flex-start; padding-left: 12px;
    border-left: 2px solid #dde3ec; }
  .kids > .sup { flex-basis: 100%; }
  .actor { border: 2px solid #4c9a5a; border-radius: 6px; padding: 6px 10px; min-width: 170px;
    background: #f1faf2; transition: background 0.3s, border-color 0.3s; }
  .actor .name { font-weight: 600; }
  .actor .path { font-size: 11px; color: #5a6473; font-family: ui-monospace, monospace; }
  .actor dl { display: grid; grid-template-columns: auto auto; gap: 0 10px; margin: 4px 0 0;
    font-size: 12px; }
  .actor dt { color: #5a6473; }
  .actor dd { margin: 0; text-align: right; font-variant-numeric: tabular-nums; }
  .actor .error { margin-top: 4px; font-size: 12px; color: #a0191c; max-width: 260px;
    overflow-wrap: anywhere; }
  .actor[data-status="starting"], .actor[data-status="stopping"] { border-color: #c9a227;
    background: #fdf8e6; }
  .actor[data-status="stopped"], .actor[data-status="down"] { border-color: #999;
    background: #eee; }
  .actor.restarted { border-color: #c9a227; background: #fff6d9; }
  .actor.crashed, .actor[data-status="crashed"] { border-color: #d62828; background: #fde4e4; }
  .actor .badge { font-size: 11px; padding: 0 6px; border-radius: 8px; margin-left: 6px;
    color: #fff; background: #4c9a5a; }
  .actor.crashed .badge { background: #d62828; }
  .actor.restarted .badge { background: #c9a227; }
  #log { margin-top: 14px; font: 12px/1.5 ui-monospace, monospace; color: #3b4452; }
  #log div.crashed, #log div.escalated { color: #a0191c; }
</style>
</head>
<body>
<header>
  <h1 id="name">Troupe</h1>
  <span class="figure">dead letters <b id="deadLetters">0</b></span>
  <span class="figure">endpoints <b id="endpoints">0</b></span>
  <span class="figure">abandoned threads <b id="abandonedThreads">0</b></span>
  <span id="live">connecting</span>
</header>
<main id="tree"></main>
<section id="log"></section>
<script>
"use strict";
const HIGHLIGHT_MS = 5000;
const marks = new Map();
let last = null;

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
  for (const child of children) node.append(child);
  return node;
}

function drawActor(actor) {
  const mark = marks.get(actor.path);
  const now = Date.now();
  const crashed = mark && mark.state === "crashed";
  const recent = mark && now - mark.at < HIGHLIGHT_MS;
  const status = crashed ? "crashed" : actor.status;
  const box = el("div", { class: "actor", "data-path": actor.path, "data-status": status });
  if (crashed || (recent && mark.crashedAt && now - mark.crashedAt < HIGHLIGHT_MS)) {
    box.classList.add("crashed");
  }
  if (mark && mark.state === "restarted" && recent) box.classList.add("restarted");
  const badge = crashed ? "crashed" : mark && mark.state === "restarted" && recent
    ? "recovered"
    : status;
  box.append(
    el("div", {}, el("span", { class: "name" }, actor.path.split("/").pop()),
      el("span", { class: "badge" }, badge)),
    el("div", { class: "path" }, actor.name + " \u00b7 " + actor.path),
  );
  const figures = el("dl");
  for (const [label, value] of [
    ["placement", actor.placement],
    ["mailbox", actor.mailboxDepth],
    ["processed", actor.processed],
    ["restarts", Math.max(actor.restarts, (mark && mark.restarts) || 0)],
  ]) {
    figures.append(el("dt", {}, label), el("dd", {}, String(value)));
  }
  box.append(figures);
  const error = (mark && mark.error) || actor.lastError;
  if (error) box.append(el("div", { class: "error" }, error));
  if (actor.children && actor.children.length > 0) {
    const kids = el("div", { class: "kids" });
    for (const child of actor.children) {
      kids.append(child.kind === "supervisor" ? drawSupervisor(child) : drawActor(child));
    }
    box.append(kids);
  }
  return box;
}

function drawSupervisor(node) {
  const box = el("div", { class: "sup", "data-path": node.path, "data-kind": "supervisor" });
  box.append(el("div", { class: "head" }, node.path,
    el("span", { class: "strategy" }, node.strategy)));
  const kids = el("div", { class: "kids" });
  for (const child of node.children) {
    kids.append(child.kind === "supervisor" ? drawSupervisor(child) : drawActor(child));
  }
  box.append(kids);
  return box;
}

function render() {
  if (last === null) return;
  document.title = "Troupe: " + last.name;
  document.getElementById("name").textContent = last.name;
  for (const key of ["deadLetters", "endpoints", "abandonedThreads"]) {
    document.getElementById(key).textContent = String(last[key]);
  }
  document.getElementById("tree").replaceChildren(drawSupervisor(last.tree));
}

let fetching = false;
async function refresh() {
  if (fetching) return;
  fetching = true;
  try {
    const response = await fetch("/stats", { cache: "no-store" });
    if (response.ok) {
      last = await response.json();
      render();
    }
  } catch {
    document.getElementById("live").textContent = "offline";
  } finally {
    fetching = false;
  }
}

function log(event) {
  const line = el("div", { class: event.type });
  const time = new Date(event.time).toLocaleTimeString();
  let text = time + " " + event.type + " " + event.path;
  if (event.error) text += ": " + event.error.name + ": " + event.error.message;
  if (event.restarts !== undefined) text += " (restart " + event.restarts + ")";
  if (event.reason) text += " (" + event.kind + ", " + event.reason + ")";
  line.textContent = text;
  const box = document.getElementById("log");
  box.prepend(line);
  while (box.childElementCount > 50) box.lastElementChild.remove();
}

function onEvent(event) {
  log(event);
  const mark = marks.get(event.path) || {};
  switch (event.type) {
    case "crashed":
      marks.set(event.path, {
        ...mark, state: "crashed", at: Date.now(), crashedAt: Date.now(),
        error: event.error ? event.error.name + ": " + event.error.message : "crashed",
      });
      break;
    case "restarted":
      marks.set(event.path, { ...mark, state: "restarted", at: Date.now(),
        restarts: event.restarts });
      break;
    case "started":
    case "stopped":
      marks.delete(event.path);
      break;
  }
  render();
  if (event.type !== "dead_letter") refresh();
}

const source = new EventSource("/events");
source.onopen = () => {
  document.body.dataset.live = "open";
  document.getElementById("live").textContent = "live";
};
source.onerror = () => {
  document.body.dataset.live = "closed";
  document.getElementById("live").textContent = "reconnecting";
};
source.onmessage = (message) => onEvent(JSON.parse(message.data));
source.addEventListener("overflow", () => {
  log({ type: "overflow", path: "/", time: Date.now() });
  refresh();
});

refresh();
setInterval(refresh, 1000);
</script>
</body>
</html>
`;
